"""Indicator kinds shared by every export: normalised type names, defanging, actionability."""

from __future__ import annotations

import ipaddress
import re

# canonical kind -> spellings the extractor (or a hand-written analysis) may use
_ALIASES: dict[str, tuple[str, ...]] = {
    "ipv4": ("ipv4", "ipv4-addr", "ip", "ip-address", "ipv4-address", "ip-dst", "ip-src", "ipv4-cidr"),
    "ipv6": ("ipv6", "ipv6-addr", "ipv6-address", "ipv6-cidr"),
    "socket-address": ("socket-address", "ip-port", "ip-dst|port"),
    "domain": ("domain", "domain-name", "fqdn", "hostname", "host"),
    "url": ("url", "uri"),
    "email": ("email", "email-address", "email-addr", "e-mail", "email-src"),
    "md5": ("md5",),
    "sha1": ("sha1", "sha-1"),
    "sha256": ("sha256", "sha-256"),
    "sha512": ("sha512", "sha-512"),
    "file-path": ("file-path", "filepath", "path", "file", "windows-path", "unix-path"),
    "filename": ("filename", "file-name"),
    "registry-key": ("registry-key", "registry", "regkey", "registry-key-path", "windows-registry-key"),
    "cve": ("cve", "vulnerability"),
    "ssdeep": ("ssdeep",),
    "imphash": ("imphash",),
    "authentihash": ("authentihash",),
    "mac-address": ("mac-address", "mac"),
    "user-agent": ("user-agent",),
    "asn": ("asn", "as", "autonomous-system"),
    "bitcoin-address": ("bitcoin-address", "btc"),
    "xmpp-address": ("xmpp-address", "jabber-id"),
}
_KIND = {alias: kind for kind, aliases in _ALIASES.items() for alias in aliases}

LABELS = {
    "ipv4": "IPv4 address",
    "ipv6": "IPv6 address",
    "domain": "Domain",
    "url": "URL",
    "email": "Email address",
    "md5": "MD5",
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha512": "SHA-512",
    "file-path": "File path",
    "filename": "File name",
    "registry-key": "Registry key",
    "cve": "CVE",
    "socket-address": "IP address and port",
    "ssdeep": "ssdeep",
    "imphash": "Import hash",
    "authentihash": "Authentihash",
    "mac-address": "MAC address",
    "user-agent": "User agent",
    "asn": "AS number",
    "bitcoin-address": "Bitcoin address",
    "xmpp-address": "XMPP address",
}

HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKU": "HKEY_USERS",
    "HKCC": "HKEY_CURRENT_CONFIG",
}

NETWORK_KINDS = {"ipv4", "ipv6", "socket-address", "domain", "url", "email", "xmpp-address"}
_ALREADY = re.compile(r"\[\.\]|\[@\]|\[:\]|\[://\]|^(hxxp|fxp)", re.IGNORECASE)


def kind_of(ioc_type: str) -> str:
    """The canonical kind for an indicator type name (``other`` when unknown)."""
    key = re.sub(r"[\s_]+", "-", ioc_type.strip().lower())
    if key in _KIND:
        return _KIND[key]
    if key.endswith("s") and key[:-1] in _KIND:  # ioc-finder style plurals: ipv4s, urls
        return _KIND[key[:-1]]
    return "other"


def label(ioc_type: str) -> str:
    """A human label for an indicator type."""
    kind = kind_of(ioc_type)
    return LABELS.get(kind, ioc_type.strip() or "Other")


def defang(ioc_type: str, value: str) -> str:
    """A form of a network indicator that no viewer turns into a link; other kinds are unchanged.

    Idempotent: already defanged text (``[.]``, ``hxxp``) stays as it is.
    """
    kind = kind_of(ioc_type)
    if kind not in NETWORK_KINDS:
        return value
    if kind == "url":
        m = re.match(r"^([a-z][a-z0-9+.-]*)(\[?://\]?)([^/?#]*)(.*)$", value, flags=re.IGNORECASE | re.DOTALL)
        if not m:
            return _bracket_dots(value)
        return _defang_scheme(m.group(1)) + "://" + _bracket_dots(m.group(3)) + m.group(4)
    if kind in ("email", "xmpp-address"):
        local, at, domain = value.rpartition("[@]") if "[@]" in value else value.rpartition("@")
        if not at:
            return _bracket_dots(value)
        return f"{local}[@]{_bracket_dots(domain)}"
    if kind == "ipv6":
        return value if "[:]" in value else value.replace(":", "[:]")
    return _bracket_dots(value)


def display(ioc_type: str, value: str, defanged: str = "") -> str:
    """The form to show people: the extractor's defanged text when it is defanged, else our own."""
    kind = kind_of(ioc_type)
    if kind not in NETWORK_KINDS:
        return value
    if (
        defanged
        and _ALREADY.search(defanged)
        and not re.search(r"\b(https?|ftp)://", defanged, re.IGNORECASE)
    ):
        return defanged
    return defang(ioc_type, value)


def _bracket_dots(text: str) -> str:
    return re.sub(r"(?<!\[)\.(?!\])", "[.]", text)


def _defang_scheme(scheme: str) -> str:
    lowered = scheme.lower()
    if lowered.startswith("http"):
        return "hxxp" + scheme[4:]
    if lowered == "ftp":
        return "fxp"
    return scheme


def refang(value: str) -> str:
    """Undo common defanging so that the machine-readable exports carry the real value."""
    text = value.replace("[.]", ".").replace("(.)", ".").replace("[@]", "@").replace("[:]", ":")
    text = text.replace("[://]", "://")
    return re.sub(r"^hxxp", "http", re.sub(r"^fxp", "ftp", text, flags=re.IGNORECASE), flags=re.IGNORECASE)


def is_private_ip(value: str) -> bool:
    """True for private, loopback, link-local, reserved and documentation addresses."""
    text = refang(value).strip()
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        host = text.rsplit(":", 1)[0].strip("[]") if text.count(":") == 1 or text.startswith("[") else text
        try:
            net = ipaddress.ip_network(host, strict=False)
        except ValueError:
            return False
    return not net.is_global


def expand_hive(key: str) -> str:
    """A registry key with its hive spelled out (``HKLM\\...`` -> ``HKEY_LOCAL_MACHINE\\...``)."""
    head, sep, rest = key.partition("\\")
    return HIVES.get(head.upper(), head) + sep + rest


def split_path(path: str) -> tuple[str, str]:
    """(directory, file name) of a Windows or POSIX path; directory is '' for a bare name."""
    cut = max(path.rfind("\\"), path.rfind("/"))
    if cut < 0:
        return "", path
    return path[:cut], path[cut + 1 :]
