"""MISP event of an analysis: typed attributes, ATT&CK and threat-actor galaxy tags, TLP."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from ttpmap import __version__
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis, GroupCandidate, Indicator, IocType
from ttpmap.publish.context import created, technique_name
from ttpmap.publish.indicators import machine_value, note
from ttpmap.publish.markup import one_line, truncate
from ttpmap.publish.wording import likelihood

if TYPE_CHECKING:
    from pymisp import MISPEvent

NAMESPACE = uuid.UUID("0b8e1a52-3c0d-5b6f-8f71-2a9d4e6c7b10")
TLP = "tlp:clear"
CONFIDENCE_ORDER = {"low": 0, "moderate": 1, "high": 2}
THREAT_LEVEL = {"high": 1, "medium": 2, "low": 3, "undefined": 4}
ANALYSIS_INITIAL = 0  # machine output nobody has reviewed yet

# indicator type -> (MISP type, category, whether an actor value of this type is for IDS)
ATTRIBUTE_TYPES: dict[IocType, tuple[str, str, bool]] = {
    IocType.IPV4: ("ip-dst", "Network activity", True),
    IocType.IPV4_CIDR: ("ip-dst", "Network activity", True),
    IocType.IPV6: ("ip-dst", "Network activity", True),
    IocType.IPV6_CIDR: ("ip-dst", "Network activity", True),
    IocType.DOMAIN: ("domain", "Network activity", True),
    IocType.URL: ("url", "Network activity", True),
    IocType.EMAIL: ("email-src", "Payload delivery", True),
    IocType.MD5: ("md5", "Payload delivery", True),
    IocType.SHA1: ("sha1", "Payload delivery", True),
    IocType.SHA256: ("sha256", "Payload delivery", True),
    IocType.SHA512: ("sha512", "Payload delivery", True),
    IocType.FILE_PATH: ("filename", "Artifacts dropped", False),
    IocType.FILENAME: ("filename", "Artifacts dropped", False),
    IocType.REGISTRY_KEY: ("regkey", "Persistence mechanism", False),
    IocType.CVE: ("vulnerability", "External analysis", False),
    IocType.SOCKET_ADDRESS: ("ip-dst|port", "Network activity", True),
    IocType.SSDEEP: ("ssdeep", "Payload delivery", True),
    IocType.IMPHASH: ("imphash", "Payload delivery", True),
    IocType.AUTHENTIHASH: ("authentihash", "Payload delivery", True),
    IocType.MAC_ADDRESS: ("mac-address", "Network activity", False),
    IocType.USER_AGENT: ("user-agent", "Network activity", False),
    IocType.ASN: ("AS", "Network activity", False),
    IocType.BITCOIN_ADDRESS: ("btc", "Financial fraud", True),
    IocType.XMPP_ADDRESS: ("jabber-id", "Social network", False),
}


def attribute_spec(ioc: Indicator) -> tuple[str, str, str, bool]:
    """(MISP type, category, value, to_ids) for an indicator; only the actor's values are for IDS."""
    misp_type, category, for_ids = ATTRIBUTE_TYPES.get(ioc.type, ("text", "Other", False))
    to_ids = for_ids and ioc.actionable
    value = machine_value(ioc)
    if ioc.type == IocType.SOCKET_ADDRESS:
        host, _, port = value.rpartition(":")
        value = f"{host.strip('[]')}|{port}"
    if ioc.type == IocType.CVE:
        value = value.upper()
    return misp_type, category, value, to_ids


def technique_tag(technique_id: str, name: str) -> str:
    """MISP galaxy tag for an ATT&CK technique: ``misp-galaxy:mitre-attack-pattern="Name - T1190"``."""
    return f'misp-galaxy:mitre-attack-pattern="{name} - {technique_id}"'


def actor_tags(candidate: GroupCandidate) -> list[str]:
    """Threat-actor galaxy tag plus estimative-language tags for one attribution candidate."""
    value, _ = likelihood(candidate.score)
    return [
        f'misp-galaxy:threat-actor="{candidate.name}"',
        f'estimative-language:likelihood-probability="{value}"',
        f'estimative-language:confidence-in-analytic-judgment="{candidate.confidence}"',
    ]


def threat_level(analysis: Analysis) -> int:
    """High when data left or systems were hit, or a group is a moderate-or-better candidate."""
    tactics = {s for t in analysis.techniques for s in t.tactics}
    if tactics & {"exfiltration", "impact"} or any(
        CONFIDENCE_ORDER[g.confidence] >= 1 for g in analysis.attribution
    ):
        return THREAT_LEVEL["high"]
    if len(analysis.techniques) >= 5:
        return THREAT_LEVEL["medium"]
    return THREAT_LEVEL["low"] if analysis.techniques else THREAT_LEVEL["undefined"]


def to_event(
    analysis: Analysis, kb: KnowledgeBase | None = None, *, min_confidence: str = "moderate"
) -> MISPEvent:
    """The analysis as a MISP event; threat-actor tags on the event only for candidates at or above
    ``min_confidence``, while every candidate gets an Attribution attribute with its own tags."""
    from pymisp import MISPEvent

    stamp = created(analysis)
    seed = f"{analysis.document.sha256}|{stamp.isoformat()}"
    event = MISPEvent()
    event.uuid = str(uuid.uuid5(NAMESPACE, seed + "|event"))
    event.info = truncate(one_line(analysis.document.title) or "ttpmap analysis", 250)
    event.set_date(stamp.date())
    event.timestamp = stamp
    event.threat_level_id = threat_level(analysis)
    event.analysis = ANALYSIS_INITIAL
    event.distribution = 0
    event.add_tag(TLP)
    event.add_tag('workflow:state="draft"')

    def add(misp_type: str, value: str, category: str, to_ids: bool, comment: str, tags: list[str]) -> None:
        attr = event.add_attribute(
            misp_type,
            value,
            category=category,
            to_ids=to_ids,
            comment=comment,
            uuid=str(uuid.uuid5(NAMESPACE, f"{seed}|{misp_type}|{value}")),
            timestamp=stamp,
        )
        assert not isinstance(attr, list)  # one value in, one attribute out
        for tag in tags:
            attr.add_tag(tag)

    seen: set[tuple[str, str]] = set()
    for ioc in analysis.iocs:
        misp_type, category, value, to_ids = attribute_spec(ioc)
        if not value or (misp_type, value) in seen:
            continue
        seen.add((misp_type, value))
        add(
            misp_type,
            value,
            category,
            to_ids,
            truncate(f"Extracted by ttpmap: {note(ioc, max_lists=20)}", 1000),
            [],
        )
    for cve in analysis.entities.cves:
        if ("vulnerability", cve.id.upper()) not in seen:
            seen.add(("vulnerability", cve.id.upper()))
            add("vulnerability", cve.id.upper(), "External analysis", False, "Named in the source report", [])

    for t in analysis.techniques:
        known = kb.techniques.get(t.id) if kb else None
        event.add_tag(technique_tag(t.id, known.name if known else t.name))

    threshold = CONFIDENCE_ORDER.get(min_confidence, 1)
    for g in analysis.attribution:
        tags = actor_tags(g)
        if CONFIDENCE_ORDER[g.confidence] >= threshold:
            for tag in tags:
                event.add_tag(tag)
        summary = one_line(g.explanation.summary)
        judgement = f"{likelihood(g.score)[1]}, {g.confidence} confidence, score {g.score:.2f}"
        add(
            "threat-actor",
            g.name,
            "Attribution",
            False,
            truncate(f"Candidate ({judgement}). {summary}", 500),
            tags,
        )

    names = ", ".join(technique_name(t.id, kb, t.name) for t in analysis.techniques[:5])
    add(
        "text",
        truncate(
            f"Generated by ttpmap {__version__} from {analysis.document.sha256}: {len(analysis.techniques)} "
            f"ATT&CK techniques (top: {names}). Machine-generated; needs analyst review.",
            1000,
        ),
        "External analysis",
        False,
        "ttpmap provenance",
        [],
    )
    return event


def to_json(analysis: Analysis, kb: KnowledgeBase | None = None, **options: Any) -> str:
    """The event as MISP JSON (``{"Event": ...}``, as MISP imports it), keys sorted for stable output."""
    event = json.loads(to_event(analysis, kb, **options).to_json())
    return json.dumps({"Event": event}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
