"""Analyst reviews: record a decision on a technique or IOC, and apply them to give the reviewed Analysis.

A technique review is also a labelled sentence (the span and the technique it shows, or ``none``),
which is what ``ttpmap train --from-store`` learns from. The newest decision on a target wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ttpmap.errors import UsageError
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis, Document, Evidence, Findings, ReviewSummary, TechniqueResult
from ttpmap.store import Store
from ttpmap.store.schema import AnalysisRow, DocumentRow, utcnow
from ttpmap.store.workbench import ReviewRow

TECHNIQUE_ACTIONS = ("accept", "reject", "change", "add")
IOC_ACTIONS = ("keep", "drop")
MAX_SPAN = 2000


@dataclass(frozen=True)
class ReviewInput:
    """One decision as the API receives it."""

    action: str
    technique_id: str = ""
    new_technique_id: str = ""
    ioc_value: str = ""
    start: int | None = None
    end: int | None = None


def latest_analysis(store: Store, document_id: int) -> tuple[DocumentRow, AnalysisRow]:
    """The document and its newest analysis (UsageError if either is missing)."""
    with store.session() as s:
        doc = s.get(DocumentRow, document_id)
        if doc is None:
            raise UsageError(f"no report {document_id}")
        row = s.scalar(
            select(AnalysisRow).where(AnalysisRow.document_id == document_id).order_by(AnalysisRow.id.desc())
        )
        if row is None:
            raise UsageError(f"report {document_id} has no analysis yet")
        return doc, row


def _evidence_span(analysis: Analysis, technique_id: str) -> tuple[int | None, int | None, str]:
    for t in analysis.techniques:
        if t.id == technique_id and t.evidence:
            best = max(t.evidence, key=lambda e: e.score)
            return best.start, best.end, best.text
    return None, None, ""


def record(
    store: Store, kb: KnowledgeBase, document_id: int, decision: ReviewInput, reviewer: tuple[int, str]
) -> dict[str, Any]:
    """Validate and store one decision; returns it as JSON."""
    doc, row = latest_analysis(store, document_id)
    analysis = Analysis.model_validate(row.result)
    action = decision.action
    review = ReviewRow(
        document_id=document_id,
        action=action,
        reviewer_id=reviewer[0],
        reviewer=reviewer[1],
        created_at=utcnow(),
        technique_id="",
        new_technique_id="",
        ioc_value="",
        text="",
        label="",
    )
    if action in IOC_ACTIONS:
        values = {i.value for i in analysis.iocs}
        if decision.ioc_value not in values:
            raise UsageError("that IOC is not in the report's analysis")
        review.target, review.ioc_value = "ioc", decision.ioc_value
    elif action in TECHNIQUE_ACTIONS:
        review.target = "technique"
        tid = _known(kb, decision.technique_id)
        review.technique_id = tid
        found = {t.id for t in analysis.techniques}
        if action == "add":
            start, end = decision.start, decision.end
            if start is None or end is None or not 0 <= start < end <= len(doc.text):
                raise UsageError("select some of the report's text to add a technique")
            if end - start > MAX_SPAN:
                raise UsageError(f"select at most {MAX_SPAN} characters")
            review.start, review.end, review.text, review.label = start, end, doc.text[start:end], tid
        else:
            if tid not in found:
                raise UsageError(f"{tid} is not among the report's techniques")
            review.start, review.end, review.text = _evidence_span(analysis, tid)
            if action == "change":
                review.new_technique_id = _known(kb, decision.new_technique_id)
                review.label = review.new_technique_id
            else:
                review.label = tid if action == "accept" else "none"
    else:
        raise UsageError(f"unknown review action {action!r}")
    with store.session() as s, s.begin():
        s.add(review)
        s.flush()
        return as_json(review)


def _known(kb: KnowledgeBase, tid: str) -> str:
    rid = kb.resolve((tid or "").strip())
    if rid is None or rid not in kb.techniques:
        raise UsageError(f"unknown technique {tid!r}")
    return rid


def as_json(r: ReviewRow) -> dict[str, Any]:
    """A review in the API's JSON form."""
    return {
        "id": r.id,
        "target": r.target,
        "action": r.action,
        "technique_id": r.technique_id,
        "new_technique_id": r.new_technique_id,
        "ioc_value": r.ioc_value,
        "start": r.start,
        "end": r.end,
        "text": r.text,
        "label": r.label,
        "reviewer": r.reviewer,
        "created_at": r.created_at.isoformat(),
    }


def reviews(store: Store, document_id: int) -> list[ReviewRow]:
    """A document's reviews, oldest first."""
    with store.session() as s:
        return list(
            s.scalars(select(ReviewRow).where(ReviewRow.document_id == document_id).order_by(ReviewRow.id))
        )


def reviewed_documents(store: Store) -> set[int]:
    """Ids of documents with at least one review."""
    with store.session() as s:
        return set(s.scalars(select(ReviewRow.document_id).group_by(ReviewRow.document_id)))


def review_counts(store: Store, document_ids: list[int]) -> dict[int, int]:
    """How many reviews each of these documents has."""
    with store.session() as s:
        rows = s.execute(
            select(ReviewRow.document_id, func.count())
            .where(ReviewRow.document_id.in_(document_ids))
            .group_by(ReviewRow.document_id)
        ).all()
    return {d: n for d, n in rows}


def decisions(rows: list[ReviewRow]) -> tuple[dict[str, ReviewRow], list[ReviewRow], dict[str, str]]:
    """The newest decision per technique, the added spans, and the newest keep/drop per IOC value."""
    technique: dict[str, ReviewRow] = {}
    added: list[ReviewRow] = []
    ioc: dict[str, str] = {}
    for r in rows:
        if r.target == "ioc":
            ioc[r.ioc_value] = r.action
        elif r.action == "add":
            added.append(r)
        else:
            technique[r.technique_id] = r
    return technique, added, ioc


def _result(
    kb: KnowledgeBase, tid: str, score: float, evidence: list[Evidence], origin: str
) -> TechniqueResult:
    t = kb.techniques[tid]
    return TechniqueResult(
        id=t.id, name=t.name, tactics=kb.tactic_names(t), score=score, evidence=evidence, origin=origin
    )


def apply_reviews(analysis: Analysis, rows: list[ReviewRow], kb: KnowledgeBase, text: str) -> Analysis:
    """The Analysis as the analysts left it; attribution and defences are recomputed from it."""
    from ttpmap.pipeline import Options, assemble

    if not rows:
        return analysis
    by_technique, added, ioc = decisions(rows)
    techniques: dict[str, TechniqueResult] = {}
    for t in analysis.techniques:
        r = by_technique.get(t.id)
        if r is None:
            techniques[t.id] = t
        elif r.action == "accept":
            techniques[t.id] = t.model_copy(update={"origin": f"{t.origin}+reviewed"})
        elif r.action == "change" and r.new_technique_id in kb.techniques:
            new = _result(kb, r.new_technique_id, t.score, t.evidence, "reviewed")
            techniques.setdefault(new.id, new)
    for r in added:
        if r.technique_id not in kb.techniques or r.start is None or r.end is None:
            continue
        ev = Evidence(text=r.text, start=r.start, end=r.end, score=1.0)
        if r.technique_id in techniques:
            old = techniques[r.technique_id]
            techniques[r.technique_id] = old.model_copy(update={"evidence": [ev, *old.evidence]})
        else:
            techniques[r.technique_id] = _result(kb, r.technique_id, 1.0, [ev], "analyst")
    kept = [i for i in analysis.iocs if ioc.get(i.value) != "drop"]
    ordered = sorted(techniques.values(), key=lambda t: (-t.score, t.id))
    info = analysis.document
    doc = Document(
        text=text,
        title=info.title,
        source=info.source,
        sha256=info.sha256,
        media_type=info.media_type,
        sentences=(),
    )
    findings = Findings(document=doc, techniques=ordered, iocs=kept, entities=analysis.entities)
    reviewed = assemble(findings, kb, Options(attribution_top=max(len(analysis.attribution), 1)))
    reviewers = sorted({r.reviewer for r in rows})
    return reviewed.model_copy(
        update={
            "created": analysis.created,
            "generated_by": analysis.generated_by,
            "review": ReviewSummary(reviews=len(rows), reviewers=reviewers),
        }
    )
