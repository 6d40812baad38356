"""Where software comes from: bespoke, commodity, sold as a service, open-source or red-team, remote-admin
or tunnelling service, or an operating-system utility.

Sharing a bespoke malware family with a group is strong evidence; sharing Cobalt Strike, Remcos or a
ransomware-as-a-service payload is weak, however few groups ATT&CK links it to. The classes come from a
curated list (``data/software_provenance.json``), then from cue phrases in the ATT&CK description, then
from :func:`ttpmap.attribute.profiles.is_system_utility`; anything else is bespoke.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType

from ttpmap.kb import KnowledgeBase

BESPOKE = "bespoke"
OS_UTILITY = "os-utility"


@dataclass(frozen=True)
class ProvenanceLexicon:
    """Class weights, curated class of each listed software name, and description cues."""

    weights: Mapping[str, float]
    by_name: Mapping[str, str]
    cues: tuple[tuple[str, re.Pattern[str]], ...]


@lru_cache(maxsize=1)
def load_provenance() -> ProvenanceLexicon:
    """The curated provenance list shipped in ``data/software_provenance.json`` (constant data)."""
    raw = json.loads(
        resources.files("ttpmap").joinpath("data", "software_provenance.json").read_text(encoding="utf-8")
    )
    by_name: dict[str, str] = {}
    for cls, names in raw["classes"].items():
        for n in names:
            by_name.setdefault(n.strip().lower(), cls)
    cues = tuple((cls, re.compile(p, re.IGNORECASE)) for cls, p in raw["description_cues"].items())
    return ProvenanceLexicon(MappingProxyType(dict(raw["weights"])), MappingProxyType(by_name), cues)


def classify_software(kb: KnowledgeBase, utilities: Iterable[str] = ()) -> dict[str, str]:
    """The provenance class of every KB software item (``utilities``: IDs already known as OS utilities)."""
    lex = load_provenance()
    utils = set(utilities)
    out: dict[str, str] = {}
    for sid, sw in kb.software.items():
        listed = next(
            (lex.by_name[n.lower()] for n in (sw.name, *sw.aliases) if n.lower() in lex.by_name), None
        )
        if listed is None and sid in utils:
            listed = OS_UTILITY
        if listed is None:
            text = re.sub(r"\(Citation:[^)]*\)", "", sw.description)
            listed = next((cls for cls, p in lex.cues if p.search(text)), BESPOKE)
        out[sid] = listed
    return out


def provenance_weight(cls: str) -> float:
    """How much sharing software of this class counts (bespoke = 1)."""
    return float(load_provenance().weights.get(cls, 1.0))
