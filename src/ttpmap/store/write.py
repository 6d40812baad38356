"""Write one document's results (or its failure) in one transaction; look up what is already done."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ttpmap import __version__
from ttpmap.models import Analysis
from ttpmap.store.engine import Store
from ttpmap.store.schema import (
    AnalysisRow,
    CandidateRow,
    CVERow,
    DocumentRow,
    EntityRow,
    FailureRow,
    IndicatorRow,
    MitigationRow,
    TechniqueRow,
    utcnow,
)

RETRIES = 3


@dataclass(frozen=True)
class RunKey:
    """What makes two analyses of the same bytes interchangeable."""

    model_version: str
    kb_sha256: str


def analysed(store: Store, sha256s: Iterable[str], key: RunKey) -> set[str]:
    """The sha256s among ``sha256s`` that already have an analysis under ``key``."""
    wanted = list(set(sha256s))
    done: set[str] = set()
    with store.session() as session:
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            rows = session.execute(
                select(DocumentRow.sha256)
                .join(AnalysisRow)
                .where(
                    DocumentRow.sha256.in_(chunk),
                    AnalysisRow.model_version == key.model_version,
                    AnalysisRow.kb_sha256 == key.kb_sha256,
                )
            )
            done.update(r[0] for r in rows)
    return done


def _document(session: Session, analysis: Analysis, text: str) -> DocumentRow:
    info = analysis.document
    doc = session.scalar(select(DocumentRow).where(DocumentRow.sha256 == info.sha256))
    if doc is None:
        doc = DocumentRow(
            sha256=info.sha256,
            title=info.title,
            source=info.source,
            media_type=info.media_type,
            text=text,
            added_at=utcnow(),
        )
        session.add(doc)
        session.flush()
    return doc


def _query_rows(analysis_id: int, analysis: Analysis) -> dict[type, list[dict[str, object]]]:
    """The query-table rows of an analysis, as plain dicts per table (inserted in bulk)."""
    a = analysis_id
    techniques = []
    for t in analysis.techniques:
        best = max(t.evidence, key=lambda e: e.score, default=None)
        techniques.append(
            {
                "analysis_id": a,
                "technique_id": t.id,
                "score": t.score,
                "origin": t.origin[:64],
                "evidence_start": best.start if best else None,
                "evidence_end": best.end if best else None,
            }
        )
    entities = [
        {"analysis_id": a, "kind": kind, "attack_id": r.id, "name": r.name, "mention": r.mention}
        for kind, refs in (
            ("group", analysis.entities.groups),
            ("software", analysis.entities.software),
            ("campaign", analysis.entities.campaigns),
        )
        for r in refs
    ]
    return {
        TechniqueRow: techniques,
        IndicatorRow: [{"analysis_id": a, "type": i.type, "value": i.value[:2048]} for i in analysis.iocs],
        CVERow: [{"analysis_id": a, "cve_id": c.id} for c in analysis.entities.cves],
        EntityRow: entities,
        CandidateRow: [
            {
                "analysis_id": a,
                "group_id": c.id,
                "name": c.name,
                "rank": rank,
                "score": c.score,
                "confidence": c.confidence,
            }
            for rank, c in enumerate(analysis.attribution, 1)
        ],
        MitigationRow: [
            {"analysis_id": a, "mitigation_id": m.id, "name": m.name, "score": m.score}
            for m in analysis.mitigations
        ],
    }


def save_analysis(store: Store, analysis: Analysis, text: str, key: RunKey, *, seconds: float = 0.0) -> int:
    """Store the document (once) and its analysis under ``key``, replacing an earlier one; returns its id.

    Everything happens in one transaction, so a crash leaves either all of it or none of it. A clash
    with another writer storing the same document at the same moment is retried.
    """
    for attempt in range(RETRIES):
        try:
            return _save(store, analysis, text, key, seconds)
        except (IntegrityError, OperationalError):
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _save(store: Store, analysis: Analysis, text: str, key: RunKey, seconds: float) -> int:
    with store.session() as session, session.begin():
        doc = _document(session, analysis, text)
        session.execute(
            delete(AnalysisRow).where(
                AnalysisRow.document_id == doc.id,
                AnalysisRow.model_version == key.model_version,
                AnalysisRow.kb_sha256 == key.kb_sha256,
            )
        )
        session.execute(
            delete(FailureRow).where(
                FailureRow.sha256 == doc.sha256,
                FailureRow.model_version == key.model_version,
                FailureRow.kb_sha256 == key.kb_sha256,
            )
        )
        row = AnalysisRow(
            document_id=doc.id,
            model_version=key.model_version,
            kb_sha256=key.kb_sha256,
            attack_version=analysis.attack.version,
            schema_version=analysis.schema_,
            ttpmap_version=__version__,
            seconds=seconds,
            created_at=utcnow(),
            result=analysis.model_dump(mode="json", by_alias=True),
        )
        session.add(row)
        session.flush()
        for table, rows in _query_rows(row.id, analysis).items():
            if rows:
                session.execute(insert(table), rows)
        return row.id


def record_failure(store: Store, sha256: str, source: str, reason: str, key: RunKey) -> None:
    """Remember that a document failed under ``key`` and why (one line)."""
    reason = " ".join(reason.split())[:1000]
    with store.session() as session, session.begin():
        row = session.scalar(
            select(FailureRow).where(
                FailureRow.sha256 == sha256,
                FailureRow.model_version == key.model_version,
                FailureRow.kb_sha256 == key.kb_sha256,
            )
        )
        if row is None:
            session.add(
                FailureRow(
                    sha256=sha256,
                    source=source,
                    model_version=key.model_version,
                    kb_sha256=key.kb_sha256,
                    reason=reason,
                    failed_at=utcnow(),
                )
            )
        else:
            row.source, row.reason, row.failed_at = source, reason, utcnow()
