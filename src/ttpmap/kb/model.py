"""Plain, immutable records of the ATT&CK objects ttpmap uses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Tactic:
    id: str
    name: str
    shortname: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Technique:
    id: str
    name: str
    tactics: tuple[str, ...]
    platforms: tuple[str, ...] = ()
    description: str = ""
    detection: str = ""
    parent: str | None = None
    url: str = ""

    @property
    def is_subtechnique(self) -> bool:
        return self.parent is not None


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Software:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    description: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    first_seen: str = ""
    last_seen: str = ""
    attributed_to: tuple[str, ...] = ()
    url: str = ""


@dataclass(frozen=True, slots=True)
class Mitigation:
    id: str
    name: str
    description: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class DataComponent:
    id: str
    name: str
    data_source: str = ""
    description: str = ""
    log_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Procedure:
    """A ``uses`` relationship: how ``source_id`` (G/S/C) used ``target_id`` (a technique or software).

    ``text`` is the relationship description with citations removed and links turned to plain names;
    ``mentions`` are the (start, end) spans in ``text`` of the actor, software and campaign names, so
    that a model can mask them.
    """

    source_id: str
    target_id: str
    text: str
    mentions: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Link:
    """A typed relation between two ATT&CK IDs with its own description (mitigates, detects)."""

    source_id: str
    target_id: str
    text: str = ""


@dataclass(frozen=True)
class BundleInfo:
    """Where a bundle came from and what it holds."""

    source: str
    domain: str
    version: str
    sha256: str
    spec_version: str
    counts: dict[str, int] = field(default_factory=dict)
