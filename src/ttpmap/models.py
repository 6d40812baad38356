"""Domain types that flow through the pipeline: Document, Findings and the Analysis contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
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


class IocType(StrEnum):
    """The one vocabulary of indicator types, shared by extraction and every export."""

    IPV4 = "ipv4"
    IPV4_CIDR = "ipv4_cidr"
    IPV6 = "ipv6"
    IPV6_CIDR = "ipv6_cidr"
    SOCKET_ADDRESS = "socket_address"
    DOMAIN = "domain"
    URL = "url"
    EMAIL = "email"
    XMPP_ADDRESS = "xmpp_address"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"
    IMPHASH = "imphash"
    AUTHENTIHASH = "authentihash"
    SSDEEP = "ssdeep"
    CVE = "cve"
    REGISTRY_KEY = "registry_key"
    FILE_PATH = "file_path"
    FILENAME = "filename"
    ASN = "asn"
    MAC_ADDRESS = "mac_address"
    USER_AGENT = "user_agent"
    BITCOIN_ADDRESS = "bitcoin_address"
    MONERO_ADDRESS = "monero_address"
    GOOGLE_ANALYTICS_ID = "google_analytics_id"
    GOOGLE_ADSENSE_ID = "google_adsense_id"


class Disposition(StrEnum):
    """What an indicator is to a defender; only ``actor`` values become STIX indicators / MISP to_ids."""

    ACTOR = "actor"  # the actor's infrastructure or artefact
    BENIGN = "benign"  # known-benign or shared infrastructure (warning-listed, system file)
    ABUSED_SERVICE = "abused-service"  # a legitimate service the actor used: the bare name is no IOC
    PRIVATE = "private"  # private, loopback, reserved or documentation address
    NOT_IOC = "not-ioc"  # version number, example value, the victim's own asset, a CVE


class IocRole(StrEnum):
    """What an indicator did in the intrusion, from the sentence or table row it appears in."""

    C2 = "c2"
    DOWNLOAD = "download"  # download or staging
    EXFILTRATION = "exfiltration"
    PHISHING = "phishing"  # phishing sender or lure
    SCANNER = "scanner"  # scanning or brute-force source
    VICTIM = "victim"
    TOOL_FILE = "tool-file"
    SYSTEM_FILE = "system-file"


class IocEvidence(_Model):
    """Where an indicator is first mentioned: the sentence (or table row) and its offsets."""

    text: str
    start: int
    end: int
    context: dict[str, str] = Field(default_factory=dict)  # other columns of an IOC-table row


class Indicator(_Model):
    """An indicator of compromise, refanged in ``value`` and defanged in ``defanged``, with what it is
    to a defender (``disposition``, ``reason``), what it did (``role``) and where the report says so."""

    type: IocType
    value: str
    defanged: str
    count: int = 1
    private: bool = False  # not globally routable (IP types only)
    disposition: Disposition = Disposition.ACTOR
    role: IocRole | None = None
    reason: str = ""
    warninglists: list[str] = Field(default_factory=list)  # names of the MISP warning lists it hits
    evidence: IocEvidence | None = None

    @property
    def actionable(self) -> bool:
        """Whether defenders should block or alert on it (exports make it an indicator / to_ids)."""
        return self.disposition is Disposition.ACTOR


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
