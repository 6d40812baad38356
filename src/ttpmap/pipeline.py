"""The pipeline: ingest → extract → attribute / defend → Analysis. The one place the stages meet."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttpmap import __version__
from ttpmap.config import Limits
from ttpmap.errors import TtpmapError, UsageError
from ttpmap.kb import KnowledgeBase, load_kb
from ttpmap.models import (
    Analysis,
    AttackInfo,
    CVERef,
    Document,
    DocumentInfo,
    Entities,
    EntityRef,
    Evidence,
    Findings,
    TechniqueResult,
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


def extract(doc: Document, kb: KnowledgeBase, model: Any | None, options: Options) -> Findings:
    """Everything the text itself says: techniques with evidence, IOCs and named entities."""
    from ttpmap.extract.attack_ids import find_attack_ids
    from ttpmap.extract.entities import find_entities
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
    return Findings(
        document=doc,
        techniques=techniques,
        iocs=find_iocs(doc.text),
        entities=find_entities(doc, kb),
        candidates=candidates,
    )


def _now() -> str:
    """Creation time (UTC); ``SOURCE_DATE_EPOCH`` makes outputs reproducible."""
    import os
    from datetime import UTC, datetime

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch and epoch.isdigit() else datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def assemble(findings: Findings, kb: KnowledgeBase, options: Options) -> Analysis:
    """Attribute and defend from the findings and build the Analysis contract."""
    doc = findings.document
    analysis = Analysis(
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
        generated_by=f"ttpmap {__version__}",
        created=_now(),
    )
    if options.attribution:
        from ttpmap.attribute import rank_campaigns, rank_groups

        analysis.attribution = rank_groups(findings, kb, top=options.attribution_top)
        analysis.campaigns = rank_campaigns(findings, kb)
    if options.defend and findings.techniques:
        from ttpmap.defend import rank_detections, rank_mitigations

        analysis.mitigations = rank_mitigations(findings.techniques, kb, limit=options.mitigation_limit)
        analysis.detections = rank_detections(findings.techniques, kb, limit=options.mitigation_limit)
    if options.all_scores:
        analysis.candidates = findings.candidates  # type: ignore[attr-defined]
    return analysis


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
    """The findings of a saved analysis (its text is not kept, so text signals are absent)."""
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
        document=doc, techniques=analysis.techniques, iocs=analysis.iocs, entities=analysis.entities
    )


def analyze_document(
    doc: Document, kb: KnowledgeBase, model: Any | None = None, options: Options | None = None
) -> Analysis:
    """Analyse an already ingested Document."""
    options = options or Options()
    return assemble(extract(doc, kb, model, options), kb, options)


def analyze(
    source: str | Path,
    *,
    kb: KnowledgeBase | None = None,
    model: Any | None = None,
    options: Options | None = None,
    data: bytes | None = None,
) -> Analysis:
    """Analyse one report (path, or ``data`` bytes); loads the default KB and model when not given."""
    from ttpmap.ingest import load

    options = options or Options()
    kb = kb or load_kb()
    if model is None and options.techniques:
        model = default_model(kb)
    doc = load(str(source), data=data, limits=options.limits)
    return analyze_document(doc, kb, model, options)


def default_model(kb: KnowledgeBase, progress: Callable[[str], None] | None = None) -> Any:
    """The technique model the user chose (``ttpmap train --set-default``), else the one trained from
    this KB on first use (then cached)."""
    from ttpmap.learn.artifacts import select_model

    return select_model(kb, progress=progress)


def analyze_many(
    sources: Iterable[str],
    *,
    kb: KnowledgeBase,
    model: Any | None,
    options: Options | None = None,
    read_stdin: Callable[[], bytes] | None = None,
) -> Iterator[tuple[str, Analysis | TtpmapError]]:
    """Analyse several reports; a failing input yields its error and the batch continues."""
    from ttpmap.ingest import load

    options = options or Options()
    for source in sources:
        try:
            data = read_stdin() if source == "-" and read_stdin else None
            doc = load(source, data=data, limits=options.limits)
            yield source, analyze_document(doc, kb, model, options)
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
    "default_model",
    "extract",
    "findings_from_analysis",
    "findings_from_evidence",
    "merge_techniques",
]
