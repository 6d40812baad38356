"""The in-memory ATT&CK knowledge base and its queries."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from ttpmap.kb.model import (
    BundleInfo,
    Campaign,
    DataComponent,
    Group,
    Link,
    Mitigation,
    Procedure,
    Software,
    Tactic,
    Technique,
)

KBObject = Tactic | Technique | Group | Software | Campaign | Mitigation | DataComponent

_ID_RE = re.compile(r"^(TA\d{4}|T\d{4}(?:\.\d{3})?|G\d{4}|S\d{4}|M\d{4}|C\d{4}|DC\d{4})$", re.IGNORECASE)


def _norm(attack_id: str) -> str:
    key = attack_id.strip()
    return key.upper() if _ID_RE.match(key) else key


@dataclass
class KnowledgeBase:
    """Active ATT&CK objects by ID, their relations, and the revoked/deprecated bookkeeping.

    Revoked and deprecated objects never appear in the object maps; ``revoked`` maps an old ID to its
    replacement so that inputs and labels using it can be translated.
    """

    info: BundleInfo
    tactics: list[Tactic] = field(default_factory=list)
    techniques: dict[str, Technique] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    software: dict[str, Software] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    mitigations: dict[str, Mitigation] = field(default_factory=dict)
    data_components: dict[str, DataComponent] = field(default_factory=dict)
    procedures: list[Procedure] = field(default_factory=list)
    mitigates: list[Link] = field(default_factory=list)
    detects: list[Link] = field(default_factory=list)
    revoked: dict[str, str] = field(default_factory=dict)
    deprecated: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._build_indexes()

    def _build_indexes(self) -> None:
        self._tactic_by_short = {t.shortname: t for t in self.tactics}
        self._tactic_by_id = {t.id: t for t in self.tactics}
        uses: dict[str, list[Procedure]] = defaultdict(list)
        used_by: dict[str, list[Procedure]] = defaultdict(list)
        for p in self.procedures:
            uses[p.source_id].append(p)
            used_by[p.target_id].append(p)
        self._uses = dict(uses)
        self._used_by = dict(used_by)
        mit: dict[str, list[Link]] = defaultdict(list)
        for link in self.mitigates:
            mit[link.target_id].append(link)
        self._mitigations_for = dict(mit)
        det: dict[str, list[Link]] = defaultdict(list)
        for link in self.detects:
            det[link.target_id].append(link)
        self._detections_for = dict(det)
        children: dict[str, list[str]] = defaultdict(list)
        for t in self.techniques.values():
            if t.parent:
                children[t.parent].append(t.id)
        self._children = {k: sorted(v) for k, v in children.items()}

    # ---- lookups -------------------------------------------------------------------------------
    @property
    def domain(self) -> str:
        return self.info.domain

    @property
    def version(self) -> str:
        return self.info.version

    def resolve(self, attack_id: str) -> str | None:
        """Normalise an ATT&CK ID, follow ``revoked-by`` chains; None if unknown or deprecated."""
        key = _norm(attack_id)
        seen = set()
        while key in self.revoked and key not in seen:
            seen.add(key)
            key = self.revoked[key]
        if key in self.deprecated:
            return None
        return key if self.get(key, resolve=False) is not None else None

    def get(self, attack_id: str, *, resolve: bool = True) -> KBObject | None:
        """The active object with this ID (revoked IDs resolve to their replacement)."""
        key = _norm(attack_id)
        if resolve:
            resolved = self.resolve(key)
            if resolved is None:
                return None
            key = resolved
        for table in (
            self.techniques,
            self.groups,
            self.software,
            self.campaigns,
            self.mitigations,
            self.data_components,
        ):
            if key in table:
                return table[key]
        return self._tactic_by_id.get(key)

    def tactic(self, key: str) -> Tactic | None:
        """A tactic by TA ID or shortname."""
        return self._tactic_by_id.get(key.upper()) or self._tactic_by_short.get(key)

    def tactic_names(self, technique: Technique) -> list[str]:
        """Display names of a technique's tactics, in matrix order."""
        return [self._tactic_by_short[s].name for s in technique.tactics if s in self._tactic_by_short]

    def subtechniques(self, technique_id: str) -> list[str]:
        return self._children.get(technique_id, [])

    def parent_of(self, technique_id: str) -> str:
        """The parent technique ID of a sub-technique (the ID itself for a technique)."""
        return technique_id.split(".", 1)[0]

    def uses(self, source_id: str) -> list[Procedure]:
        """Procedures whose source is this group, software or campaign."""
        return self._uses.get(source_id, [])

    def used_by(self, target_id: str) -> list[Procedure]:
        """Procedures whose target is this technique or software."""
        return self._used_by.get(target_id, [])

    def mitigations_for(self, technique_id: str) -> list[Link]:
        return self._mitigations_for.get(technique_id, [])

    def detections_for(self, technique_id: str) -> list[Link]:
        return self._detections_for.get(technique_id, [])

    def is_attack_id(self, text: str) -> bool:
        return bool(_ID_RE.match(text.strip()))

    def search(self, query: str, limit: int = 20) -> list[KBObject]:
        """Objects whose ID, name or alias matches the query best, then description matches."""
        q = query.strip().lower()
        if not q:
            return []
        if self.is_attack_id(q):
            obj = self.get(q)
            return [obj] if obj else []
        scored: list[tuple[int, str, KBObject]] = []
        tables = (
            self.techniques,
            self.groups,
            self.software,
            self.campaigns,
            self.mitigations,
            self.data_components,
        )
        for table in tables:
            for obj in table.values():
                names = [obj.name.lower(), *(a.lower() for a in getattr(obj, "aliases", ()))]
                if q in names:
                    rank = 0
                elif any(n.startswith(q) for n in names):
                    rank = 1
                elif any(q in n for n in names):
                    rank = 2
                elif q in getattr(obj, "description", "").lower():
                    rank = 3
                else:
                    continue
                scored.append((rank, obj.id, obj))
        scored.sort(key=lambda x: (x[0], x[1]))
        return [obj for _, _, obj in scored[:limit]]
