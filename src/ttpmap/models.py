"""Domain types that flow through the pipeline: Document, Findings and the Analysis contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ttpmap.errors import SchemaError

SCHEMA: Final = "ttpmap.analysis/1"
ATTRIBUTION_SCHEMA: Final = "ttpmap.attribution/1"
MITIGATION_SCHEMA: Final = "ttpmap.mitigation/1"


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
    """Output models: every field declared (unknown keys are errors) and immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)


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
    count: int | None = Field(default=None, description="Times the ID is written in the text (explicit IDs).")
    original_id: str | None = Field(default=None, description="The revoked ID the text wrote, if any.")


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
    """KB objects and CVEs named in the text."""

    groups: list[EntityRef] = Field(default_factory=list)
    software: list[EntityRef] = Field(default_factory=list)
    campaigns: list[EntityRef] = Field(default_factory=list)
    cves: list[CVERef] = Field(default_factory=list)


class Victimology(_Model):
    """Who a report says was targeted: mention counts of sectors, countries and regions, and the actor's
    stated origin (a country of origin is never also counted as a victim)."""

    sectors: dict[str, int] = Field(default_factory=dict)
    countries: dict[str, int] = Field(default_factory=dict)
    regions: dict[str, int] = Field(default_factory=dict)
    origin: dict[str, int] = Field(default_factory=dict)


StatedRole = Literal["responsible", "alias", "parent-or-sub-group", "overlapping", "compared", "mentioned"]


class StatedGroup(_Model):
    """A threat group the report itself names, with the role the report gives it and where it says so.

    ``id`` is the ATT&CK group when the name resolves to one (directly or through a MISP galaxy
    synonym); ``galaxy_actor`` names the MISP galaxy actor; a known actor with no ATT&CK group has
    ``id`` None and ``in_attack`` False.
    """

    name: str
    role: StatedRole
    id: str | None = None
    attack_name: str | None = None
    galaxy_actor: str | None = None
    in_attack: bool = False
    country: str | None = None
    sentence: str = ""
    start: int = 0
    end: int = 0
    count: int = 1


class StatedAttribution(_Model):
    """What the report says about the actor, kept apart from ttpmap's behavioural ranking."""

    groups: list[StatedGroup] = Field(default_factory=list)
    nationality: list[str] = Field(default_factory=list)
    sponsor: str | None = None
    motivation: list[str] = Field(default_factory=list)
    active_since: int | None = None
    confidence: Literal["low", "moderate", "high"] | None = None
    """The confidence the report itself states for its attribution ("we assess with moderate ...")."""

    @property
    def responsible(self) -> list[StatedGroup]:
        """The groups the report holds responsible, most mentioned first."""
        return [g for g in self.groups if g.role == "responsible"]


class TechniqueRef(_Model):
    """A technique the report and a group share, weighted by how much it says about the group."""

    id: str
    name: str
    weight: float
    groups_using: int
    via: list[str] = Field(default_factory=list)
    """Where the group's record of it comes from: "group", "campaign C…" or "software S…"."""


class RelatedTechnique(_Model):
    """An observed sub-technique whose parent the group is recorded using through other variants."""

    id: str
    name: str
    group_uses: list[str] = Field(default_factory=list)


class SoftwareRef(_Model):
    """Software the report and a group share."""

    id: str
    name: str
    groups_using: int
    system_utility: bool = False


class AbsentTechnique(_Model):
    """A technique characteristic of the group that the report does not show."""

    id: str
    name: str
    groups_using: int


class VictimologyOverlap(_Model):
    """Targeting the report and the group's record have in common."""

    sectors: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    origin: list[str] = Field(default_factory=list)


class ClosestActivity(_Model):
    """The group's recorded activity (its own procedures or a campaign) most like the report."""

    id: str
    name: str
    similarity: float


class Coverage(_Model):
    """Observed techniques matched by the group's profile, out of those observed and those profiled."""

    matched: int = 0
    observed: int = 0
    profile: int = 0


class NationalityCheck(_Model):
    """How a group's known country compares with the nationality the report states."""

    stated: list[str]
    group: str
    consistent: bool


class Explanation(_Model):
    """Why a group is a candidate: shared and distinctive evidence, what is missing, and a summary."""

    behavioural_rank: int = 0
    probability: float = 0.0
    shared_techniques: list[TechniqueRef] = Field(default_factory=list)
    distinctive_techniques: list[str] = Field(default_factory=list)
    related_techniques: list[RelatedTechnique] = Field(default_factory=list)
    shared_software: list[SoftwareRef] = Field(default_factory=list)
    shared_cves: list[str] = Field(default_factory=list)
    victimology_overlap: VictimologyOverlap = Field(default_factory=VictimologyOverlap)
    expected_not_observed: list[AbsentTechnique] = Field(default_factory=list)
    closest_activity: ClosestActivity | None = None
    coverage: Coverage = Field(default_factory=Coverage)
    score_components: dict[str, float] = Field(default_factory=dict)
    weak_evidence: bool = False
    summary: str = ""
    named_claim: str | None = None
    """Set when the report names the group: whether its behaviour corroborates the claim."""
    nationality_check: NationalityCheck | None = None
    gated_groups: int = 0
    """Groups set aside because their known country contradicts the stated nationality."""
    groups_ranked: int = 0
    gated_rank: int | None = None
    """Rank among the groups left after the nationality gate (None when nothing was gated)."""


class GroupCandidate(_Model):
    """A threat group whose tradecraft is consistent with the report."""

    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    score: float
    confidence: Literal["low", "moderate", "high"]
    named_in_text: bool = False
    explanation: Explanation = Field(default_factory=Explanation)


class CampaignCandidate(_Model):
    """A known ATT&CK campaign whose techniques and software resemble the report."""

    id: str
    name: str
    score: float
    attributed_to: list[str] = Field(default_factory=list)
    shared_techniques: list[str] = Field(default_factory=list)
    shared_software: list[str] = Field(default_factory=list)


_COVERAGE = "Cumulative share of the technique weight covered once this pick is made."
_WEIGHT_SHARE = "Share of the technique weight it covers on its own."
_LAYER = "1 in the first full cover of the techniques, 2 in the next (defence in depth), ..."


class MitigationResult(_Model):
    """A mitigation ranked by the weighted share of observed techniques it covers."""

    id: str
    name: str
    covers: list[str]
    score: float
    coverage: float = Field(default=0.0, description=_COVERAGE)
    weight_share: float = Field(default=0.0, description=_WEIGHT_SHARE)
    layer: int = Field(default=1, description=_LAYER)
    url: str = ""
    advice: dict[str, str] = Field(default_factory=dict)


class DetectionResult(_Model):
    """A data component that would observe some of the techniques."""

    id: str
    name: str
    data_source: str = ""
    covers: list[str]
    score: float
    log_sources: list[str] = Field(default_factory=list)
    coverage: float = Field(default=0.0, description=_COVERAGE)
    weight_share: float = Field(default=0.0, description=_WEIGHT_SHARE)
    layer: int = Field(default=1, description=_LAYER)
    advice: dict[str, str] = Field(default_factory=dict)


class DocumentInfo(_Model):
    """Where the analysed report came from."""

    title: str
    source: str
    sha256: str
    chars: int
    sentences: int
    media_type: str = ""


class AttackInfo(_Model):
    """The ATT&CK release the analysis was mapped with."""

    domain: str
    version: str


class ReviewSummary(_Model):
    """Who reviewed an analysis in the workbench, and how many decisions they made."""

    reviews: int
    reviewers: list[str] = Field(default_factory=list)


class Analysis(_Model):
    """The result of analysing one report; its JSON form is the stable contract in DESIGN.md."""

    schema_: Literal["ttpmap.analysis/1"] = Field(default=SCHEMA, alias="schema")
    document: DocumentInfo
    attack: AttackInfo
    techniques: list[TechniqueResult] = Field(default_factory=list)
    iocs: list[Indicator] = Field(default_factory=list)
    entities: Entities = Field(default_factory=Entities)
    attribution: list[GroupCandidate] = Field(default_factory=list)
    campaigns: list[CampaignCandidate] = Field(default_factory=list)
    mitigations: list[MitigationResult] = Field(default_factory=list)
    detections: list[DetectionResult] = Field(default_factory=list)
    candidates: list[TechniqueResult] = Field(
        default_factory=list, description="Below-threshold techniques (only with --all-scores)."
    )
    victimology: Victimology = Field(default_factory=Victimology)
    stated_attribution: StatedAttribution = Field(default_factory=StatedAttribution)
    text_terms: dict[str, int] = Field(default_factory=dict)
    """Name-free term counts of the report (for procedure-text similarity), so that a saved analysis
    is attributed exactly like a fresh one."""
    generated_by: str = ""
    created: str = ""
    notes: list[str] = Field(default_factory=list)
    """What a reader of the results must know: indicators left out past a cap, text lost on reading."""
    review: ReviewSummary | None = None
    """Set when an analyst reviewed the mappings in the workbench (``ttpmap serve``)."""
    model_config = ConfigDict(populate_by_name=True)

    def to_json(self, indent: int | None = 2) -> str:
        """Serialise with the contract's key names."""
        return self.model_dump_json(by_alias=True, indent=indent, exclude_none=False)


class AttributionReport(_Model):
    """What ``ttpmap attribute -f json`` prints: what the report says about its actor, the groups ranked
    on behaviour, and the closest campaigns."""

    schema_: Literal["ttpmap.attribution/1"] = Field(default=ATTRIBUTION_SCHEMA, alias="schema")
    stated_attribution: StatedAttribution = Field(default_factory=StatedAttribution)
    attribution: list[GroupCandidate] = Field(default_factory=list)
    campaigns: list[CampaignCandidate] = Field(default_factory=list)
    model_config = ConfigDict(populate_by_name=True)

    def to_json(self, indent: int | None = 2) -> str:
        """Serialise with the contract's key names."""
        return self.model_dump_json(by_alias=True, indent=indent)


class MitigationReport(_Model):
    """What ``ttpmap mitigate -f json`` prints: ranked mitigations and detections."""

    schema_: Literal["ttpmap.mitigation/1"] = Field(default=MITIGATION_SCHEMA, alias="schema")
    mitigations: list[MitigationResult] = Field(default_factory=list)
    detections: list[DetectionResult] = Field(default_factory=list)
    model_config = ConfigDict(populate_by_name=True)

    def to_json(self, indent: int | None = 2) -> str:
        """Serialise with the contract's key names."""
        return self.model_dump_json(by_alias=True, indent=indent)


_Versioned = TypeVar("_Versioned", Analysis, AttributionReport, MitigationReport)


def load_versioned(model: type[_Versioned], raw: str | bytes | dict[str, Any]) -> _Versioned:
    """Validate a saved JSON document against ``model``; unknown versions or keys raise SchemaError."""
    expected = model.model_fields["schema_"].default
    try:
        if isinstance(raw, dict):
            return model.model_validate(raw)
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        if first["loc"] == ("schema",):
            got = first.get("input")
            raise SchemaError(f"unsupported schema {got!r}; this ttpmap reads {expected!r}") from None
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise SchemaError(f"not a valid {expected} document: {where}: {first['msg']}{more}") from None


@dataclass
class Findings:
    """What extraction found in a Document, before attribution and defence."""

    document: Document
    techniques: list[TechniqueResult] = field(default_factory=list)
    iocs: list[Indicator] = field(default_factory=list)
    entities: Entities = field(default_factory=Entities)
    candidates: list[TechniqueResult] = field(default_factory=list)
    victimology: Victimology = field(default_factory=Victimology)
    stated: StatedAttribution = field(default_factory=StatedAttribution)
    text_terms: dict[str, int] = field(default_factory=dict)
