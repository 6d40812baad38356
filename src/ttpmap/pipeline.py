"""The pipeline: ingest → extract → attribute / defend → Analysis. The one place the stages meet."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttpmap import __version__
from ttpmap.config import Limits, build_time
from ttpmap.errors import SchemaError, TtpmapError, UsageError
from ttpmap.kb import KnowledgeBase, load_kb
from ttpmap.models import (
    Analysis,
    AttackInfo,
    CampaignCandidate,
    CVERef,
    DetectionResult,
    Document,
    DocumentInfo,
    Entities,
    EntityRef,
    Evidence,
    Findings,
    GroupCandidate,
    MitigationResult,
    StatedAttribution,
    TechniqueResult,
    Victimology,
    load_versioned,
)


@dataclass(frozen=True)
class Options:
    """What to compute for each report and how strict the technique decisions are."""

    threshold: float | None = None
    top_k: int | None = None
    all_scores: bool = False
    techniques: bool = True
    attribution: bool = True
    defend: bool = True
    attribution_top: int = 5
    mitigation_limit: int = 10
    limits: Limits = field(default_factory=Limits.from_env)


def merge_techniques(
    text_hits: Iterable[TechniqueResult], explicit: Iterable[TechniqueResult]
) -> list[TechniqueResult]:
    """Combine model decisions with explicit IDs; a technique found both ways keeps all evidence."""
    merged: dict[str, TechniqueResult] = {t.id: t for t in text_hits}
    for hit in explicit:
        seen = merged.get(hit.id)
        if seen is None:
            merged[hit.id] = hit
            continue
        spans = {(e.start, e.end) for e in seen.evidence}
        extra = [e for e in hit.evidence if (e.start, e.end) not in spans]
        merged[hit.id] = seen.model_copy(
            update={
                "score": max(seen.score, hit.score),
                "evidence": sorted([*seen.evidence, *extra], key=lambda e: -e.score)[:8],
                "origin": f"{seen.origin}+{hit.origin}",
            }
        )
    return sorted(merged.values(), key=lambda t: (-t.score, t.id))


def extract(
    doc: Document, kb: KnowledgeBase, model: Any | None, options: Options, attributor: Any | None = None
) -> Findings:
    """Everything the text itself says: techniques with evidence, IOCs, named entities, victimology and
    the report's own attribution (named groups resolved through ``attributor``'s name tables)."""
    from ttpmap.extract.attack_ids import find_attack_ids
    from ttpmap.extract.entities import find_entities
    from ttpmap.extract.features import report_terms, report_victimology
    from ttpmap.extract.iocs import find_iocs

    text_hits: list[TechniqueResult] = []
    candidates: list[TechniqueResult] = []
    if options.techniques and model is not None:
        from ttpmap.extract.techniques import map_techniques

        text_hits, candidates = map_techniques(
            doc, kb, model, threshold=options.threshold, top_k=options.top_k, all_scores=options.all_scores
        )
    techniques = merge_techniques(text_hits, find_attack_ids(doc, kb))
    if options.top_k is not None:
        techniques = techniques[: options.top_k]
    entities = find_entities(doc, kb)
    galaxy = getattr(attributor, "galaxy", None)
    victimology = report_victimology(doc, kb, entities, malware_names=galaxy.malware_names if galaxy else ())
    return Findings(
        document=doc,
        techniques=techniques,
        iocs=find_iocs(doc.text, doc.sentences),
        entities=entities,
        candidates=candidates,
        victimology=victimology,
        stated=stated_attribution(doc, kb, victimology, attributor),
        text_terms=report_terms(doc, kb),
    )


def stated_attribution(
    doc: Document, kb: KnowledgeBase, victimology: Victimology, attributor: Any | None = None
) -> StatedAttribution:
    """What the report says about its actor; group names resolve through ``attributor`` (with the MISP
    galaxies) when given, else through the KB alone."""
    from ttpmap.extract.stated import find_stated_attribution

    if attributor is not None:
        return attributor.stated(doc, kb, victimology)
    return find_stated_attribution(doc, kb, None, victimology)


def _now() -> str:
    """Creation time (UTC) in the contract's form; ``SOURCE_DATE_EPOCH`` makes it reproducible."""
    return build_time().strftime("%Y-%m-%dT%H:%M:%S.000Z")


def assemble(
    findings: Findings, kb: KnowledgeBase, options: Options, attributor: Any | None = None
) -> Analysis:
    """Attribute (with ``attributor``, fitted for ``kb`` when not given) and defend from the findings,
    and build the Analysis contract."""
    doc = findings.document
    attribution: list[GroupCandidate] = []
    campaigns: list[CampaignCandidate] = []
    mitigations: list[MitigationResult] = []
    detections: list[DetectionResult] = []
    if options.attribution:
        attributor = attributor or default_attributor(kb)
        attribution = attributor.rank(findings, kb, top=options.attribution_top)
        campaigns = attributor.rank_campaigns(findings, kb)
    if options.defend and findings.techniques:
        from ttpmap.defend import rank_detections, rank_mitigations

        mitigations = rank_mitigations(findings.techniques, kb, limit=options.mitigation_limit)
        detections = rank_detections(findings.techniques, kb, limit=options.mitigation_limit)
    return Analysis(
        document=DocumentInfo(
            title=doc.title,
            source=doc.source,
            sha256=doc.sha256,
            chars=len(doc.text),
            sentences=len(doc.sentences),
            media_type=doc.media_type,
        ),
        attack=AttackInfo(domain=kb.info.domain, version=kb.info.version),
        techniques=findings.techniques,
        iocs=findings.iocs,
        entities=findings.entities,
        attribution=attribution,
        campaigns=campaigns,
        mitigations=mitigations,
        detections=detections,
        candidates=findings.candidates if options.all_scores else [],
        generated_by=f"ttpmap {__version__}",
        notes=[str(w) for w in doc.metadata.get("warnings", [])],
        created=_now(),
        victimology=findings.victimology,
        stated_attribution=findings.stated,
        text_terms=findings.text_terms,
    )


def findings_from_evidence(
    kb: KnowledgeBase, techniques: Iterable[str] = (), software: Iterable[str] = (), cves: Iterable[str] = ()
) -> Findings:
    """Findings from evidence an analyst states directly (technique IDs, software names or IDs, CVEs)."""
    techs = []
    for tid in techniques:
        rid = kb.resolve(tid)
        if rid is None or rid not in kb.techniques:
            raise UsageError(f"unknown or deprecated technique ID {tid!r}")
        t = kb.techniques[rid]
        techs.append(
            TechniqueResult(id=t.id, name=t.name, tactics=kb.tactic_names(t), score=1.0, origin="user")
        )
    by_name = {n.lower(): s for s in kb.software.values() for n in (s.name, *s.aliases)}
    refs = []
    for name in software:
        obj = kb.get(name) if kb.is_attack_id(name) else by_name.get(name.strip().lower())
        if obj is None or obj.id not in kb.software:
            raise UsageError(f"unknown software {name!r} (try `ttpmap kb search`)")
        refs.append(EntityRef(id=obj.id, name=obj.name, mention=name))
    doc = Document(
        text="", title="explicit evidence", source="command line", sha256="", media_type="", sentences=()
    )
    entities = Entities(software=refs, cves=[CVERef(id=c.strip().upper()) for c in cves])
    return Findings(document=doc, techniques=techs, entities=entities)


def findings_from_analysis(analysis: Analysis) -> Findings:
    """The findings of a saved analysis; its victimology and term counts make attribution repeatable."""
    info = analysis.document
    doc = Document(
        text="",
        title=info.title,
        source=info.source,
        sha256=info.sha256,
        media_type=info.media_type,
        sentences=(),
    )
    return Findings(
        document=doc,
        techniques=analysis.techniques,
        iocs=analysis.iocs,
        entities=analysis.entities,
        victimology=analysis.victimology,
        stated=analysis.stated_attribution,
        text_terms=analysis.text_terms,
    )


def read_analysis(source: str | Path) -> Analysis | None:
    """The saved analysis in ``source`` (validated against the contract), or None if it is not one.

    A ``.json`` file whose ``schema`` names ``ttpmap.analysis/...`` is an analysis: an unknown version
    or undeclared keys raise :class:`~ttpmap.errors.SchemaError`.
    """
    path = Path(source)
    if path.suffix.lower() != ".json" or not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not (isinstance(raw, dict) and str(raw.get("schema", "")).startswith("ttpmap.analysis/")):
        return None
    try:
        return load_versioned(Analysis, raw)
    except SchemaError as exc:
        exc.source = str(source)
        raise


def load_findings(
    source: str,
    kb: KnowledgeBase,
    model: Callable[[], Any],
    *,
    data: bytes | None = None,
    options: Options | None = None,
    attributor: Any | None = None,
) -> Findings:
    """Findings of a saved analysis JSON, or extracted from a report (``model()`` is called only then)."""
    saved = read_analysis(source) if data is None else None
    if saved is not None:
        return findings_from_analysis(saved)
    from ttpmap.ingest import load

    options = options or Options()
    doc = load(source, data=data, limits=options.limits)
    return extract(doc, kb, model() if options.techniques else None, options, attributor)


def analyze_document(
    doc: Document,
    kb: KnowledgeBase,
    model: Any | None = None,
    options: Options | None = None,
    attributor: Any | None = None,
) -> Analysis:
    """Analyse an already ingested Document."""
    options = options or Options()
    if attributor is None and options.attribution:
        attributor = default_attributor(kb)
    return assemble(extract(doc, kb, model, options, attributor), kb, options, attributor)


def analyze(
    source: str | Path,
    *,
    kb: KnowledgeBase | None = None,
    model: Any | None = None,
    options: Options | None = None,
    data: bytes | None = None,
    attributor: Any | None = None,
) -> Analysis:
    """Analyse one report (path, or ``data`` bytes); loads the default KB, model and attributor when not
    given."""
    from ttpmap.ingest import load

    options = options or Options()
    kb = kb or load_kb()
    if model is None and options.techniques:
        model = default_model(kb)
    doc = load(str(source), data=data, limits=options.limits)
    return analyze_document(doc, kb, model, options, attributor)


def default_model(kb: KnowledgeBase, progress: Callable[[str], None] | None = None) -> Any:
    """The technique model the user chose (``ttpmap train --set-default``), else the one trained from
    this KB on first use (then cached)."""
    from ttpmap.learn.artifacts import select_model

    return select_model(kb, progress=progress)


def default_attributor(kb: KnowledgeBase) -> Any:
    """The Attributor for this KB (fitted parameters from the cache, or fitted now and cached)."""
    from ttpmap.attribute.attributor import load_or_fit

    return load_or_fit(kb)


def analyze_many(
    sources: Iterable[str],
    *,
    kb: KnowledgeBase,
    model: Any | None,
    options: Options | None = None,
    read_stdin: Callable[[], bytes] | None = None,
    attributor: Any | None = None,
) -> Iterator[tuple[str, Analysis | TtpmapError]]:
    """Analyse several reports; a failing input yields its error and the batch continues."""
    from ttpmap.ingest import load

    options = options or Options()
    if attributor is None and options.attribution:
        attributor = default_attributor(kb)
    for source in sources:
        try:
            data = read_stdin() if source == "-" and read_stdin else None
            doc = load(source, data=data, limits=options.limits)
            yield source, analyze_document(doc, kb, model, options, attributor)
        except TtpmapError as exc:
            if exc.source is None:
                exc.source = source
            yield source, exc


__all__ = [
    "Evidence",
    "Options",
    "analyze",
    "analyze_document",
    "analyze_many",
    "assemble",
    "default_attributor",
    "default_model",
    "extract",
    "findings_from_analysis",
    "findings_from_evidence",
    "load_findings",
    "merge_techniques",
    "read_analysis",
]
