"""Questions asked of the corpus: which documents match, which are related, what the corpus looks like.

Every query reads the newest analysis of each document, so a re-analysis with a new model replaces the
old one in answers while both stay stored.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Select, func, or_, select

from ttpmap.errors import UsageError
from ttpmap.store.engine import Store
from ttpmap.store.schema import (
    AnalysisRow,
    CandidateRow,
    CVERow,
    DocumentRow,
    EntityRow,
    IndicatorRow,
    MitigationRow,
    TechniqueRow,
)

RARE_SHARE = 0.2
"""A technique counts towards relatedness only if at most this share of the corpus shows it."""


@dataclass(frozen=True)
class Filters:
    """Conditions a document must meet (all of them); empty means the whole corpus."""

    techniques: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    software: tuple[str, ...] = ()
    iocs: tuple[str, ...] = ()
    cves: tuple[str, ...] = ()
    since: datetime | None = None


@dataclass
class Match:
    """A document that meets the filters, with what in it matched."""

    document_id: int
    sha256: str
    title: str
    source: str
    added_at: datetime
    evidence: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Related:
    """A document sharing features with the query document; ``shared`` maps a kind to the shared values."""

    document_id: int
    sha256: str
    title: str
    score: float
    shared: dict[str, list[str]]


def parse_since(value: str) -> datetime:
    """An ISO date or date-time (UTC if no zone) for ``--since``."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"--since wants a date like 2024-05-01, not {value!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _refang(value: str) -> str:
    from ttpmap.extract.iocs import find_iocs

    found = find_iocs(value.strip())
    return found[0].value if len(found) == 1 else value.strip()


def latest_analyses() -> Select:
    """The id of the newest analysis of every document."""
    return select(func.max(AnalysisRow.id).label("id")).group_by(AnalysisRow.document_id)


def _technique_clause(tid: str):
    tid = tid.strip().upper()
    return or_(TechniqueRow.technique_id == tid, TechniqueRow.technique_id.like(f"{tid}.%"))


def _group_clause(gid: str):
    gid = gid.strip().upper()
    named = select(EntityRow.analysis_id).where(EntityRow.kind == "group", EntityRow.attack_id == gid)
    attributed = select(CandidateRow.analysis_id).where(
        CandidateRow.group_id == gid, CandidateRow.confidence != "low"
    )
    return or_(AnalysisRow.id.in_(named), AnalysisRow.id.in_(attributed))


def selected(filters: Filters) -> Select:
    """Analysis ids (newest per document) meeting every filter."""
    query = select(AnalysisRow.id).where(AnalysisRow.id.in_(latest_analyses()))
    for tid in filters.techniques:
        query = query.where(
            AnalysisRow.id.in_(select(TechniqueRow.analysis_id).where(_technique_clause(tid)))
        )
    for gid in filters.groups:
        query = query.where(_group_clause(gid))
    for sid in filters.software:
        query = query.where(
            AnalysisRow.id.in_(
                select(EntityRow.analysis_id).where(
                    EntityRow.kind == "software", EntityRow.attack_id == sid.strip().upper()
                )
            )
        )
    for ioc in filters.iocs:
        query = query.where(
            AnalysisRow.id.in_(select(IndicatorRow.analysis_id).where(IndicatorRow.value == _refang(ioc)))
        )
    for cve in filters.cves:
        query = query.where(
            AnalysisRow.id.in_(select(CVERow.analysis_id).where(CVERow.cve_id == cve.strip().upper()))
        )
    if filters.since is not None:
        query = query.join(DocumentRow, DocumentRow.id == AnalysisRow.document_id).where(
            DocumentRow.added_at >= filters.since
        )
    return query


def _snippet(text: str, start: int | None, end: int | None, limit: int = 200) -> str:
    if start is None or end is None:
        return ""
    piece = " ".join(text[start:end].split())
    return piece if len(piece) <= limit else piece[: limit - 1] + "…"


def search(store: Store, filters: Filters, *, limit: int = 50) -> list[Match]:
    """Documents meeting the filters (newest first) with the evidence that matched each filter."""
    from ttpmap.defang import defang, defang_text
    from ttpmap.models import Indicator

    with store.session() as s:
        rows = s.execute(
            select(AnalysisRow.id, DocumentRow)
            .join(DocumentRow, DocumentRow.id == AnalysisRow.document_id)
            .where(AnalysisRow.id.in_(selected(filters)))
            .order_by(DocumentRow.added_at.desc(), DocumentRow.id.desc())
            .limit(limit)
        ).all()
        matches = []
        for aid, doc in rows:
            m = Match(doc.id, doc.sha256, doc.title, doc.source, doc.added_at)
            iocs = [
                Indicator(type=i.type, value=i.value, defanged=defang(i.value, i.type))
                for i in s.scalars(select(IndicatorRow).where(IndicatorRow.analysis_id == aid))
            ]
            for tid in filters.techniques:
                for t in s.scalars(
                    select(TechniqueRow).where(TechniqueRow.analysis_id == aid, _technique_clause(tid))
                ):
                    snippet = defang_text(_snippet(doc.text, t.evidence_start, t.evidence_end), iocs)
                    m.evidence.append(
                        {
                            "kind": "technique",
                            "id": t.technique_id,
                            "score": f"{t.score:.2f}",
                            "text": snippet,
                        }
                    )
            for gid in filters.groups:
                for e in s.scalars(
                    select(EntityRow).where(EntityRow.analysis_id == aid, EntityRow.attack_id == gid.upper())
                ):
                    m.evidence.append({"kind": "group", "id": e.attack_id, "text": f"named as {e.mention!r}"})
                for c in s.scalars(
                    select(CandidateRow).where(
                        CandidateRow.analysis_id == aid, CandidateRow.group_id == gid.upper()
                    )
                ):
                    m.evidence.append(
                        {
                            "kind": "group",
                            "id": c.group_id,
                            "text": f"attribution rank {c.rank}, {c.confidence} confidence ({c.score:.2f})",
                        }
                    )
            for sid in filters.software:
                for e in s.scalars(
                    select(EntityRow).where(EntityRow.analysis_id == aid, EntityRow.attack_id == sid.upper())
                ):
                    m.evidence.append(
                        {"kind": "software", "id": e.attack_id, "text": f"named as {e.mention!r}"}
                    )
            for ioc in filters.iocs:
                for i in s.scalars(
                    select(IndicatorRow).where(
                        IndicatorRow.analysis_id == aid, IndicatorRow.value == _refang(ioc)
                    )
                ):
                    m.evidence.append({"kind": "ioc", "id": i.type, "text": defang(i.value, i.type)})
            for cve in filters.cves:
                m.evidence.append({"kind": "cve", "id": cve.strip().upper(), "text": "named in the text"})
            matches.append(m)
    return matches


def resolve_document(store: Store, ref: str) -> int:
    """A document id from an id, a sha256 (or a unique prefix of at least 6 hex digits) or a file path."""
    ref = ref.strip()
    with store.session() as s:
        if Path(ref).is_file():
            sha = hashlib.sha256(Path(ref).read_bytes()).hexdigest()
            found = s.scalar(select(DocumentRow.id).where(DocumentRow.sha256 == sha))
            if found is None:
                raise UsageError(f"{ref} is not in the store (run `ttpmap batch {ref}` first)")
            return found
        if ref.isdigit() and len(ref) < 6:
            found = s.scalar(select(DocumentRow.id).where(DocumentRow.id == int(ref)))
            if found is not None:
                return found
        if len(ref) >= 6 and all(c in "0123456789abcdefABCDEF" for c in ref):
            ids = s.scalars(select(DocumentRow.id).where(DocumentRow.sha256.like(f"{ref.lower()}%")).limit(2))
            hits = list(ids)
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise UsageError(f"sha256 prefix {ref!r} matches several documents; give more digits")
    raise UsageError(f"no document {ref!r} in the store (give an id, a sha256 or a file path)")


def _features(store: Store, analysis_ids: Select) -> dict[int, set[tuple[str, str]]]:
    """(kind, value) features of each analysis: IOCs (kind ``ioc:<type>``), software, CVEs, techniques."""
    feats: dict[int, set[tuple[str, str]]] = defaultdict(set)
    with store.session() as s:
        for aid, kind, value in s.execute(
            select(IndicatorRow.analysis_id, IndicatorRow.type, IndicatorRow.value).where(
                IndicatorRow.analysis_id.in_(analysis_ids)
            )
        ):
            feats[aid].add((f"ioc:{kind}", value))
        for aid, value in s.execute(
            select(EntityRow.analysis_id, EntityRow.attack_id).where(
                EntityRow.analysis_id.in_(analysis_ids), EntityRow.kind == "software"
            )
        ):
            feats[aid].add(("software", value))
        for aid, value in s.execute(
            select(CVERow.analysis_id, CVERow.cve_id).where(CVERow.analysis_id.in_(analysis_ids))
        ):
            feats[aid].add(("cve", value))
        for aid, value in s.execute(
            select(TechniqueRow.analysis_id, TechniqueRow.technique_id).where(
                TechniqueRow.analysis_id.in_(analysis_ids)
            )
        ):
            feats[aid].add(("technique", value))
    return feats


def related(store: Store, document_id: int, *, limit: int = 10) -> list[Related]:
    """Documents sharing IOCs, software, CVEs or rare techniques with a document, by IDF-weighted cosine."""
    with store.session() as s:
        target = s.scalar(select(func.max(AnalysisRow.id)).where(AnalysisRow.document_id == document_id))
        if target is None:
            raise UsageError(f"document {document_id} has no analysis")
        total = s.scalar(select(func.count()).select_from(latest_analyses().subquery())) or 0
        docs = {
            aid: (doc_id, sha, title)
            for aid, doc_id, sha, title in s.execute(
                select(AnalysisRow.id, DocumentRow.id, DocumentRow.sha256, DocumentRow.title)
                .join(DocumentRow, DocumentRow.id == AnalysisRow.document_id)
                .where(AnalysisRow.id.in_(latest_analyses()))
            )
        }
    feats = _features(store, latest_analyses())
    df = Counter(f for fs in feats.values() for f in fs)
    rare = max(1.0, RARE_SHARE * total)

    def counted(f: tuple[str, str]) -> bool:
        return f[0] != "technique" or df[f] <= rare + 1

    def weight(f: tuple[str, str]) -> float:
        return math.log(1 + total / df[f])

    mine = {f for f in feats.get(target, set()) if counted(f)}
    norm_mine = math.sqrt(sum(weight(f) ** 2 for f in mine)) or 1.0
    out = []
    for aid, fs in feats.items():
        if aid == target or aid not in docs:
            continue
        shared = mine & fs
        if not shared:
            continue
        theirs = {f for f in fs if counted(f)}
        norm = math.sqrt(sum(weight(f) ** 2 for f in theirs)) or 1.0
        score = sum(weight(f) ** 2 for f in shared) / (norm_mine * norm)
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, value in sorted(shared):
            by_kind[kind].append(value)
        doc_id, sha, title = docs[aid]
        out.append(Related(doc_id, sha, title, round(score, 4), dict(by_kind)))
    out.sort(key=lambda r: (-r.score, r.document_id))
    return out[:limit]


def technique_counts(store: Store, filters: Filters) -> tuple[int, Counter[str]]:
    """How many documents are selected, and in how many of them each technique was found."""
    chosen = selected(filters)
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(chosen.subquery())) or 0
        counts: Counter[str] = Counter(
            dict(
                s.execute(
                    select(TechniqueRow.technique_id, func.count(func.distinct(TechniqueRow.analysis_id)))
                    .where(TechniqueRow.analysis_id.in_(chosen))
                    .group_by(TechniqueRow.technique_id)
                ).all()
            )
        )
    return total, counts


@dataclass
class Summary:
    """Document counts per technique, named group, attributed group, software and mitigation."""

    documents: int
    techniques: list[tuple[str, int]]
    groups_named: list[tuple[str, str, int]]
    groups_attributed: list[tuple[str, str, int]]
    software: list[tuple[str, str, int]]
    mitigations: list[tuple[str, str, int]]


def _named_counts(s, column_id, column_name, where, chosen, top):
    table = column_id.class_
    rows = s.execute(
        select(column_id, func.max(column_name), func.count(func.distinct(table.analysis_id)).label("n"))
        .where(table.analysis_id.in_(chosen), *where)
        .group_by(column_id)
        .order_by(func.count(func.distinct(table.analysis_id)).desc(), column_id)
        .limit(top)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def summary(store: Store, filters: Filters, *, top: int = 10) -> Summary:
    """Top techniques, groups (named / attributed first), software and mitigations across the selection."""
    total, counts = technique_counts(store, filters)
    chosen = selected(filters)
    with store.session() as s:
        named = _named_counts(
            s, EntityRow.attack_id, EntityRow.name, [EntityRow.kind == "group"], chosen, top
        )
        attributed = _named_counts(
            s, CandidateRow.group_id, CandidateRow.name, [CandidateRow.rank == 1], chosen, top
        )
        software = _named_counts(
            s, EntityRow.attack_id, EntityRow.name, [EntityRow.kind == "software"], chosen, top
        )
        mitigations = _named_counts(s, MitigationRow.mitigation_id, MitigationRow.name, [], chosen, top)
    techniques = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return Summary(total, techniques, named, attributed, software, mitigations)


def technique_sets(store: Store) -> dict[int, set[str]]:
    """The technique IDs of each document's newest analysis, by document id (co-occurrence baskets)."""
    sets: dict[int, set[str]] = defaultdict(set)
    with store.session() as s:
        for doc_id, tid in s.execute(
            select(AnalysisRow.document_id, TechniqueRow.technique_id)
            .join(TechniqueRow, TechniqueRow.analysis_id == AnalysisRow.id)
            .where(AnalysisRow.id.in_(latest_analyses()))
        ):
            sets[doc_id].add(tid)
    return dict(sets)
