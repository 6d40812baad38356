"""What an indicator is to a defender (disposition) and what it did (role), from its value, the MISP
warning lists it hits and the sentence or IOC-table row it appears in.

Rules, measured by ``benchmarks/ioc_quality.py`` on labelled reports (precision and recall of
"actor"): CVEs are context; non-routable addresses are private; a dotted number after "version" is no
address; documentation names and names inside the victim's network are not IOCs; a value on a benign
or top-site warning list is benign, or an abused service when the sentence says the actor used it; a
legitimate service's bare name is no IOC while an actor's sub-domain on it, or a full URL with a path
on it, is; a standard system file is never an indicator by name alone. Everything else is the actor's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from ttpmap.extract.iocs.validation import IP_TYPES, is_private
from ttpmap.extract.iocs.warninglists import Hit, WarningLists
from ttpmap.lexicon import lines, words
from ttpmap.models import Disposition, IocRole, IocType

_HOST_TYPES = frozenset({IocType.DOMAIN, IocType.URL, IocType.EMAIL, IocType.XMPP_ADDRESS})
_HASHES = frozenset({IocType.MD5, IocType.SHA1, IocType.SHA256, IocType.SHA512})
_ACTIVE_ROLES = frozenset({IocRole.C2, IocRole.DOWNLOAD, IocRole.EXFILTRATION, IocRole.PHISHING})
_BENIGN_KINDS = frozenset({"benign", "popular", "scanner"})


@dataclass(frozen=True)
class Decision:
    """The disposition, role and reason for one indicator, and the warning lists it hits."""

    disposition: Disposition
    role: IocRole | None
    reason: str
    warninglists: tuple[str, ...] = ()


_NETWORK_ROLES = frozenset(
    {IocRole.C2, IocRole.DOWNLOAD, IocRole.EXFILTRATION, IocRole.PHISHING, IocRole.SCANNER, IocRole.VICTIM}
)
_FILE_ROLES = frozenset({IocRole.TOOL_FILE})


@cache
def _role_cues() -> list[tuple[IocRole | None, re.Pattern[str]]]:
    out: list[tuple[IocRole | None, re.Pattern[str]]] = []
    for line in lines("ioc/roles"):
        name, _, cues = line.partition(":")
        alternatives = "|".join(re.escape(c).replace("_", r"\s+") for c in cues.split())
        role = None if name.strip() == "none" else IocRole(name.strip())
        out.append((role, re.compile(rf"(?<![\w-])(?:{alternatives})", re.IGNORECASE)))
    return out


@cache
def _reserved_names() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines("ioc/reserved_tlds"):
        kind, _, names = line.partition(":")
        out.update(dict.fromkeys(names.split(), kind.strip()))
    return out


def role_from(context: str, at: int = -1, allowed: frozenset[IocRole] = _NETWORK_ROLES) -> IocRole | None:
    """The ``allowed`` role whose cue in ``context`` is nearest to position ``at`` (the first cue
    when ``at`` < 0); None when there is none or the nearest cue says the value played no part."""
    best: tuple[int, int, IocRole | None] | None = None
    for rank, (role, pattern) in enumerate(_role_cues()):
        if role is not None and role not in allowed:
            continue
        for m in pattern.finditer(context):
            distance = m.start() if at < 0 else min(abs(m.start() - at), abs(m.end() - at))
            if best is None or (distance, rank) < best[:2]:
                best = (distance, rank, role)
    return best[2] if best else None


def _version_before(context: str, at: int) -> bool:
    before = re.findall(r"[A-Za-z]+", context[max(0, at - 16) : at])
    return bool(before) and before[-1].lower() in words("ioc/not_ioc_cues")


def _reserved_kind(host: str) -> str | None:
    names = _reserved_names()
    labels = host.lower().split(".")
    for i in range(len(labels)):
        kind = names.get(".".join(labels[i:]))
        if kind:
            return kind
    return None


def _is_system_file(path: str) -> bool:
    cut = max(path.rfind("\\"), path.rfind("/"))
    directory, name = path[:cut].lower(), path[cut + 1 :].lower()
    if name not in words("ioc/system_files"):
        return False
    return cut < 0 or directory in words("ioc/system_dirs")


@cache
def _standard_locations() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {"folder": set(), "key": set()}
    for line in lines("ioc/standard_locations"):
        kind, _, rest = line.partition(":")
        # entries hold spaces ("program files"): split on the drive, root or hive that starts each one
        out[kind.strip()].update(
            e.strip() for e in re.split(r"\s(?=[a-z]:\\|%|/|hk)", rest.strip()) if e.strip()
        )
    return {k: frozenset(v) for k, v in out.items()}


def _standard_location(ioc_type: IocType, value: str) -> bool:
    kind = "key" if ioc_type == IocType.REGISTRY_KEY else "folder"
    return value.lower().rstrip("\\/") in _standard_locations()[kind]


def _victim_share(path: str) -> bool:
    """``\\\\FS01\\Finance``: a UNC path to an internal host (a dotless name, not the local machine)
    that names a folder, not a file the actor placed there."""
    if not path.startswith("\\\\"):
        return False
    host, _, rest = path[2:].partition("\\")
    last = rest.rsplit("\\", 1)[-1]
    return "." not in host and host.lower() != "localhost" and "." not in last


def _names(hits: list[Hit]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(h.name for h in hits))


def _kinds(hits: list[Hit], exact_only: bool = False) -> set[str]:
    return {h.kind for h in hits if h.exact or not exact_only}


def decide(
    ioc_type: IocType, value: str, context: str, at: int, lists: WarningLists, linked: bool = False
) -> Decision:
    """Disposition, role and reason of ``value`` mentioned at ``at`` in ``context`` (its sentence or
    table row, with the table's caption); ``linked`` when the report's markup makes it a link or an
    image (``[text](url)``, ``![](path)``, ``<url>``): a reference or a figure, which no report defangs."""
    files = ioc_type in _HASHES or ioc_type in (IocType.FILE_PATH, IocType.FILENAME)
    role = role_from(context, at, _FILE_ROLES if files else _NETWORK_ROLES)
    if linked and ioc_type in (IocType.URL, IocType.DOMAIN, IocType.FILE_PATH):
        return Decision(Disposition.NOT_IOC, None, "a link or image in the report's markup (a reference)")
    if ioc_type == IocType.CVE:
        return Decision(
            Disposition.NOT_IOC, None, "a vulnerability: exported as a vulnerability, not an indicator"
        )
    if ioc_type in IP_TYPES:
        return _address(ioc_type, value, context, at, role, lists)
    if ioc_type in _HOST_TYPES:
        return _named(ioc_type, value, role, lists)
    if ioc_type in _HASHES:
        hits = lists.exact(value)
        if _kinds(hits) & _BENIGN_KINDS:
            return Decision(Disposition.BENIGN, None, "a known-benign or empty-file hash", _names(hits))
        return Decision(
            Disposition.ACTOR, role or IocRole.TOOL_FILE, "a hash of a file the report names", _names(hits)
        )
    if ioc_type == IocType.FILE_PATH and _is_system_file(value):
        return Decision(
            Disposition.BENIGN, IocRole.SYSTEM_FILE, "a standard system file: not an indicator by name alone"
        )
    if ioc_type in (IocType.FILE_PATH, IocType.REGISTRY_KEY) and _standard_location(ioc_type, value):
        return Decision(
            Disposition.BENIGN, None, "a standard folder or key: what the actor put there is the indicator"
        )
    if ioc_type == IocType.FILE_PATH and _victim_share(value):
        return Decision(
            Disposition.NOT_IOC, IocRole.VICTIM, "a share or folder on a host of the victim's network"
        )
    if ioc_type in (IocType.FILE_PATH, IocType.FILENAME):
        return Decision(Disposition.ACTOR, IocRole.TOOL_FILE, "a file the actor wrote or used")
    return Decision(Disposition.ACTOR, role, "named in the report as part of the activity")


def _address(
    ioc_type: IocType, value: str, context: str, at: int, role: IocRole | None, lists: WarningLists
) -> Decision:
    host = value.rsplit(":", 1)[0].strip("[]") if ioc_type == IocType.SOCKET_ADDRESS else value
    hits = lists.address(host)
    names = _names(hits)
    if ioc_type == IocType.IPV4 and _version_before(context, at):
        return Decision(Disposition.NOT_IOC, None, "a version number, not an address", names)
    if is_private(value):
        return Decision(Disposition.PRIVATE, role, "a private, loopback or reserved address", names)
    kinds = _kinds(hits)
    if "scanner" in kinds:
        return Decision(Disposition.BENIGN, IocRole.SCANNER, "a research scanner's address", names)
    if kinds & _BENIGN_KINDS:
        return Decision(Disposition.BENIGN, role, "a known-benign or shared address (warning list)", names)
    if role == IocRole.VICTIM:
        return Decision(Disposition.NOT_IOC, role, "the victim's own address, as the report says", names)
    if "hosting" in kinds:
        return Decision(Disposition.ACTOR, role, "an address in a cloud or VPN range the actor used", names)
    return Decision(Disposition.ACTOR, role, "an address the actor used", names)


def _named(ioc_type: IocType, value: str, role: IocRole | None, lists: WarningLists) -> Decision:
    if ioc_type == IocType.URL:
        parts = urlsplit(value if "://" in value else f"//{value}")
        host = (parts.hostname or "").lower()
        specific = len(parts.path.strip("/")) > 0 or bool(parts.query)
    elif ioc_type in (IocType.EMAIL, IocType.XMPP_ADDRESS):
        host, specific = value.rpartition("@")[2].lower(), True
        role = role or IocRole.PHISHING  # a mailbox is someone's: on a mail provider it is the actor's
    else:
        host, specific = value.lower(), False
    reserved = _reserved_kind(host)
    if reserved == "example":
        return Decision(Disposition.NOT_IOC, None, "an example or documentation name")
    if reserved == "internal":
        return Decision(Disposition.NOT_IOC, IocRole.VICTIM, "a name inside the victim's network")
    hits = lists.host(host) if host else []
    names = _names(hits)
    exact = _kinds(hits, exact_only=True)
    if "reserved" in exact:
        return Decision(Disposition.NOT_IOC, None, "a special-use name", names)
    # a sub-domain of a top site (research.vendor.com) counts as listed, unless it is under a service
    # actors rent names on (x.duckdns.org is the actor's whatever the rankings say)
    under_popular = "popular" in _kinds(hits) and "service" not in _kinds(hits)
    listed = bool(exact & (_BENIGN_KINDS | {"service"})) or bool(_kinds(hits) & {"benign"}) or under_popular
    if listed and specific:
        return _on_listed_host(ioc_type, host, role, hits)
    if "service" in exact or (listed and role in _ACTIVE_ROLES):
        return Decision(
            Disposition.ABUSED_SERVICE,
            role,
            "a legitimate service the actor used: the bare name is not an indicator, a full URL on it is",
            names,
        )
    if listed:
        return Decision(Disposition.BENIGN, role, "a known-benign or widely used name (warning list)", names)
    if role == IocRole.VICTIM:
        return Decision(Disposition.NOT_IOC, role, "the victim's own name, as the report says", names)
    if "service" in _kinds(hits):
        return Decision(Disposition.ACTOR, role, "an actor's name under a legitimate service", names)
    return Decision(Disposition.ACTOR, role, "a name the actor used", names)


def _on_listed_host(ioc_type: IocType, host: str, role: IocRole | None, hits: list[Hit]) -> Decision:
    """A full URL or a mailbox on a warning-listed host: the actor's when the host is a service actors
    abuse (paste and file hosting, dynamic DNS...; if it is also a known-benign site, only when the
    sentence says the actor used it) or a popular site the sentence says the actor used; otherwise a
    reference link or a contact address."""
    names = _names(hits)
    kinds = _kinds(hits)
    what = "a mailbox" if ioc_type != IocType.URL else "a full URL"
    active = role in _ACTIVE_ROLES
    if "service" in kinds and ("benign" not in kinds or active):
        return Decision(Disposition.ACTOR, role, f"{what} on a service actors abuse ({host})", names)
    if "benign" not in kinds and active:
        return Decision(
            Disposition.ACTOR, role, f"{what} on a widely used site ({host}) the actor used", names
        )
    return Decision(
        Disposition.BENIGN, role, f"{what} on a known-benign or widely used site (a reference)", names
    )
