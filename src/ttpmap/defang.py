"""Defanging and refanging of indicators: the one display form used by extraction and every export.

Style (one, documented): URL schemes become ``hxxp``/``hxxps``/``fxp``; every dot of a host name is
bracketed (``evil[.]com``); an IPv4 address brackets its last dot only (``1.2.3[.]4``); ``@`` of a mail
address becomes ``[@]`` and ``:`` of an IPv6 address ``[:]``. Paths, keys, hashes and other types that
nothing resolves or clicks are returned unchanged. Defanging is idempotent.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from ttpmap.models import Indicator, IocType

_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp", "ftps": "fxps", "sftp": "sfxp"}
_URL_PARTS = re.compile(r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?(?P<auth>[^/?#]*)(?P<rest>.*)$", re.S)
_ALREADY = re.compile(r"\[\.\]|\[@\]|\[:\]|^(?:hxxps?|fxps?|sfxp)://", re.IGNORECASE)
_IP_TYPES = frozenset({"ipv4", "ipv4_cidr", "socket_address"})
# the types defanging changes: everything that resolves or can be clicked
NETWORK_TYPES = frozenset(
    {
        IocType.IPV4,
        IocType.IPV4_CIDR,
        IocType.IPV6,
        IocType.IPV6_CIDR,
        IocType.SOCKET_ADDRESS,
        IocType.DOMAIN,
        IocType.URL,
        IocType.EMAIL,
        IocType.XMPP_ADDRESS,
    }
)
_FREE_URL = re.compile(r"\b(https?|ftp)://", re.IGNORECASE)
_FREE_WWW = re.compile(r"\bwww\.", re.IGNORECASE)


def _host(host: str) -> str:
    if host.startswith("["):
        return host.replace(":", "[:]")
    name, sep, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return name.replace(".", "[.]") + sep + port
    return defang(name, "ipv4") + sep + port


def defang(value: str, ioc_type: str) -> str:
    """The display form of an indicator of type ``ioc_type`` (an ``IocType`` value), e.g.
    ``hxxps://evil[.]com/a``, ``1.2.3[.]4``, ``user[@]evil[.]com``; idempotent."""
    ioc_type = str(ioc_type)
    if _ALREADY.search(value):
        return value
    if ioc_type in _IP_TYPES and "." in value:
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
        scheme, auth = m.group("scheme"), m.group("auth")
        userinfo, at, host = auth.rpartition("@")
        out = _SCHEMES.get(scheme.lower(), scheme) + "://" if scheme else ""
        return out + userinfo + ("[@]" if at else "") + _host(host) + m.group("rest")
    return value


_REFANG_SCHEMES = {"hxxp": "http", "hxxps": "https", "fxp": "ftp", "fxps": "ftps", "sfxp": "sftp"}
_REFANG_SCHEME = re.compile(r"^(?:hxxps?|fxps?|sfxp)(?=://)", re.IGNORECASE)


def refang(value: str) -> str:
    """Undo this module's defanging (and the common bracket styles) to get the machine value back."""
    text = value.replace("[.]", ".").replace("(.)", ".").replace("[@]", "@").replace("[:]", ":")
    text = text.replace("[://]", "://")
    return _REFANG_SCHEME.sub(lambda m: _REFANG_SCHEMES[m.group().lower()], text)


def defang_text(text: str, iocs: Iterable[Indicator] = ()) -> str:
    """Free text with the known network indicators and any URL scheme or ``www.`` defanged, so that
    nothing in it links or resolves."""
    out = text or ""
    network = [i for i in iocs if i.type in NETWORK_TYPES and i.value]
    for ioc in sorted(network, key=lambda i: len(i.value), reverse=True):
        if ioc.value in out:
            out = out.replace(ioc.value, defang(ioc.value, ioc.type))
    out = _FREE_URL.sub(lambda m: _SCHEMES.get(m.group(1).lower(), m.group(1)) + "://", out)
    return _FREE_WWW.sub("www[.]", out)
