"""What the pages and the API show: report lists with filters, a report with its review applied, matrices.

Pure assembly from the store and the KB; no HTML here (templates escape everything they print).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ttpmap.defang import defang_text
from ttpmap.errors import UsageError
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis, Indicator
from ttpmap.server import review as reviews_mod
from ttpmap.store import Store
from ttpmap.store import query as q
from ttpmap.store.schema import AnalysisRow, CandidateRow, DocumentRow, EntityRow, TechniqueRow
from ttpmap.store.workbench import JobRow, ReviewRow

PAGE_SIZE = 50
_TOKEN = re.compile(r"\S+")
_MAYBE_NETWORK = re.compile(r"[.:/\[]")


@dataclass(frozen=True)
class ListQuery:
    """Report-list filters: the store's corpus filters plus review status and full-text search."""

    filters: q.Filters = field(default_factory=q.Filters)
    reviewed: str = ""  # "", "reviewed" or "unreviewed"
    text: str = ""
    limit: int = PAGE_SIZE
    offset: int = 0


def list_query(
    technique: str = "",
    group: str = "",
    software: str = "",
    ioc: str = "",
    cve: str = "",
    since: str = "",
    reviewed: str = "",
    text: str = "",
    limit: int = PAGE_SIZE,
    offset: int = 0,
) -> ListQuery:
    """A ListQuery from form or query-string values (blank means no filter)."""

    def one(v: str) -> tuple[str, ...]:
        return (v.strip(),) if v and v.strip() else ()

    if reviewed not in ("", "reviewed", "unreviewed"):
        raise UsageError("review status must be reviewed or unreviewed")
    filters = q.Filters(
        techniques=one(technique),
        groups=one(group),
        software=one(software),
        iocs=one(ioc),
        cves=one(cve),
        since=q.parse_since(since) if since.strip() else None,
    )
    return ListQuery(filters, reviewed, text.strip()[:200], max(1, min(limit, 200)), max(0, offset))


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_reports(store: Store, lq: ListQuery) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of rows) newest first, with status, top techniques and actors."""
    chosen = q.selected(lq.filters).subquery()
    base = select(AnalysisRow.id, AnalysisRow.document_id).join(chosen, chosen.c.id == AnalysisRow.id)
    base = base.join(DocumentRow, DocumentRow.id == AnalysisRow.document_id)
    if lq.text:
        base = base.where(func.lower(DocumentRow.text).like(_like(lq.text), escape="\\"))
    reviewed = select(ReviewRow.document_id)
    if lq.reviewed == "reviewed":
        base = base.where(AnalysisRow.document_id.in_(reviewed))
    elif lq.reviewed == "unreviewed":
        base = base.where(AnalysisRow.document_id.not_in(reviewed))
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(base.subquery())) or 0
        page = s.execute(
            base.add_columns(
                DocumentRow.title, DocumentRow.source, DocumentRow.added_at, AnalysisRow.model_version
            )
            .order_by(DocumentRow.added_at.desc(), DocumentRow.id.desc())
            .limit(lq.limit)
            .offset(lq.offset)
        ).all()
        aids = [r[0] for r in page]
        top: dict[int, list[str]] = {}
        for aid, tid in s.execute(
            select(TechniqueRow.analysis_id, TechniqueRow.technique_id)
            .where(TechniqueRow.analysis_id.in_(aids))
            .order_by(TechniqueRow.analysis_id, TechniqueRow.score.desc(), TechniqueRow.technique_id)
        ):
            top.setdefault(aid, []).append(tid)
        stated: dict[int, list[str]] = {}
        for aid, name in s.execute(
            select(EntityRow.analysis_id, EntityRow.name).where(
                EntityRow.analysis_id.in_(aids), EntityRow.kind == "group"
            )
        ):
            stated.setdefault(aid, []).append(name)
        behavioural: dict[int, str] = {}
        for aid, name, conf in s.execute(
            select(CandidateRow.analysis_id, CandidateRow.name, CandidateRow.confidence).where(
                CandidateRow.analysis_id.in_(aids), CandidateRow.rank == 1
            )
        ):
            behavioural[aid] = f"{name} ({conf})"
    counts = reviews_mod.review_counts(store, [r[1] for r in page])
    rows = [
        {
            "id": doc_id,
            "title": title or source,
            "source": source,
            "added_at": added.isoformat() if isinstance(added, datetime) else str(added),
            "status": "reviewed" if counts.get(doc_id) else "analysed",
            "reviews": counts.get(doc_id, 0),
            "model_version": version,
            "techniques": len(top.get(aid, [])),
            "top_techniques": top.get(aid, [])[:5],
            "stated_actors": sorted(set(stated.get(aid, []))),
            "behavioural_actor": behavioural.get(aid, ""),
        }
        for aid, doc_id, title, source, added, version in page
    ]
    return total, rows


def reviewed_analysis(
    store: Store, kb: KnowledgeBase, document_id: int
) -> tuple[DocumentRow, AnalysisRow, Analysis, list[ReviewRow]]:
    """The document, its newest analysis row, the Analysis with reviews applied, and the reviews."""
    doc, row = reviews_mod.latest_analysis(store, document_id)
    rows = reviews_mod.reviews(store, document_id)
    analysis = reviews_mod.apply_reviews(Analysis.model_validate(row.result), rows, kb, doc.text)
    return doc, row, analysis, rows


def segments(text: str, analysis: Analysis, extra: list[tuple[int, int, str]] = ()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    """The text cut at every evidence boundary; each piece has its offsets, techniques and shown text.

    Pieces whose words hold network indicators are shown defanged and marked ``ioc`` (the browser
    snaps selections to them, since their shown text no longer matches the offsets).
    """
    spans: list[tuple[int, int, str]] = list(extra)
    for t in analysis.techniques:
        spans += [(e.start, e.end, t.id) for e in t.evidence if 0 <= e.start < e.end <= len(text)]
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    iocs: list[Indicator] = analysis.iocs
    out: list[dict[str, Any]] = []
    for a, b in itertools.pairwise(cuts):
        techs = sorted({tid for s, e, tid in spans if s <= a and b <= e})
        piece, pos = text[a:b], 0
        for m in _TOKEN.finditer(piece):
            if not _MAYBE_NETWORK.search(m.group(0)):
                continue  # no dot, colon or slash: not a host, address or URL, nothing to defang
            shown = defang_text(m.group(0), iocs)
            if shown != m.group(0):
                if m.start() > pos:
                    out.append(_seg(a + pos, a + m.start(), piece[pos : m.start()], techs, False))
                out.append(_seg(a + m.start(), a + m.end(), shown, techs, True))
                pos = m.end()
        if pos < len(piece):
            out.append(_seg(a + pos, b, piece[pos:], techs, False))
    return out


def _seg(start: int, end: int, shown: str, techs: list[str], ioc: bool) -> dict[str, Any]:
    return {"s": start, "e": end, "text": shown, "techs": " ".join(techs), "ioc": ioc}


def matrix(kb: KnowledgeBase, scores: dict[str, float]) -> list[dict[str, Any]]:
    """Tactic columns in kill-chain order holding the given techniques, each with a heat level 1-5."""
    top = max(scores.values(), default=0.0) or 1.0
    columns = []
    for tactic in kb.tactics:
        cells = []
        for tid, value in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
            t = kb.techniques.get(tid)
            if t is not None and tactic.shortname in t.tactics:
                cells.append(
                    {"id": tid, "name": t.name, "value": value, "heat": 1 + min(4, int(4 * value / top))}
                )
        columns.append({"tactic": tactic.name, "cells": cells})
    return columns


def technique_picker(kb: KnowledgeBase, text: str, limit: int = 20) -> list[dict[str, str]]:
    """Techniques whose ID or name matches ``text`` (IDs first)."""
    needle = text.strip().lower()
    if not needle:
        return []
    hits = []
    for t in kb.techniques.values():
        idl, namel = t.id.lower(), t.name.lower()
        if idl.startswith(needle):
            hits.append((0, t.id, t))
        elif needle in namel:
            hits.append((1 if namel.startswith(needle) else 2, t.id, t))
    hits.sort(key=lambda h: (h[0], h[1]))
    out = []
    for _, _, t in hits[:limit]:
        parent = kb.techniques.get(t.parent) if t.parent else None
        out.append({"id": t.id, "name": f"{parent.name}: {t.name}" if parent else t.name})
    return out


def job_counts_for(store: Store, document_ids: list[int]) -> dict[int, str]:
    """The newest job state of each document (to show 'queued' or 'running' in lists)."""
    with store.session() as s:
        rows = s.execute(
            select(JobRow.document_id, JobRow.status)
            .where(JobRow.document_id.in_(document_ids))
            .order_by(JobRow.id)
        ).all()
    return {d: st for d, st in rows if d is not None}
