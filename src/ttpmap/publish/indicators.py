"""Indicator presentation shared by every export: type labels, display forms, disposition wording,
registry-hive and path helpers. Types are the one ``IocType`` vocabulary; defanging is ``ttpmap.defang``."""

from __future__ import annotations

from ttpmap.defang import NETWORK_TYPES, defang, refang
from ttpmap.models import Disposition, Indicator, IocType

LABELS: dict[IocType, str] = {
    IocType.IPV4: "IPv4 address",
    IocType.IPV4_CIDR: "IPv4 network",
    IocType.IPV6: "IPv6 address",
    IocType.IPV6_CIDR: "IPv6 network",
    IocType.SOCKET_ADDRESS: "IP address and port",
    IocType.DOMAIN: "Domain",
    IocType.URL: "URL",
    IocType.EMAIL: "Email address",
    IocType.XMPP_ADDRESS: "XMPP address",
    IocType.MD5: "MD5",
    IocType.SHA1: "SHA-1",
    IocType.SHA256: "SHA-256",
    IocType.SHA512: "SHA-512",
    IocType.IMPHASH: "Import hash",
    IocType.AUTHENTIHASH: "Authentihash",
    IocType.SSDEEP: "ssdeep",
    IocType.CVE: "CVE",
    IocType.REGISTRY_KEY: "Registry key",
    IocType.FILE_PATH: "File path",
    IocType.FILENAME: "File name",
    IocType.ASN: "AS number",
    IocType.MAC_ADDRESS: "MAC address",
    IocType.USER_AGENT: "User agent",
    IocType.BITCOIN_ADDRESS: "Bitcoin address",
    IocType.MONERO_ADDRESS: "Monero address",
    IocType.GOOGLE_ANALYTICS_ID: "Google Analytics ID",
    IocType.GOOGLE_ADSENSE_ID: "Google AdSense ID",
}

DISPOSITION_LABELS: dict[Disposition, str] = {
    Disposition.ACTOR: "actor infrastructure or artefact",
    Disposition.BENIGN: "benign or shared infrastructure",
    Disposition.ABUSED_SERVICE: "legitimate service abused",
    Disposition.PRIVATE: "private or reserved",
    Disposition.NOT_IOC: "not an indicator",
}

HIVES = {
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKCU": "HKEY_CURRENT_USER",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKU": "HKEY_USERS",
    "HKCC": "HKEY_CURRENT_CONFIG",
}


def machine_value(ioc: Indicator) -> str:
    """The value for machine-readable exports: refanged (a hand-written analysis may hold defanged text)."""
    return refang(ioc.value).strip() if ioc.type in NETWORK_TYPES else ioc.value.strip()


def label(ioc_type: IocType) -> str:
    """A human label for an indicator type."""
    return LABELS.get(ioc_type, str(ioc_type))


def display(ioc: Indicator) -> str:
    """The form to show people: defanged, so that no viewer turns it into a link."""
    return defang(ioc.value, ioc.type)


def note(ioc: Indicator, full: bool = True, max_lists: int = 3) -> str:
    """One line for people: disposition and role (when ``full``), the reason it is not the actor's,
    and the warning lists it hits (at most ``max_lists``)."""
    parts = [DISPOSITION_LABELS[ioc.disposition]] if full else []
    if ioc.role and full:
        parts.append(f"role: {ioc.role}")
    if ioc.reason and ioc.disposition is not Disposition.ACTOR:
        parts.append(ioc.reason)
    if ioc.warninglists:
        more = len(ioc.warninglists) - max_lists
        shown = ", ".join(ioc.warninglists[:max_lists])
        parts.append(f"MISP warning lists: {shown}" + (f" (+{more} more)" if more > 0 else ""))
    return "; ".join(parts)


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
