"""The in-memory ATT&CK knowledge base and its queries."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from itertools import chain, starmap
from typing import Any

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


# The index cache stores each record as a row of its field values (plain JSON: strings, lists, null,
# integers). Rows are checked a column at a time against the dataclass annotations, so that the type
# checks over whole columns run in C, then passed to the record classes.
_RECORD_TABLES: dict[str, type] = {
    "techniques": Technique,
    "groups": Group,
    "software": Software,
    "campaigns": Campaign,
    "mitigations": Mitigation,
    "data_components": DataComponent,
}
_RECORD_LISTS: dict[str, type] = {
    "tactics": Tactic,
    "procedures": Procedure,
    "mitigates": Link,
    "detects": Link,
}


class IndexFormatError(ValueError):
    """Rows that do not have the shape of the records they claim to hold."""


def _only(values: Iterable[Any], *types: type, what: str) -> None:
    if not set(map(type, values)) <= set(types):
        raise IndexFormatError(f"expected {what}")


def _text_column(column: Sequence[Any]) -> Sequence[str]:
    _only(column, str, what="strings")
    return column


def _optional_text_column(column: Sequence[Any]) -> Sequence[str | None]:
    _only(column, str, type(None), what="strings or null")
    return column


def _texts_column(column: Sequence[Any]) -> list[tuple[str, ...]]:
    _only(column, list, what="lists of strings")
    _only(chain.from_iterable(column), str, what="lists of strings")
    return list(map(tuple, column))


def _spans_column(column: Sequence[Any]) -> list[tuple[tuple[int, int], ...]]:
    _only(column, list, what="lists of spans")
    spans = list(chain.from_iterable(column))
    _only(spans, list, what="[start, end] spans")
    if not set(map(len, spans)) <= {2}:
        raise IndexFormatError("expected [start, end] spans")
    _only(chain.from_iterable(spans), int, what="integer span offsets")
    return [tuple(map(tuple, row)) for row in column]


# field annotation (as written in kb/model.py) -> check and convert one column of JSON values
_COLUMN_DECODERS: dict[str, Callable[[Sequence[Any]], Sequence[Any]]] = {
    "str": _text_column,
    "str | None": _optional_text_column,
    "tuple[str, ...]": _texts_column,
    "tuple[tuple[int, int], ...]": _spans_column,
}


def _columns(cls: type) -> list[tuple[str, Callable[[Sequence[Any]], Sequence[Any]]]]:
    """Field names of a record class, in order, with the decoder of each field's annotated type."""
    return [(f.name, _COLUMN_DECODERS[str(f.type)]) for f in fields(cls)]


def _rows(cls: type, records: Iterable[object]) -> list[list[Any]]:
    names = [name for name, _ in _columns(cls)]
    return [[getattr(r, n) for n in names] for r in records]


def _records(cls: type, rows: Any) -> list[Any]:
    """Records rebuilt from rows, each value checked; IndexFormatError on any mismatch."""
    columns = _columns(cls)
    if type(rows) is not list:
        raise IndexFormatError(f"expected a list of {cls.__name__} rows")
    _only(rows, list, what=f"{cls.__name__} rows as lists")
    if not set(map(len, rows)) <= {len(columns)}:
        raise IndexFormatError(f"expected {len(columns)} values in each {cls.__name__} row")
    if not rows:
        return []
    values = [decode(column) for (_, decode), column in zip(columns, zip(*rows, strict=True), strict=True)]
    return list(starmap(cls, zip(*values, strict=True)))


def _text(value: Any) -> str:
    if type(value) is not str:
        raise IndexFormatError(f"expected a string, got {type(value).__name__}")
    return value


def _info(data: Any) -> BundleInfo:
    if type(data) is not dict:
        raise IndexFormatError("expected the bundle info as an object")
    try:
        texts = {
            name: _text(data[name]) for name in ("source", "domain", "version", "sha256", "spec_version")
        }
        counts = data["counts"]
    except KeyError as exc:
        raise IndexFormatError(f"bundle info lacks {exc}") from None
    if type(counts) is not dict or not all(type(v) is int for v in counts.values()):
        raise IndexFormatError("expected counts as an object of integers")
    return BundleInfo(**texts, counts=counts)


def _id_map(data: Any) -> dict[str, str]:
    if type(data) is not dict or not all(type(v) is str for v in data.values()):
        raise IndexFormatError("expected an object of strings")
    return data


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

    def to_data(self) -> dict[str, Any]:
        """Everything the KB holds as plain JSON-ready values (the index cache's payload)."""
        data: dict[str, Any] = {"info": asdict(self.info)}
        for key, cls in _RECORD_TABLES.items():
            data[key] = _rows(cls, getattr(self, key).values())  # keyed by each record's own ID
        for key, cls in _RECORD_LISTS.items():
            data[key] = _rows(cls, getattr(self, key))
        data["revoked"] = dict(self.revoked)
        data["deprecated"] = sorted(self.deprecated)
        return data

    @classmethod
    def from_data(cls, data: Any) -> KnowledgeBase:
        """The KB that :meth:`to_data` described; IndexFormatError if any part has the wrong shape."""
        if type(data) is not dict:
            raise IndexFormatError("expected an object")
        try:
            parts: dict[str, Any] = {
                key: {r.id: r for r in _records(record, data[key])} for key, record in _RECORD_TABLES.items()
            }
            parts.update((key, _records(record, data[key])) for key, record in _RECORD_LISTS.items())
            revoked, deprecated = _id_map(data["revoked"]), _text_column(data["deprecated"])
            info = _info(data["info"])
        except (KeyError, TypeError) as exc:
            raise IndexFormatError(f"missing or malformed part: {exc}") from None
        return cls(info=info, **parts, revoked=revoked, deprecated=set(deprecated))

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
