"""Normalising and validating candidate values: URL trailing punctuation, case, IPv6 and CIDR forms,
Bitcoin checksums, the one private/reserved-address check, and the path and registry-key grammars that
take over from ioc-finder's (which truncate ``ms-settings``, ``/etc/cron.d/x.sh`` or run on into prose)."""

from __future__ import annotations

import hashlib
import ipaddress
import re

from ttpmap.models import IocType

HASH_TYPES = frozenset(
    {IocType.MD5, IocType.SHA1, IocType.SHA256, IocType.SHA512, IocType.IMPHASH, IocType.AUTHENTIHASH}
)
IP_TYPES = frozenset(
    {IocType.IPV4, IocType.IPV4_CIDR, IocType.IPV6, IocType.IPV6_CIDR, IocType.SOCKET_ADDRESS}
)

_URL_TRAILING = ".,;:!?'\"`*_"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
_UA_SHAPE = re.compile(r"Mozilla/[\w.]+(?:\s+(?:\([^()]*\)|[\w.+!-]+/[\w.+!-]*[\w+!-]))*")


def strip_url(url: str) -> str:
    """A URL without the prose punctuation and unbalanced closing brackets that follow it."""
    while url:
        last = url[-1]
        unbalanced = last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last])
        if last in _URL_TRAILING or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def normalise(ioc_type: IocType, value: str) -> str | None:
    """The canonical form of a candidate value, or None when it is not a valid one."""
    value = value.strip()
    if ioc_type == IocType.URL:
        value = strip_url(value)
        return value if "." in value or "[" in value else None
    if ioc_type in (IocType.DOMAIN, IocType.EMAIL, IocType.XMPP_ADDRESS):
        return value.rstrip(".").lower() or None
    if ioc_type in HASH_TYPES or ioc_type == IocType.MAC_ADDRESS:
        return value.lower()
    if ioc_type == IocType.IPV6:
        try:
            return ipaddress.IPv6Address(value).compressed
        except ValueError:
            return None
    if ioc_type in (IocType.IPV4_CIDR, IocType.IPV6_CIDR):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None
        return value.lower()
    if ioc_type == IocType.USER_AGENT:
        m = _UA_SHAPE.match(value)
        return m.group() if m else None
    if ioc_type == IocType.BITCOIN_ADDRESS:
        return value if valid_bitcoin(value) else None
    return value


def is_private(value: str) -> bool:
    """True when an IP address, network or ``host:port`` is not globally routable (RFC 1918, loopback,
    link-local, CGNAT, documentation and other reserved ranges); False for anything else."""
    text = value.strip()
    if text.count(":") == 1 or text.startswith("["):  # host:port or [v6]:port
        text = text.rsplit(":", 1)[0].strip("[]") if not text.endswith("]") else text.strip("[]")
    try:
        return not ipaddress.ip_network(text, strict=False).is_global
    except ValueError:
        return False


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def valid_bitcoin(addr: str) -> bool:
    """Base58Check (P2PKH/P2SH) or Bech32/Bech32m checksum; rejects random base58-looking strings."""
    if addr[:3].lower() == "bc1":
        return _valid_bech32(addr)
    n = 0
    for ch in addr:
        k = _B58.find(ch)
        if k < 0:
            return False
        n = n * 58 + k
    try:
        raw = n.to_bytes(25, "big")
    except OverflowError:
        return False
    check = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4]
    return check == raw[-4:] and raw[0] in (0, 5)


def _valid_bech32(addr: str) -> bool:
    if addr != addr.lower() and addr != addr.upper():
        return False
    addr = addr.lower()
    pos = addr.rfind("1")
    data = [_BECH32.find(c) for c in addr[pos + 1 :]]
    if pos < 1 or len(data) < 6 or -1 in data:
        return False
    hrp = addr[:pos]
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + data
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= gen[i]
    return chk in (1, 0x2BC830A3)


# A segment may hold spaces only between dotless words and before a Capitalised word ("Program Files
# (x86)", "Windows NT", "Image File Execution Options"), so "rundll32.exe D:\\x", "x.dll. Then" and
# "WDigest UseLogonCredential" (a value name after the key) end where they should.
_W = r"[\w$~#@+={}%-]+"
_MORE = r" (?:\(x86\)|(?:[A-Z][a-z]+|[A-Z]{2,3}|\d+)(?![\w$~#@+={}%-]))"
_SEG = rf"{_W}(?:{_MORE})*(?:\.{_W})*"
_REG_ROOT = (
    r"HKEY_(?:LOCAL_MACHINE|CURRENT_USER|CLASSES_ROOT|USERS|CURRENT_CONFIG|PERFORMANCE_DATA|DYN_DATA)"
    r"|HKLM|HKCU|HKCR|HKU|HKCC"
)
REGISTRY_RE = re.compile(rf"(?<![\w\\])(?:{_REG_ROOT})(?:\\{_SEG})+")
WINDOWS_PATH_RE = re.compile(
    rf"(?<![\w\\%])(?:(?:[A-Za-z]:|\\\\[\w.$-]+)(?:\\{_SEG})+|%[A-Za-z_][\w()]*%\\?{_SEG}(?:\\{_SEG})*)\\?"
)
_UNIX_ROOTS = (
    "etc|tmp|var|usr|bin|sbin|opt|home|root|dev|proc|lib|lib32|lib64|boot|srv|mnt|media|run|sys|snap"
    "|Library|Users|Applications|System|private|Volumes"
)
UNIX_PATH_RE = re.compile(rf"(?<![\w/.:~\\-])(?:~|/(?:{_UNIX_ROOTS}))(?:/[\w.+@%~=,-]+)+/?")
_PATH_JUNK = re.compile(r"[\"'<>|*?\s]")


def trim_path(value: str) -> str:
    """A path without trailing sentence punctuation and separators."""
    return value.rstrip(".,;:").rstrip("\\/") if len(value) > 3 else value


def keep_file_path(value: str) -> bool:
    """Whether a path ioc-finder reported is a real path and not a command line or prose."""
    if value.startswith(("/", "~")):
        segments = [s for s in value.split("/") if s]
        return not _PATH_JUNK.search(value) and ":" not in value and (value[0] == "~" or len(segments) >= 2)
    if '"' in value or "'" in value or "<" in value or "|" in value:
        return False
    return bool(WINDOWS_PATH_RE.fullmatch(value))
