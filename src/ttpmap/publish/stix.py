"""STIX 2.1 bundle of an analysis, reproducible: IDs are uuid5 of content, timestamps the analysis'.

Modelling: the activity the report describes is a ``campaign``; it ``uses`` the observed
attack-patterns (confidence = technique score, description = best evidence) and software, ``targets``
the CVEs (vulnerabilities). Only the actor's indicators (disposition ``actor``) become ``indicator``
objects that ``indicates`` the campaign; every other value the report mentions (benign or shared
infrastructure, abused services, private addresses, non-indicators) is a ``note`` on the campaign that
says why it is not one, its value defanged so that no tool ingests it. Attribution is not asserted:
each candidate group is an ``intrusion-set`` linked from the campaign by ``attributed-to`` whose
``confidence`` is the candidate's score x 100 and whose description says it is a machine-generated
candidate. Matching ATT&CK campaigns are linked by ``related-to``. Ranked mitigations are
``course-of-action`` objects that ``mitigate`` the attack-patterns with ATT&CK's advice text. A
``report`` from the ttpmap ``identity`` references everything.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import stix2

from ttpmap import __version__
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis, Indicator, IocType
from ttpmap.publish.context import best_evidence, created, source_label, tactics_of, technique_name
from ttpmap.publish.indicators import display, expand_hive, machine_value, note, split_path
from ttpmap.publish.indicators import label as type_label
from ttpmap.publish.markup import one_line, truncate
from ttpmap.publish.wording import CONFIDENCE_PHRASE, likelihood

NAMESPACE = uuid.UUID("6f0c2e4e-58d3-5b8e-9a0e-1d7c3b0a2f51")
IDENTITY_CREATED = datetime(2024, 1, 1, tzinfo=UTC)
IDENTITY_ID = f"identity--{uuid.uuid5(NAMESPACE, 'identity|ttpmap')}"
_HASH_PATHS = {"md5": "MD5", "sha1": "'SHA-1'", "sha256": "'SHA-256'", "sha512": "'SHA-512'"}


def producer_identity() -> stix2.Identity:
    """ttpmap as a STIX identity; the same object in every bundle."""
    return stix2.Identity(
        id=IDENTITY_ID,
        created=IDENTITY_CREATED,
        modified=IDENTITY_CREATED,
        name="ttpmap",
        identity_class="system",
        description="Open-source tool that maps threat reports to MITRE ATT&CK; output needs analyst review.",
    )


def pattern_literal(value: str) -> str:
    """A STIX pattern string literal: quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def indicator_pattern(ioc: Indicator) -> str | None:
    """The STIX pattern that matches an indicator, or None for types that are not observables (CVEs)."""
    kind = ioc.type
    value = machine_value(ioc)
    if not value:
        return None
    simple = {
        IocType.IPV4: "ipv4-addr:value",
        IocType.IPV6: "ipv6-addr:value",
        IocType.DOMAIN: "domain-name:value",
        IocType.URL: "url:value",
        IocType.EMAIL: "email-addr:value",
        IocType.FILENAME: "file:name",
        IocType.MAC_ADDRESS: "mac-addr:value",
        IocType.USER_AGENT: "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
    }
    if kind in simple:
        return f"[{simple[kind]} = {pattern_literal(value)}]"
    if kind in _HASH_PATHS:
        return f"[file:hashes.{_HASH_PATHS[kind]} = {pattern_literal(value.lower())}]"
    if kind in (IocType.IPV4_CIDR, IocType.IPV6_CIDR):
        family = "ipv4-addr" if kind == IocType.IPV4_CIDR else "ipv6-addr"
        return f"[{family}:value ISSUBSET {pattern_literal(value)}]"
    if kind == IocType.SSDEEP:
        return f"[file:hashes.SSDEEP = {pattern_literal(value)}]"
    if kind == IocType.ASN and value.upper().removeprefix("AS").isdigit():
        return f"[autonomous-system:number = {int(value.upper().removeprefix('AS'))}]"
    if kind == IocType.SOCKET_ADDRESS:
        host, _, port = value.rpartition(":")
        host = host.strip("[]")
        if not port.isdigit() or not host:
            return None
        family = "ipv6-addr" if ":" in host else "ipv4-addr"
        return (
            f"[network-traffic:dst_ref.type = '{family}' AND network-traffic:dst_ref.value = "
            f"{pattern_literal(host)} AND network-traffic:dst_port = {int(port)}]"
        )
    if kind == IocType.REGISTRY_KEY:
        return f"[windows-registry-key:key = {pattern_literal(expand_hive(value))}]"
    if kind == IocType.FILE_PATH:
        directory, name = split_path(value)
        if not directory:
            return f"[file:name = {pattern_literal(name)}]"
        return (
            f"[file:name = {pattern_literal(name)} AND "
            f"file:parent_directory_ref.path = {pattern_literal(directory)}]"
        )
    return None


class _Builder:
    """Collects objects with deterministic IDs for one analysis."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.time = created(analysis)
        self.seed = f"{analysis.document.sha256}|{self.time.isoformat()}"
        self.objects: dict[str, Any] = {}

    def ident(self, stix_type: str, key: str) -> str:
        return f"{stix_type}--{uuid.uuid5(NAMESPACE, f'{self.seed}|{stix_type}|{key}')}"

    def add(self, cls: type, stix_type: str, key: str, **props: Any) -> str:
        oid = self.ident(stix_type, key)
        if oid not in self.objects:
            self.objects[oid] = cls(
                id=oid,
                created=self.time,
                modified=self.time,
                created_by_ref=IDENTITY_ID,
                **props,
            )
        return oid

    def relate(self, source: str, rel: str, target: str, **props: Any) -> str:
        return self.add(
            stix2.Relationship,
            "relationship",
            f"{source}|{rel}|{target}",
            source_ref=source,
            relationship_type=rel,
            target_ref=target,
            **props,
        )


def _attack_ref(attack_id: str, url: str) -> dict[str, str]:
    ref = {"source_name": "mitre-attack", "external_id": attack_id}
    if url:
        ref["url"] = url
    return ref


def to_bundle(analysis: Analysis, kb: KnowledgeBase | None = None) -> stix2.Bundle:
    """All findings of the analysis as a STIX 2.1 bundle (see the module docstring for the model)."""
    b = _Builder(analysis)
    title = one_line(analysis.document.title) or "Untitled report"
    campaign = b.add(
        stix2.Campaign,
        "campaign",
        "observed",
        name=truncate(f"Activity described in: {title}", 250),
        description="The intrusion activity the source report describes, as extracted by ttpmap.",
    )

    pattern_ids: dict[str, str] = {}
    for t in analysis.techniques:
        known = kb.techniques.get(t.id) if kb else None
        url = known.url if known else ""
        pattern_ids[t.id] = b.add(
            stix2.AttackPattern,
            "attack-pattern",
            t.id,
            name=technique_name(t.id, kb, t.name),
            external_references=[_attack_ref(t.id, url)],
            kill_chain_phases=[
                {"kill_chain_name": "mitre-attack", "phase_name": tactic} for tactic in tactics_of(t, kb)
            ],
        )
        best = best_evidence(t)
        b.relate(
            campaign,
            "uses",
            pattern_ids[t.id],
            confidence=_confidence(t.score),
            description=truncate(best.text, 1000) if best else f"Observed ({t.origin}).",
        )

    for ref in analysis.entities.software:
        sw = kb.software.get(ref.id) if kb else None
        kind = sw.kind if sw else "tool"
        sw_refs = [_attack_ref(ref.id, sw.url if sw else "")]
        name = sw.name if sw else ref.name
        if kind == "malware":
            oid = b.add(
                stix2.Malware, "malware", ref.id, name=name, is_family=True, external_references=sw_refs
            )
        else:
            oid = b.add(stix2.Tool, "tool", ref.id, name=name, external_references=sw_refs)
        b.relate(campaign, "uses", oid)

    cves = dict.fromkeys([c.id.upper() for c in analysis.entities.cves])
    cves.update(dict.fromkeys(i.value.strip().upper() for i in analysis.iocs if i.type == IocType.CVE))
    for cve in cves:
        vuln = b.add(
            stix2.Vulnerability,
            "vulnerability",
            cve,
            name=cve,
            external_references=[{"source_name": "cve", "external_id": cve}],
        )
        b.relate(campaign, "targets", vuln)

    for ioc in analysis.iocs:
        if ioc.type == IocType.CVE:
            continue
        pattern = indicator_pattern(ioc)
        if not ioc.actionable or pattern is None:
            b.add(
                stix2.Note,
                "note",
                f"{ioc.type}|{ioc.value}",
                abstract=truncate(f"Not an indicator: {type_label(ioc.type)} {display(ioc)}", 250),
                content=truncate(
                    f"{display(ioc)}: {note(ioc)}. Mentioned in the source report; ttpmap did not "
                    "export it as an indicator.",
                    1000,
                ),
                object_refs=[campaign],
            )
            continue
        role = f" ({ioc.role})" if ioc.role else ""
        indicator = b.add(
            stix2.Indicator,
            "indicator",
            pattern,
            name=truncate(f"{ioc.type}{role}: {ioc.value}", 250),
            pattern=pattern,
            pattern_type="stix",
            valid_from=b.time,
            indicator_types=["malicious-activity"],
            description=truncate(
                f"Extracted from the source report by ttpmap ({note(ioc)}); verify before blocking.", 1000
            ),
        )
        b.relate(indicator, "indicates", campaign)

    for m in analysis.mitigations:
        known_m = kb.mitigations.get(m.id) if kb else None
        coa = b.add(
            stix2.CourseOfAction,
            "course-of-action",
            m.id,
            name=m.name,
            description=known_m.description if known_m and known_m.description else m.name,
            external_references=[_attack_ref(m.id, known_m.url if known_m else "")],
        )
        for tid in m.covers:
            if tid in pattern_ids:
                advice = m.advice.get(tid, "")
                b.relate(coa, "mitigates", pattern_ids[tid], **({"description": advice} if advice else {}))

    for g in analysis.attribution:
        group = kb.groups.get(g.id) if kb else None
        aliases = [a for a in dict.fromkeys(g.aliases) if a and a != g.name]
        intrusion_set = b.add(
            stix2.IntrusionSet,
            "intrusion-set",
            g.id,
            name=g.name,
            external_references=[_attack_ref(g.id, group.url if group else "")],
            **({"aliases": aliases} if aliases else {}),
        )
        summary = one_line(g.explanation.summary)
        phrase = likelihood(g.score)[1]
        b.relate(
            campaign,
            "attributed-to",
            intrusion_set,
            confidence=_confidence(g.score),
            description=truncate(
                f"Candidate attribution generated by ttpmap ({phrase}; {CONFIDENCE_PHRASE[g.confidence]}), "
                f"not an assessment: needs analyst review. {summary}",
                1000,
            ),
        )
    for ref in analysis.entities.groups:
        if not any(g.id == ref.id for g in analysis.attribution):
            group = kb.groups.get(ref.id) if kb else None
            b.add(
                stix2.IntrusionSet,
                "intrusion-set",
                ref.id,
                name=group.name if group else ref.name,
                external_references=[_attack_ref(ref.id, group.url if group else "")],
            )

    for c in analysis.campaigns:
        known_c = kb.campaigns.get(c.id) if kb else None
        other = b.add(
            stix2.Campaign,
            "campaign",
            c.id,
            name=c.name,
            external_references=[_attack_ref(c.id, known_c.url if known_c else "")],
        )
        shared = ", ".join(c.shared_techniques[:10])
        b.relate(
            campaign,
            "related-to",
            other,
            confidence=_confidence(c.score),
            description=truncate(
                f"Overlaps with ATT&CK campaign {c.id}" + (f": {shared}" if shared else ""), 500
            ),
        )

    refs = list(b.objects)
    actor_iocs = sum(1 for i in analysis.iocs if i.actionable and i.type != IocType.CVE)
    label = source_label(analysis)
    source_ref: dict[str, Any] = {
        "source_name": "source report",
        "description": truncate(f"{label or title} (SHA-256 {analysis.document.sha256})", 500),
    }
    if label.lower().startswith(("http://", "https://")):
        source_ref["url"] = label
    report = stix2.Report(
        id=b.ident("report", "report"),
        created=b.time,
        modified=b.time,
        created_by_ref=IDENTITY_ID,
        name=title[:250],
        description=(
            f"Machine-generated by ttpmap {__version__}: {len(analysis.techniques)} ATT&CK techniques, "
            f"{actor_iocs} indicators and {len(analysis.attribution)} attribution candidates "
            "extracted from the source report. Needs analyst review."
        ),
        published=b.time,
        report_types=["threat-report"],
        object_refs=[IDENTITY_ID, *refs],
        external_references=[source_ref],
        labels=["ttpmap", "machine-generated"],
    )
    objects = [producer_identity(), report, *b.objects.values()]
    return stix2.Bundle(objects=objects, id=f"bundle--{uuid.uuid5(NAMESPACE, b.seed + '|bundle')}")


def to_json(analysis: Analysis, kb: KnowledgeBase | None = None) -> str:
    """The bundle serialised with stable key order, indented (stix2's own pretty printer is slow)."""
    return json.dumps(json.loads(to_bundle(analysis, kb).serialize()), indent=2, ensure_ascii=False) + "\n"


def _confidence(score: float) -> int:
    return max(0, min(100, round(score * 100)))
