"""World knowledge beyond ATT&CK: the MISP galaxies shipped as JSON inside the ``pymispgalaxies`` wheel.

Threat actors come with cross-vendor synonyms (Microsoft's weather names, CrowdStrike's animals,
Mandiant's UNC numbers...), a country and a suspected state sponsor, suspected victims and target
categories; malware families (Malpedia) and tools come with synonyms. The galaxy files are read from
the installed package's directory (its own code is not run); an actor is tied to an ATT&CK group by an
``attack.mitre.org/groups`` reference or by a shared name, and a known actor that is not an ATT&CK
group is a real outcome that callers report as such.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ttpmap.errors import KnowledgeBaseError
from ttpmap.kb.store import KnowledgeBase

_CLUSTERS = ("data", "misp-galaxy", "clusters")
_GROUP_REF = re.compile(r"attack\.mitre\.org/groups/(G\d{4})", re.IGNORECASE)
# the galaxy writes countries as ISO codes; the ones threat actors are attributed to
_COUNTRY_CODES = {
    "CN": "China",
    "RU": "Russia",
    "IR": "Iran",
    "KP": "North Korea",
    "KR": "South Korea",
    "IN": "India",
    "PK": "Pakistan",
    "VN": "Vietnam",
    "US": "United States",
    "IL": "Israel",
    "LB": "Lebanon",
    "PS": "Palestine",
    "TR": "Turkey",
    "AE": "United Arab Emirates",
    "UA": "Ukraine",
    "BY": "Belarus",
    "SY": "Syria",
    "GB": "United Kingdom",
    "FR": "France",
    "ES": "Spain",
    "KZ": "Kazakhstan",
    "NG": "Nigeria",
    "BR": "Brazil",
    "ID": "Indonesia",
    "TW": "Taiwan",
    "SA": "Saudi Arabia",
    "IQ": "Iraq",
    "EG": "Egypt",
}
_SPONSOR_COUNTRY = {"people's republic of china": "China", "russian federation": "Russia"}


@dataclass(frozen=True)
class GalaxyActor:
    """One threat actor of the MISP galaxy, tied to an ATT&CK group when one matches."""

    name: str
    synonyms: tuple[str, ...]
    country: str | None = None
    sponsor: str | None = None
    victims: tuple[str, ...] = ()
    target_categories: tuple[str, ...] = ()
    attack_group: str | None = None
    description: str = ""

    def victimology_text(self) -> str:
        """The actor's description, target categories and suspected victims as prose, for victimology
        mining (a prior on whom the actor targets)."""
        parts = [self.description]
        if self.target_categories:
            parts.append("Targets: " + ", ".join(self.target_categories) + ".")
        if self.victims:
            parts.append("Suspected victims: " + ", ".join(self.victims) + ".")
        return "\n".join(p for p in parts if p)

    @property
    def names(self) -> tuple[str, ...]:
        """The actor's name followed by its synonyms."""
        return (self.name, *self.synonyms)


@dataclass(frozen=True)
class Galaxy:
    """Threat actors and malware/tool names from the MISP galaxies, indexed by lower-case name."""

    actors: tuple[GalaxyActor, ...]
    malware_names: frozenset[str]
    tool_names: frozenset[str]
    _by_name: Mapping[str, GalaxyActor] = field(default_factory=dict, repr=False)

    def actor(self, name: str) -> GalaxyActor | None:
        """The actor one of whose names is ``name`` (case-insensitive), if any."""
        return self._by_name.get(name.strip().lower())

    def group_actors(self, group_id: str) -> list[GalaxyActor]:
        """The galaxy actors tied to an ATT&CK group."""
        return [a for a in self.actors if a.attack_group == group_id]

    def group_country(self, group_id: str) -> str | None:
        """The country the galaxy attributes an ATT&CK group to, if it knows it."""
        for a in self.actors:
            if a.attack_group == group_id and a.country:
                return a.country
        return None


def _galaxy_dir() -> Path:
    # find_spec locates the package without running its __init__ (which imports an HTTP client stack)
    spec = importlib.util.find_spec("pymispgalaxies")
    if spec is None or not spec.submodule_search_locations:
        raise KnowledgeBaseError("the MISP galaxies are missing: install the 'pymispgalaxies' package")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*_CLUSTERS)


def _read_cluster(name: str) -> list[dict]:
    path = _galaxy_dir() / f"{name}.json"
    return list(json.loads(path.read_text(encoding="utf-8")).get("values", ()))


def _country(meta: Mapping[str, object]) -> str | None:
    code = meta.get("country")
    if isinstance(code, str) and code.upper() in _COUNTRY_CODES:
        return _COUNTRY_CODES[code.upper()]
    sponsor = meta.get("cfr-suspected-state-sponsor")
    if isinstance(sponsor, str):
        return _SPONSOR_COUNTRY.get(sponsor.strip().lower(), sponsor.strip() or None)
    return None


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return ()


def load_galaxy(kb: KnowledgeBase | None = None) -> Galaxy:
    """Actors, malware and tool names from the installed MISP galaxies; actors tied to ``kb``'s groups.

    The galaxies ship with the ``pymispgalaxies`` dependency, so nothing is downloaded.
    """
    by_group_name: dict[str, str] = {}
    if kb is not None:
        for gid, g in kb.groups.items():
            for n in (g.name, *g.aliases):
                by_group_name.setdefault(n.strip().lower(), gid)
    actors: list[GalaxyActor] = []
    for raw in _read_cluster("threat-actor"):
        meta = raw.get("meta", {}) or {}
        name = str(raw.get("value", "")).strip()
        if not name:
            continue
        synonyms = tuple(s for s in _strings(meta.get("synonyms", ())) if s.lower() != name.lower())
        group = None
        if kb is not None:
            for ref in _strings(meta.get("refs", ())):
                hit = _GROUP_REF.search(ref)
                if hit and (rid := kb.resolve(hit.group(1))) in kb.groups:
                    group = rid
                    break
            if group is None:
                group = next(
                    (by_group_name[n.lower()] for n in (name, *synonyms) if n.lower() in by_group_name), None
                )
        actors.append(
            GalaxyActor(
                name=name,
                synonyms=synonyms,
                country=_country(meta),
                sponsor=(
                    str(meta["cfr-suspected-state-sponsor"])
                    if meta.get("cfr-suspected-state-sponsor")
                    else None
                ),
                victims=_strings(meta.get("cfr-suspected-victims", ())),
                target_categories=_strings(meta.get("cfr-target-category", ())),
                attack_group=group,
                description=str(raw.get("description", "") or ""),
            )
        )
    by_name: dict[str, GalaxyActor] = {}
    # ATT&CK-tied actors first, so a synonym shared with an untied entry resolves to the group
    for a in sorted(actors, key=lambda a: a.attack_group is None):
        for n in a.names:
            by_name.setdefault(n.strip().lower(), a)
    malware = {
        n
        for raw in _read_cluster("malpedia")
        for n in (str(raw.get("value", "")), *_strings((raw.get("meta") or {}).get("synonyms", ())))
        if n.strip()
    }
    tools = {
        n
        for raw in _read_cluster("tool")
        for n in (str(raw.get("value", "")), *_strings((raw.get("meta") or {}).get("synonyms", ())))
        if n.strip()
    }
    return Galaxy(tuple(actors), frozenset(malware), frozenset(tools), MappingProxyType(by_name))
