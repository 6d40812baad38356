"""Domain types that flow through the pipeline: Document, Findings and the Analysis contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA = "ttpmap.analysis/1"


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a document's clean text; ``text == document.text[start:end]``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Document:
    """An ingested report: clean text plus where it came from."""

    text: str
    title: str
    source: str
    sha256: str
    media_type: str
    sentences: tuple[Sentence, ...]
    metadata: dict[str, Any] = field(default_factory=dict)


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Evidence(_Model):
    """A span of the document that supports a technique."""

    text: str
    start: int
    end: int
    score: float


class TechniqueResult(_Model):
    """A technique the report describes, with its score and supporting evidence."""

    id: str
    name: str
    tactics: list[str] = Field(default_factory=list)
    score: float
    evidence: list[Evidence] = Field(default_factory=list)
    origin: str = "text"


class Indicator(_Model):
    """An indicator of compromise, refanged in ``value`` and defanged in ``defanged``."""

    type: str
    value: str
    defanged: str


class EntityRef(_Model):
    """A KB object (group, software, campaign) named in the text."""

    id: str
    name: str
    mention: str
    start: int | None = None
    end: int | None = None
    count: int = 1


class CVERef(_Model):
    """A CVE identifier found in the text."""

    id: str
    count: int = 1


class Entities(_Model):
    groups: list[EntityRef] = Field(default_factory=list)
    software: list[EntityRef] = Field(default_factory=list)
    campaigns: list[EntityRef] = Field(default_factory=list)
    cves: list[CVERef] = Field(default_factory=list)


class GroupCandidate(_Model):
    """A threat group whose tradecraft is consistent with the report."""

    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    score: float
    confidence: Literal["low", "moderate", "high"]
    named_in_text: bool = False
    explanation: dict[str, Any] = Field(default_factory=dict)


class CampaignCandidate(_Model):
    id: str
    name: str
    score: float
    attributed_to: list[str] = Field(default_factory=list)
    shared_techniques: list[str] = Field(default_factory=list)
    shared_software: list[str] = Field(default_factory=list)


class MitigationResult(_Model):
    """A mitigation ranked by the weighted share of observed techniques it covers."""

    id: str
    name: str
    covers: list[str]
    score: float
    advice: dict[str, str] = Field(default_factory=dict)


class DetectionResult(_Model):
    """A data component that would observe some of the techniques."""

    id: str
    name: str
    data_source: str = ""
    covers: list[str]
    score: float
    log_sources: list[str] = Field(default_factory=list)


class DocumentInfo(_Model):
    title: str
    source: str
    sha256: str
    chars: int
    sentences: int
    media_type: str = ""


class AttackInfo(_Model):
    domain: str
    version: str


class Analysis(_Model):
    """The result of analysing one report; its JSON form is the stable contract in DESIGN.md."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    document: DocumentInfo
    attack: AttackInfo
    techniques: list[TechniqueResult] = Field(default_factory=list)
    iocs: list[Indicator] = Field(default_factory=list)
    entities: Entities = Field(default_factory=Entities)
    attribution: list[GroupCandidate] = Field(default_factory=list)
    campaigns: list[CampaignCandidate] = Field(default_factory=list)
    mitigations: list[MitigationResult] = Field(default_factory=list)
    detections: list[DetectionResult] = Field(default_factory=list)
    generated_by: str = ""
    created: str = ""
    notes: list[str] = Field(default_factory=list)
    """What a reader of the results must know: indicators left out past a cap, text lost on reading."""
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json(self, indent: int | None = 2) -> str:
        """Serialise with the contract's key names."""
        return self.model_dump_json(by_alias=True, indent=indent, exclude_none=False)


@dataclass
class Findings:
    """What extraction found in a Document, before attribution and defence."""

    document: Document
    techniques: list[TechniqueResult] = field(default_factory=list)
    iocs: list[Indicator] = field(default_factory=list)
    entities: Entities = field(default_factory=Entities)
    candidates: list[TechniqueResult] = field(default_factory=list)
