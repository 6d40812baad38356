"""Where candidate values stand on their own in the batches of one text, and how often."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from ttpmap.models import IocType

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


def occurrences(hay: str, needle: str, ioc_type: IocType) -> list[int]:
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


@dataclass
class Found:
    """A candidate value: how often and where it stands on its own in the text."""

    ioc_type: IocType
    value: str
    count: int = 0
    first: int = -1
    located: bool = False
    batches: set[int] = field(default_factory=set)
    spots: list[tuple[int, int]] = field(default_factory=list)
    region: tuple[int, int] | None = None  # the span of the original text holding the first mention


# Paths and keys are never defanged, and refanging can damage them ("\\." becomes "."), so they are
# located in the text as written; everything else in the refanged text.
RAW_TYPES = frozenset({IocType.FILE_PATH, IocType.REGISTRY_KEY, IocType.IPV6_CIDR})


class Scan:
    """The batches of one text, as written and refanged, and the values found in them."""

    def __init__(self) -> None:
        self.raw: list[str] = []
        self.fanged: list[str] = []
        self._lower: dict[tuple[int, bool], str] = {}
        self.offsets: list[int] = []
        self.found: dict[tuple[IocType, str], Found] = {}
        self._size = 0
        # per batch: where each piece starts in the raw and in the refanged batch text, and the span of
        # the original text it came from (refanging changes lengths, so positions map piece by piece)
        self._starts: list[tuple[list[int], list[int]]] = []
        self._regions: list[list[tuple[int, int]]] = []

    def add_batch(self, raw: list[str], fanged: list[str], regions: list[tuple[int, int]]) -> int:
        """Add the pieces of one batch (as written, refanged, and their spans in the original text)."""
        raw_text, fanged_text = "\n\n".join(raw), "\n\n".join(fanged)
        self.raw.append(raw_text)
        self.fanged.append(fanged_text)
        self.offsets.append(self._size)
        self._size += max(len(raw_text), len(fanged_text)) + 2
        self._starts.append((_starts(raw), _starts(fanged)))
        self._regions.append(regions)
        return len(self.raw) - 1

    def region(self, batch: int, pos: int, raw: bool) -> tuple[int, int]:
        """The span of the original text whose piece holds position ``pos`` of a batch text."""
        starts = self._starts[batch][0 if raw else 1]
        return self._regions[batch][max(0, bisect.bisect_right(starts, pos) - 1)]

    def lower(self, batch: int, raw: bool) -> str:
        key = (batch, raw)
        if key not in self._lower:
            self._lower[key] = (self.raw if raw else self.fanged)[batch].lower()
        return self._lower[key]

    def record(self, batch: int, ioc_type: IocType, value: str) -> None:
        key = (ioc_type, value)
        item = self.found.get(key)
        if item is None:
            item = self.found[key] = Found(ioc_type, value)
        if batch in item.batches:
            return
        item.batches.add(batch)
        needle = value.lower()
        use_raw = ioc_type in RAW_TYPES
        hits = occurrences(self.lower(batch, use_raw), needle, ioc_type)
        if not hits and not use_raw:
            use_raw = True
            hits = occurrences(self.lower(batch, True), needle, ioc_type)
        if hits:
            item.located = True
            item.count += len(hits)
            pos = self.offsets[batch] + hits[0]
            if item.first < 0 or pos < item.first:
                item.first, item.region = pos, self.region(batch, hits[0], use_raw)
            if ioc_type == "domain" and not use_raw:
                item.spots.extend((batch, h) for h in hits)
        else:
            # seen by ioc-finder but not as a standalone string (inside a longer token, or altered by
            # refanging): counted once, and placed after the located ones
            item.count = max(item.count, 1)
            if item.first < 0:
                item.first = self.offsets[batch] + len(self.raw[batch])
                regions = self._regions[batch]
                item.region = (regions[0][0], regions[-1][1])

    def around(self, batch: int, pos: int, width: int = 60) -> tuple[str, str]:
        text = self.fanged[batch]
        return text[max(0, pos - width) : pos], text[pos : pos + width]


def _starts(pieces: list[str]) -> list[int]:
    out, pos = [], 0
    for p in pieces:
        out.append(pos)
        pos += len(p) + 2
    return out
