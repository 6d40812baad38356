"""Indicators of compromise: ioc-finder parses and refangs; this module fixes boundaries, drops what
ioc-finder over-reports (file names as domains, prose swallowed into paths), and adds display forms,
counts and a stable order.

Policy decisions, so that consumers can rely on them:

- Domains of URLs and e-mail addresses are also reported as ``domain`` indicators (analysts block
  and hunt on both); their ``count`` includes the mentions inside URLs and addresses.
- Private and reserved IP addresses are kept and marked ``private: true`` (internal hosts matter to
  the victim's responders); ``private`` means "not globally routable".
- Version-number-like IPv4 addresses are whatever ioc-finder decides.
- Every indicator carries ``count``; the list is ordered by type (``IOC_TYPES``), then by first
  occurrence in the text.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ioc_finder import find_iocs as _ioc_finder
from ioc_finder import prepare_text as _fang

from ttpmap.models import Indicator

# ioc-finder key -> our type name. ATT&CK IDs (handled by attack_ids.py) and TLP labels (a document
# marking, not an indicator) are left out.
_TYPE_NAMES = {
    "ipv4s": "ipv4",
    "ipv4_cidrs": "ipv4_cidr",
    "ipv6s": "ipv6",
    "ipv6_cidrs": "ipv6_cidr",
    "socket_addresses": "socket_address",
    "domains": "domain",
    "urls": "url",
    "urls_complete": "url",
    "email_addresses": "email",
    "email_addresses_complete": "email",
    "xmpp_addresses": "xmpp_address",
    "md5s": "md5",
    "sha1s": "sha1",
    "sha256s": "sha256",
    "sha512s": "sha512",
    "imphashes": "imphash",
    "authentihashes": "authentihash",
    "ssdeeps": "ssdeep",
    "cves": "cve",
    "registry_key_paths": "registry_key",
    "file_paths": "file_path",
    "asns": "asn",
    "mac_addresses": "mac_address",
    "user_agents": "user_agent",
    "bitcoin_addresses": "bitcoin_address",
    "monero_addresses": "monero_address",
    "google_analytics_tracker_ids": "google_analytics_id",
    "google_adsense_publisher_ids": "google_adsense_id",
}

IOC_TYPES: tuple[str, ...] = (
    "ipv4",
    "ipv4_cidr",
    "ipv6",
    "ipv6_cidr",
    "socket_address",
    "domain",
    "url",
    "email",
    "xmpp_address",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "imphash",
    "authentihash",
    "ssdeep",
    "cve",
    "registry_key",
    "file_path",
    "asn",
    "mac_address",
    "user_agent",
    "bitcoin_address",
    "monero_address",
    "google_analytics_id",
    "google_adsense_id",
)
_TYPE_RANK = {t: i for i, t in enumerate(IOC_TYPES)}
_IP_TYPES = {"ipv4", "ipv4_cidr", "ipv6", "ipv6_cidr", "socket_address"}
_HASH_TYPES = {"md5", "sha1", "sha256", "sha512", "imphash", "authentihash"}

# The "complete" URL/e-mail grammars are slow and, on base64 blobs, quadratic; the main pass runs the
# narrow ones and the complete ones run only on lines that need them (userinfo URLs, quoted locals).
_COMPLETE_TYPES = ["urls_complete", "email_addresses_complete"]
_MAIN_TYPES = [k for k in _TYPE_NAMES if k not in _COMPLETE_TYPES]
_NEEDS_COMPLETE = re.compile(r"://[^\s/@]+@|[\")]@")

# ---- splitting and pre-filtering ------------------------------------------------------------------
# ioc-finder's cost is per candidate and some grammars degrade on very long whitespace-free runs, so
# the text is cut at paragraph boundaries, runs longer than _MAX_RUN (blobs) are dropped, and only
# pieces that could hold an indicator are parsed, in batches of about _BATCH characters.
_MAX_PIECE = 8000
_MAX_RUN = 2048
_BATCH = 16000
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_LONG_RUN = re.compile(r"\S{" + str(_MAX_RUN + 1) + ",}")
_RUN_SEPARATORS = re.compile(r"[,;|]+")
# A superset of what any enabled ioc-finder type (after its refanging) can start from.
_MAY_HOLD_IOC = re.compile(
    r"\w\.\w|[\[({<]\s{0,3}(?:\.|,|:|dot|punto|punkt|at|et|@|arroba|www|-|https?|/)\s{0,3}[\])}>]"
    r"|dot|punto|punkt|@|\\|/|\w:\w|::|[0-9a-f]{2}-[0-9a-f]{2}-|[a-z0-9]{25}|cve|as\s*n?\s*\d"
    r"|pub-\d|ua-\d|xxxx|\^|\d,\d",
    re.IGNORECASE,
)
_MAY_HOLD_IOC_CASED = re.compile(r"DOT|AT|ET|ARROBA|h[xA-Z]{2}ps?")


def _drop_blobs(piece: str) -> str:
    def shorten(m: re.Match[str]) -> str:
        parts = _RUN_SEPARATORS.split(m.group())
        return " ".join(p for p in parts if len(p) <= _MAX_RUN)

    return _LONG_RUN.sub(shorten, piece) if len(piece) > _MAX_RUN else piece


def _pieces(text: str) -> Iterator[str]:
    for para in _PARAGRAPH_BREAK.split(text):
        if len(para) <= _MAX_PIECE:
            yield _drop_blobs(para)
            continue
        for line in para.splitlines():
            line = _drop_blobs(line)
            while len(line) > _MAX_PIECE:
                cut = line.rfind(" ", 0, _MAX_PIECE)
                cut = cut if cut > 0 else _MAX_PIECE
                yield line[:cut]
                line = line[cut:]
            yield line


def _batches(text: str) -> Iterator[list[str]]:
    buf: list[str] = []
    size = 0
    for piece in _pieces(text):
        if not (_MAY_HOLD_IOC.search(piece) or _MAY_HOLD_IOC_CASED.search(piece)):
            continue
        buf.append(piece)
        size += len(piece) + 2
        if size >= _BATCH:
            yield buf
            buf, size = [], 0
    if buf:
        yield buf


# Whatever ioc_fanger would rewrite (a superset); pieces without any are their own refanged form,
# which spares refanging most prose a second time.
_B = r"[\[\](){}<>]"
_DEFANGED = re.compile(
    rf"{_B}\s{{0,3}}[.,:]\s{{0,3}}{_B}|{_B}\s{{0,3}}(?:dot|punto|punkt)|(?:dot|punto|punkt)\s{{0,3}}{_B}"
    r"|-(?:dot|punto|punkt)-|[\[(]\s{0,3}(?:://|www|htt)|(?:www|https?)\s{0,3}[\])]|\[-\]|:///|://\s"
    r"|:\s+//|https?/|https?\s+:|xxxx|\s@\s|\d,\d{1,3},\d|\\/|\^|\\\.",
    re.IGNORECASE,
)
_DEFANGED_CASED = re.compile(
    rf"{_B}\s{{0,3}}(?:@|at|et|arroba|AT|ET|ARROBA)|(?:@|at|et|arroba|AT|ET|ARROBA)\s{{0,3}}{_B}"
    r"|DOT|[a-z] *(?:AT|ET|ARROBA) *[a-z]|h[xA-Z]{2}p"
)


def _refang(piece: str) -> str:
    return _fang(piece) if _DEFANGED.search(piece) or _DEFANGED_CASED.search(piece) else piece


# ---- boundaries for locating and counting values in the refanged text -----------------------------
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_LEFT_EXTRA = {
    "domain": frozenset(".-"),
    "ipv4": frozenset("."),
    "email": frozenset(".+-"),
    "file_path": frozenset("\\/"),
    "registry_key": frozenset("\\/"),
    "url": frozenset(".-:/@"),
}
_RIGHT_EXTRA = {
    "domain": frozenset("-"),
    "url": frozenset("/?#=&%~+-"),
    "email": frozenset("-"),
    "file_path": frozenset("\\/-"),
    "registry_key": frozenset("\\-"),
}
_DOT_CONTINUES = {"domain", "ipv4", "url", "email", "file_path", "registry_key", "socket_address"}


def _occurrences(hay: str, needle: str, ioc_type: str) -> list[int]:
    """Start offsets of ``needle`` in ``hay`` (both lower-cased) that stand on their own."""
    left_bad = _WORD | _LEFT_EXTRA.get(ioc_type, frozenset())
    right_bad = _WORD | _RIGHT_EXTRA.get(ioc_type, frozenset())
    dot_continues = ioc_type in _DOT_CONTINUES
    out: list[int] = []
    n = len(needle)
    i = hay.find(needle)
    while i >= 0:
        j = i + n
        ok = (i == 0 or hay[i - 1] not in left_bad) and (j >= len(hay) or hay[j] not in right_bad)
        if ok and dot_continues and hay[j : j + 1] == "." and hay[j + 1 : j + 2] in _WORD:
            ok = False
        if ok:
            out.append(i)
        i = hay.find(needle, i + 1)
    return out


# ---- normalisation and validation -----------------------------------------------------------------
_URL_TRAILING = ".,;:!?'\"`*_"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
_CVE_SHAPE = re.compile(r"cve[- ]+(\d{4})-+(\d{4,})", re.IGNORECASE)
_UA_SHAPE = re.compile(r"Mozilla/[\w.]+(?:\s+(?:\([^()]*\)|[\w.+!-]+/[\w.+!-]*[\w+!-]))*")


def _strip_url(url: str) -> str:
    while url:
        last = url[-1]
        unbalanced = last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last])
        if last in _URL_TRAILING or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _normalise(ioc_type: str, value: str) -> str | None:
    value = value.strip()
    if ioc_type == "url":
        value = _strip_url(value)
        return value if "." in value or "[" in value else None
    if ioc_type in ("domain", "email", "xmpp_address"):
        return value.rstrip(".").lower() or None
    if ioc_type in _HASH_TYPES or ioc_type == "mac_address":
        return value.lower()
    if ioc_type == "ipv6":
        try:
            return ipaddress.IPv6Address(value).compressed
        except ValueError:
            return None
    if ioc_type in ("ipv4_cidr", "ipv6_cidr"):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return None
        return value.lower()
    if ioc_type == "cve":
        m = _CVE_SHAPE.search(value)
        return f"CVE-{m.group(1)}-{m.group(2)}" if m else None
    if ioc_type == "user_agent":
        m = _UA_SHAPE.match(value)
        return m.group() if m else None
    if ioc_type == "bitcoin_address":
        return value if _valid_bitcoin(value) else None
    return value


def _private(ioc_type: str, value: str) -> bool:
    """True when the address or network is not globally routable (RFC 1918, loopback, TEST-NET...)."""
    try:
        if ioc_type in ("ipv4_cidr", "ipv6_cidr"):
            return not ipaddress.ip_network(value, strict=False).is_global
        if ioc_type == "socket_address":
            value = value.rsplit(":", 1)[0].strip("[]")
        return not ipaddress.ip_address(value).is_global
    except ValueError:
        return False


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _valid_bitcoin(addr: str) -> bool:
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


# ---- file paths and registry keys -----------------------------------------------------------------
# ioc-finder's path grammars need a dotless body and an extension and its registry grammar stops at
# '-' or '_', so they truncate `ms-settings`, `/etc/cron.d/x.sh`, `Microsoft.NET`; and they let
# spaces run on into prose. These patterns take over the shapes: a segment may hold spaces only
# between dotless words and before a Capitalised word ("Program Files (x86)", "Windows NT", "Image
# File Execution Options", "New Text Document.txt"). So "rundll32.exe D:\\x", "x.dll. Then",
# "WDigest UseLogonCredential" (a value name after the key) end where they should.
_W = r"[\w$~#@+={}%-]+"
_MORE = r" (?:\(x86\)|(?:[A-Z][a-z]+|[A-Z]{2,3}|\d+)(?![\w$~#@+={}%-]))"
_SEG = rf"{_W}(?:{_MORE})*(?:\.{_W})*"
_REG_ROOT = (
    r"HKEY_(?:LOCAL_MACHINE|CURRENT_USER|CLASSES_ROOT|USERS|CURRENT_CONFIG|PERFORMANCE_DATA|DYN_DATA)"
    r"|HKLM|HKCU|HKCR|HKU|HKCC"
)
_REGISTRY_RE = re.compile(rf"(?<![\w\\])(?:{_REG_ROOT})(?:\\{_SEG})+")
_WINDOWS_PATH_RE = re.compile(
    rf"(?<![\w\\%])(?:(?:[A-Za-z]:|\\\\[\w.$-]+)(?:\\{_SEG})+|%[A-Za-z_][\w()]*%\\?{_SEG}(?:\\{_SEG})*)\\?"
)
_UNIX_ROOTS = (
    "etc|tmp|var|usr|bin|sbin|opt|home|root|dev|proc|lib|lib32|lib64|boot|srv|mnt|media|run|sys|snap"
    "|Library|Users|Applications|System|private|Volumes"
)
_UNIX_PATH_RE = re.compile(rf"(?<![\w/.:~\\-])(?:~|/(?:{_UNIX_ROOTS}))(?:/[\w.+@%~=,-]+)+/?")
_PATH_JUNK = re.compile(r"[\"'<>|*?\s]")


def _trim_path(value: str) -> str:
    return value.rstrip(".,;:").rstrip("\\/") if len(value) > 3 else value


def _keep_file_path(value: str) -> bool:
    """Whether a path ioc-finder reported is a real path and not a command line or prose."""
    if value.startswith(("/", "~")):
        segments = [s for s in value.split("/") if s]
        return not _PATH_JUNK.search(value) and ":" not in value and (value[0] == "~" or len(segments) >= 2)
    if '"' in value or "'" in value or "<" in value or "|" in value:
        return False
    return bool(_WINDOWS_PATH_RE.fullmatch(value))


# ---- domains that are file names or product names -------------------------------------------------
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Extensions that are not (or, like .dot, hardly ever) TLDs: a "domain" ending in one is a file name.
_FILE_ONLY_EXTS = _words(
    "exe dll sys ocx cpl scr pif ps1 psm1 bat cmd vbs vbe js jse wsf wsh hta lnk iso img vhd vhdx"
    " msi msp jar class war apk ipa dmg pkg deb rpm elf bin dat tmp log ini cfg conf json xml yml"
    " yaml toml txt csv tsv doc docx docm dot dotm xls xlsx xlsm xlsb ppt pptx pptm rtf pdf odt chm"
    " html htm mht mhtml php asp aspx ashx asmx jsp jspx cgi rar 7z gz tgz bz2 xz tar z arj ace lzh"
    " png jpg jpeg gif bmp ico svg mp3 mp4 avi wav db sqlite sql bak old pdb pyc pyw reg url eml msg"
    " pst ost kdbx key pem crt cer der pfx p12"
)
# Real TLDs that are also common file extensions, and of those the ones that in a threat report are
# far more often a file than a site: a bare `name.ext` with one of the latter is a file unless the
# text uses it as a URL host or mail domain; with the others it needs a sign of being a file.
_FILE_FIRST_TLDS = _words("zip mov one py rs md so ps pm mk am ac cab ml hiv java target")
_FILE_LIKE_TLDS = _FILE_FIRST_TLDS | _words("sh pl cat app run cc ai download ink sc bz data ms")
# "com.apple.loginwindow", "org.freedesktop": reverse-DNS identifiers, not hosts
_REVERSE_DNS_FIRST = _words("com org net edu gov mil int")
_FILE_WORDS = _words(
    "file files archive archives attachment attachments script scripts named called dropped drops drop"
    " saved save wrote writes written executed executes execute ran runs launched launches opened opens"
    " extracted extracts compressed renamed copied copy payload binary library module document"
    " package installer"
)
_WORD_RE = re.compile(r"[A-Za-z]+")


@dataclass
class _Found:
    """A candidate value: how often and where it stands on its own in the text."""

    ioc_type: str
    value: str
    count: int = 0
    first: int = -1
    located: bool = False
    batches: set[int] = field(default_factory=set)
    spots: list[tuple[int, int]] = field(default_factory=list)


# Paths and keys are never defanged, and refanging can damage them ("\\." becomes "."), so they are
# located in the text as written; everything else in the refanged text.
_RAW_TYPES = {"file_path", "registry_key", "ipv6_cidr"}


class _Scan:
    """The batches of one text, as written and refanged, and the values found in them."""

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.fanged: list[str] = []
        self._lower: dict[tuple[int, bool], str] = {}
        self.offsets: list[int] = []
        self.found: dict[tuple[str, str], _Found] = {}
        self._size = 0

    def add_batch(self, raw: str, fanged: str) -> int:
        self.raw.append(raw)
        self.fanged.append(fanged)
        self.offsets.append(self._size)
        self._size += max(len(raw), len(fanged)) + 2
        return len(self.raw) - 1

    def lower(self, batch: int, raw: bool) -> str:
        key = (batch, raw)
        if key not in self._lower:
            self._lower[key] = (self.raw if raw else self.fanged)[batch].lower()
        return self._lower[key]

    def record(self, batch: int, ioc_type: str, value: str) -> None:
        key = (ioc_type, value)
        item = self.found.get(key)
        if item is None:
            item = self.found[key] = _Found(ioc_type, value)
        if batch in item.batches:
            return
        item.batches.add(batch)
        needle = value.lower()
        use_raw = ioc_type in _RAW_TYPES
        hits = _occurrences(self.lower(batch, use_raw), needle, ioc_type)
        if not hits and not use_raw:
            use_raw = True
            hits = _occurrences(self.lower(batch, True), needle, ioc_type)
        if hits:
            item.located = True
            item.count += len(hits)
            pos = self.offsets[batch] + hits[0]
            item.first = pos if item.first < 0 else min(item.first, pos)
            if ioc_type == "domain" and not use_raw:
                item.spots.extend((batch, h) for h in hits)
        else:
            # seen by ioc-finder but not as a standalone string (inside a longer token, or altered by
            # refanging): counted once, and placed after the located ones
            item.count = max(item.count, 1)
            if item.first < 0:
                item.first = self.offsets[batch] + len(self.raw[batch])

    def around(self, batch: int, pos: int, width: int = 60) -> tuple[str, str]:
        text = self.fanged[batch]
        return text[max(0, pos - width) : pos], text[pos : pos + width]


def _is_file_name(item: _Found, scan: _Scan, path_values: Iterable[str]) -> bool:
    labels = item.value.split(".")
    ext = labels[-1]
    if ext in _FILE_ONLY_EXTS:
        return True
    if ext not in _FILE_LIKE_TLDS or len(labels) != 2:
        return False
    if any(item.value in p.lower() for p in path_values):
        return True
    name_len = len(labels[0])
    file_signal = "_" in labels[0]
    cased = bool(item.spots)
    for batch, pos in item.spots:
        before, after = scan.around(batch, pos)
        if before.endswith(("://", "@")):
            return False  # a URL host or a mail domain is a site, whatever its TLD
        if before.endswith(("\\", "/")):
            file_signal = True
        cased = cased and any(c.isupper() for c in scan.fanged[batch][pos : pos + name_len])
        words = {w.lower() for w in _WORD_RE.findall(before)[-3:]}
        next_word = _WORD_RE.match(after[len(item.value) :].lstrip(" "))
        if next_word:
            words.add(next_word.group().lower())
        file_signal = file_signal or not words.isdisjoint(_FILE_WORDS)
    # "README.md", "Terminal.app": hosts are written in lower case, file names often are not
    return file_signal or cased or ext in _FILE_FIRST_TLDS


def _is_non_domain(item: _Found, scan: _Scan) -> bool:
    """Dotted identifiers ("Microsoft.Exchange", "Mail.Read", "com.apple"), path components
    ("\\Microsoft.NET\\") and product names ("ASP.NET") are not domains."""
    if not item.located:
        return True
    labels = item.value.split(".")
    if len(labels) == 2 and labels[0] in _REVERSE_DNS_FIRST:
        return True
    if not item.spots:
        return False
    tld = len(item.value) - len(labels[-1])
    in_paths = True
    cased_tld = True
    for batch, pos in item.spots:
        text = scan.fanged[batch]
        cased_tld = cased_tld and any(c.isupper() for c in text[pos + tld : pos + len(item.value)])
        in_paths = in_paths and pos > 0 and text[pos - 1] == "\\"
    return in_paths or cased_tld


def _drop_prefixes(items: list[_Found]) -> list[_Found]:
    """Drop paths and keys that are truncations of a longer one found in the same text, and the ones
    ioc-finder reported but that do not occur as written."""
    values = sorted({i.value.lower() for i in items if i.located})
    truncated: set[str] = set()
    for k, short in enumerate(values):
        for longer in values[k + 1 :]:
            if not longer.startswith(short):
                break
            if longer[len(short)] in "\\/.-_ ":
                truncated.add(short)
                break
    return [i for i in items if i.located and i.value.lower() not in truncated]


def find_iocs(text: str) -> list[Indicator]:
    """Indicators in ``text``: refanged ``value``, defanged display form, ``count`` (and ``private``
    for IP types); deduplicated, ordered by type then first occurrence."""
    scan = _Scan()
    for pieces in _batches(text):
        batch_text = "\n\n".join(pieces)
        b = scan.add_batch(batch_text, "\n\n".join(_refang(p) for p in pieces))
        raw = _ioc_finder(batch_text, included_ioc_types=_MAIN_TYPES)
        complete_lines = [line for line in batch_text.splitlines() if _NEEDS_COMPLETE.search(line)]
        if complete_lines:
            extra = _ioc_finder("\n".join(complete_lines), included_ioc_types=_COMPLETE_TYPES)
            raw = {**raw, **extra}
        for key, values in raw.items():
            ioc_type = _TYPE_NAMES.get(key)
            if ioc_type is None or not isinstance(values, list):
                continue
            for value in values:
                if ioc_type == "file_path" and not _keep_file_path(value):
                    continue
                if ioc_type == "registry_key" and not _REGISTRY_RE.fullmatch(value):
                    continue
                norm = _normalise(ioc_type, value)
                if norm:
                    scan.record(b, ioc_type, norm)
        for regex, ioc_type in (
            (_REGISTRY_RE, "registry_key"),
            (_WINDOWS_PATH_RE, "file_path"),
            (_UNIX_PATH_RE, "file_path"),
        ):
            for m in regex.finditer(batch_text):
                value = _trim_path(m.group())
                if ioc_type == "file_path" and value.count("\\") + value.count("/") < 2 and "." not in value:
                    continue  # "C:\Windows", "~/x" on its own say little
                scan.record(b, ioc_type, value)
    return _finish(scan)


def _finish(scan: _Scan) -> list[Indicator]:
    by_type: dict[str, list[_Found]] = {}
    for item in scan.found.values():
        by_type.setdefault(item.ioc_type, []).append(item)
    for ioc_type in ("file_path", "registry_key"):
        if ioc_type in by_type:
            by_type[ioc_type] = _drop_prefixes(by_type[ioc_type])
    paths = [i.value for i in by_type.get("file_path", [])]
    if "domain" in by_type:
        by_type["domain"] = [
            i for i in by_type["domain"] if not _is_file_name(i, scan, paths) and not _is_non_domain(i, scan)
        ]
    if "email" in by_type and "url" in by_type:
        # "user:pass@host" in a URL is credentials, not a mailbox
        userinfo = [u.value.lower() for u in by_type["url"] if "@" in u.value]
        by_type["email"] = [
            e
            for e in by_type["email"]
            if not any(f":{e.value}" in u or f"//{e.value}" in u for u in userinfo)
        ]
    if "url" in by_type:
        urls = by_type["url"]
        # a narrow-grammar URL that only exists inside a complete one ("pass@host/x")
        by_type["url"] = [
            u for u in urls if u.located or not any(o.value != u.value and u.value in o.value for o in urls)
        ]
    out: list[Indicator] = []
    for ioc_type in sorted(by_type, key=lambda t: _TYPE_RANK.get(t, len(_TYPE_RANK))):
        items = sorted(by_type[ioc_type], key=lambda i: (i.first, i.value))
        seen: set[str] = set()
        for item in items:
            key = item.value.lower()
            if key in seen:
                continue
            seen.add(key)
            extra: dict[str, object] = {"count": max(item.count, 1)}
            if ioc_type in _IP_TYPES:
                extra["private"] = _private(ioc_type, item.value)
            out.append(
                Indicator(type=ioc_type, value=item.value, defanged=defang(item.value, ioc_type), **extra)
            )
    return out


# ---- display forms --------------------------------------------------------------------------------
_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp", "ftps": "fxps", "sftp": "sfxp"}
_URL_PARTS = re.compile(r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?(?P<auth>[^/?#]*)(?P<rest>.*)$", re.S)


def _defang_host(host: str) -> str:
    if host.startswith("["):
        return host.replace(":", "[:]")
    name, sep, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    try:
        ipaddress.IPv4Address(name)
        return defang(name, "ipv4") + sep + port
    except ValueError:
        return name.replace(".", "[.]") + sep + port


def defang(value: str, ioc_type: str) -> str:
    """The display form of an indicator: ``hxxps://evil[.]com/a``, ``1.2.3[.]4``, ``user[@]evil[.]com``;
    types that cannot be clicked or resolved (hashes, paths, keys) are returned unchanged."""
    if ioc_type in ("ipv4", "ipv4_cidr", "socket_address") and "." in value:
        head, _, tail = value.rpartition(".")
        return f"{head}[.]{tail}"
    if ioc_type in ("ipv6", "ipv6_cidr"):
        return value.replace(":", "[:]")
    if ioc_type == "domain":
        return value.replace(".", "[.]")
    if ioc_type in ("email", "xmpp_address"):
        local, _, domain = value.rpartition("@")
        return f"{local}[@]{domain.replace('.', '[.]')}"
    if ioc_type == "url":
        m = _URL_PARTS.match(value)
        if not m:
            return value.replace(".", "[.]")
        scheme = m.group("scheme")
        auth = m.group("auth")
        userinfo, at, host = auth.rpartition("@")
        out = ""
        if scheme:
            out = _SCHEMES.get(scheme.lower(), scheme) + "://"
        return out + userinfo + ("[@]" if at else "") + _defang_host(host) + m.group("rest")
    return value
