"""Rank the threat groups whose recorded tradecraft is consistent with a report's findings.

The behavioural score of a group adds up, over the report's evidence, how distinctive each shared item
is (its IDF across group profiles): exact techniques, technique families, software (built-in system
utilities such as Net or schtasks at a tenth), CVEs and victimology, plus how closely the report
resembles one body of the group's recorded activity (its own procedures or one of its campaigns). Names
of groups never enter the score; a group the report names is flagged ``named_in_text`` so that analysts
can see whether behaviour corroborates the claim.

Scores become probabilities through a calibration map (softmax log-odds and the margin over the
runner-up, Platt-fitted on held-out cases built from the knowledge base itself; see
:mod:`ttpmap.attribute.calibrate`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ttpmap.attribute.calibrator import DEFAULT_CALIBRATOR, Calibrator
from ttpmap.attribute.profiles import (
    CLUSTER_SOFTWARE_WEIGHT,
    ActivityCluster,
    GroupProfile,
    ProfileSet,
    build_profiles,
)
from ttpmap.attribute.provenance import BESPOKE, provenance_weight
from ttpmap.attribute.textsim import name_table, terms
from ttpmap.errors import UsageError
from ttpmap.extract.victimology import region_of
from ttpmap.kb import KnowledgeBase
from ttpmap.models import CampaignCandidate, Findings, GroupCandidate, NationalityCheck, StatedAttribution

HIGH = 0.7
"""Calibrated probability from which a candidate is reported with high confidence."""
MODERATE = 0.4
"""Calibrated probability from which a candidate is reported with moderate confidence."""
MIN_EVIDENCE = 3.0
"""The ranking abstains ("nothing distinctive") when the evidence shared with the best candidate (IDF
sum of techniques, software and CVEs) is below this: about one technique recorded for fewer than a tenth
of the groups. Low probability alone does not abstain: a shortlist with honest confidence is shown."""
PRIMARY_VICTIMOLOGY = {"sectors": 3, "countries": 3, "regions": 2, "origin": 1}
"""How many of a report's most-mentioned sectors, countries, regions and origins enter a query."""
SIMILARITY_SHRINK = 5.0
"""Added to the cosine denominator so that a few generic techniques cannot look like a close match."""


@dataclass(frozen=True)
class RankWeights:
    """How much each kind of evidence counts in the behavioural score (each term is already IDF-weighted)."""

    techniques: float = 1.0
    technique_families: float = 0.5
    software: float = 1.5
    utilities: float = 0.15
    """Built-in system utilities (Net, cmd, schtasks...) count a tenth of other software: every
    intrusion runs them. Chosen on the KB's own cases (synthetic MRR .579 -> .599 on v15.0, .562 ->
    .588 on v18.1; LOCO unchanged)."""
    cves: float = 1.0
    sectors: float = 1.0
    countries: float = 2.0
    regions: float = 1.0
    origin: float = 1.0
    profile_size: float = -1.0
    cluster_similarity: float = 40.0
    campaign_similarity: float = 40.0
    text_similarity: float = 160.0
    """Chosen on the embedded v15.0 KB's own cases (LOCO + synthetic MRR plateaus from 120 to 240)."""


DEFAULT_WEIGHTS = RankWeights()


@dataclass(frozen=True)
class AttributionQuery:
    """The behavioural evidence of one report, in KB identifiers, plus the groups it names.

    ``techniques`` maps technique IDs to how sure extraction is of them (0..1]. ``named_groups`` never
    feeds the score; it only sets ``named_in_text`` on candidates.
    """

    techniques: Mapping[str, float] = field(default_factory=dict)
    software: frozenset[str] = frozenset()
    cves: frozenset[str] = frozenset()
    sectors: frozenset[str] = frozenset()
    countries: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    origin: frozenset[str] = frozenset()
    named_groups: frozenset[str] = frozenset()
    prominence: Mapping[str, float] = field(default_factory=dict)
    """How central each victim is to the report (``"sectors:energy"`` -> mentions over the top one's);
    victims not listed count fully."""
    text_terms: Mapping[str, int] = field(default_factory=dict)
    """Term counts of the report text with every group and campaign name cut out
    (:func:`ttpmap.extract.features.terms`), for procedure-text similarity."""

    @property
    def is_empty(self) -> bool:
        """True when the query holds no behavioural evidence at all."""
        return not (self.techniques or self.software or self.cves)

    @classmethod
    def build(
        cls,
        kb: KnowledgeBase,
        *,
        techniques: Iterable[str] | Mapping[str, float] = (),
        software: Iterable[str] = (),
        cves: Iterable[str] = (),
        sectors: Iterable[str] = (),
        countries: Iterable[str] = (),
        regions: Iterable[str] = (),
        origin: Iterable[str] = (),
        named_groups: Iterable[str] = (),
        text: str = "",
    ) -> AttributionQuery:
        """A query from explicit IDs or names (CLI flags); revoked IDs follow their replacement.

        Raises :class:`UsageError` for an unknown technique, software or group.
        """
        weights = dict(techniques) if isinstance(techniques, Mapping) else dict.fromkeys(techniques, 1.0)
        tech: dict[str, float] = {}
        for raw, w in weights.items():
            tid = _resolve(kb, raw, kb.techniques, "technique")
            tech[tid] = max(tech.get(tid, 0.0), float(w))
        cty = frozenset(countries)
        return cls(
            techniques=tech,
            software=frozenset(_resolve(kb, s, kb.software, "software") for s in software),
            cves=frozenset(c.strip().upper() for c in cves if c.strip()),
            sectors=frozenset(sectors),
            countries=cty,
            regions=frozenset(regions) | frozenset(r for c in cty if (r := region_of(c))),
            origin=frozenset(origin),
            named_groups=frozenset(_resolve(kb, g, kb.groups, "group") for g in named_groups),
            text_terms=terms(text, name_table(kb)) if text else {},
        )


def _resolve(kb: KnowledgeBase, ref: str, table: Mapping[str, object], kind: str) -> str:
    ref = ref.strip()
    rid = kb.resolve(ref) if kb.is_attack_id(ref) else None
    if rid is not None and rid in table:
        return rid
    lowered = ref.lower()
    for oid, obj in table.items():
        names = [getattr(obj, "name", ""), *getattr(obj, "aliases", ())]
        if any(n.lower() == lowered for n in names):
            return oid
    raise UsageError(f"unknown {kind} {ref!r} in ATT&CK {kb.version}")


def query_from_findings(findings: Findings, kb: KnowledgeBase) -> AttributionQuery:
    """The attribution query of a report: its techniques, software, CVEs, victimology, text terms and
    named groups, all read from the findings (never from the raw text, so saved analyses rank alike)."""
    tech: dict[str, float] = {}
    for t in findings.techniques:
        tid = kb.resolve(t.id)
        if tid in kb.techniques:
            tech[tid] = max(tech.get(tid, 0.0), min(1.0, max(0.0, float(t.score))))
    ents = findings.entities
    software = frozenset(sid for e in ents.software if (sid := kb.resolve(e.id)) in kb.software)
    groups = frozenset(gid for e in ents.groups if (gid := kb.resolve(e.id)) in kb.groups)
    return AttributionQuery(
        techniques=tech,
        software=software,
        cves=frozenset(c.id.upper() for c in ents.cves),
        named_groups=groups,
        text_terms=dict(findings.text_terms),
        **primary_victimology(findings.victimology.model_dump()),
    )


def primary_victimology(victimology: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """The most-mentioned sectors, countries, regions and origin of a :func:`find_victimology` result,
    with the prominence of each (its mentions over the most-mentioned one of its kind).

    A report that lists twenty countries in passing says little; its main victims are the ones it
    keeps coming back to, so only the top few of each kind are kept (regions of kept countries added).
    """
    prominence: dict[str, float] = {}

    def top(kind: str) -> list[str]:
        counts = victimology.get(kind, {})
        kept = sorted(counts, key=lambda k: -counts[k])[: PRIMARY_VICTIMOLOGY[kind]]
        most = max((counts[k] for k in kept), default=1) or 1
        prominence.update({f"{kind}:{k}": counts[k] / most for k in kept})
        return kept

    countries = top("countries")
    return {
        "sectors": frozenset(top("sectors")),
        "countries": frozenset(countries),
        "regions": frozenset(top("regions")) | frozenset(r for c in countries if (r := region_of(c))),
        "origin": frozenset(top("origin")),
        "prominence": prominence,
    }


# ---- scoring ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryVector:
    """The query as a weighted vector for cosine similarity with activity clusters."""

    techniques: dict[str, float]
    software: dict[str, float]
    norm: float


def query_vector(q: AttributionQuery, ps: ProfileSet) -> QueryVector:
    """The query's techniques (by confidence x IDF) and software (by a multiple of IDF) as a vector."""
    tech = {t: w * ps.technique_weight(t) for t, w in q.techniques.items()}
    soft = {s: CLUSTER_SOFTWARE_WEIGHT * ps.software_weight(s) for s in q.software}
    norm = math.sqrt(sum(v * v for v in tech.values()) + sum(v * v for v in soft.values()))
    return QueryVector(tech, soft, norm)


def cluster_similarity(qv: QueryVector, cluster: ActivityCluster, ps: ProfileSet) -> float:
    """Cosine between the query and one activity cluster, both IDF-weighted."""
    norm = ps.cluster_norm(cluster)
    if not norm or not qv.norm:
        return 0.0
    dot = sum(w * ps.technique_weight(t) for t, w in qv.techniques.items() if t in cluster.techniques)
    dot += sum(
        w * CLUSTER_SOFTWARE_WEIGHT * ps.software_weight(s)
        for s, w in qv.software.items()
        if s in cluster.software
    )
    return dot / (qv.norm * norm + SIMILARITY_SHRINK)


def score_components(
    q: AttributionQuery,
    prof: GroupProfile,
    ps: ProfileSet,
    qv: QueryVector,
    text_sims: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Each evidence term of one group's behavioural score, before weighting."""
    tech = fam = 0.0
    parents = ps.parents.get(prof.id, {})
    own = prof.techniques
    t_idf, p_idf, default = ps.technique_idf, ps.parent_idf, ps.default_idf
    for tid, w in q.techniques.items():
        if "." not in tid:
            # a report naming only the parent technique matches any use of its family
            strength = parents.get(tid)
            if strength:
                tech += w * strength * p_idf.get(tid, default)
            continue
        strength = own.get(tid)
        if strength:
            tech += w * strength * t_idf.get(tid, default)
            continue
        parent = tid.split(".", 1)[0]
        strength = parents.get(parent)
        if strength:
            fam += w * 0.5 * strength * p_idf.get(parent, default)
    # squared IDF: a malware family only one group uses says far more than a tool twenty groups use
    soft = utils = 0.0
    for s in q.software:
        if s in prof.software:
            shared = prof.software[s] * ps.software_weight(s) ** 2
            if s in ps.utilities:
                utils += shared
            else:
                soft += shared * provenance_weight(ps.provenance.get(s, BESPOKE))
    cves = sum(prof.cves.get(c, 0.0) * ps.cve_idf.get(c, 0.0) for c in q.cves)
    prom = q.prominence
    sectors = sum(
        ps.sector_idf.get(s, 0.0) * prom.get(f"sectors:{s}", 1.0) for s in q.sectors if s in prof.sectors
    )
    countries = sum(
        ps.country_idf.get(c, 0.0) * prom.get(f"countries:{c}", 1.0)
        for c in q.countries
        if c in prof.countries
    )
    regions = sum(
        ps.region_idf.get(r, 0.0) * prom.get(f"regions:{r}", 1.0) for r in q.regions if r in prof.regions
    )
    origin = sum(ps.origin_idf.get(o, 0.0) for o in q.origin if o in prof.origin)
    best = best_campaign = 0.0
    if qv.norm:
        for cluster in prof.clusters:
            sim = cluster_similarity(qv, cluster, ps)
            best = max(best, sim)
            if cluster.id != prof.id:
                best_campaign = max(best_campaign, sim)
    return {
        "techniques": tech,
        "technique_families": fam,
        "software": soft,
        "utilities": utils,
        "cves": cves,
        "sectors": sectors,
        "countries": countries,
        "regions": regions,
        "origin": origin,
        "profile_size": math.log1p(len(prof.techniques)),
        "cluster_similarity": best,
        "campaign_similarity": best_campaign,
        "text_similarity": (text_sims or {}).get(prof.id, 0.0),
    }


def text_similarities(q: AttributionQuery, ps: ProfileSet) -> dict[str, float]:
    """TF-IDF cosine of the report text with each group's procedure and description text."""
    if not q.text_terms or ps.text_index is None:
        return {}
    return ps.text_index.similarities(q.text_terms)


def weighted_score(components: Mapping[str, float], weights: RankWeights = DEFAULT_WEIGHTS) -> float:
    """The behavioural score: the weighted sum of the components."""
    return sum(getattr(weights, k) * v for k, v in components.items())


@dataclass(frozen=True)
class ScoredGroup:
    """One group's raw behavioural score and its components."""

    id: str
    score: float
    components: dict[str, float]


def score_groups(
    q: AttributionQuery, ps: ProfileSet, weights: RankWeights = DEFAULT_WEIGHTS
) -> list[ScoredGroup]:
    """Every group's behavioural score for the query, best first (ties by ID)."""
    qv = query_vector(q, ps)
    sims = text_similarities(q, ps)
    scored = []
    for gid, prof in ps.profiles.items():
        comps = score_components(q, prof, ps, qv, sims)
        scored.append(ScoredGroup(gid, weighted_score(comps, weights), comps))
    scored.sort(key=lambda s: (-s.score, s.id))
    return scored


def shared_evidence(components: Mapping[str, float]) -> float:
    """Information shared with a group: IDF sums of techniques (families at half), software and CVEs."""
    return (
        components["techniques"]
        + 0.5 * components["technique_families"]
        + components["software"]
        + components.get("utilities", 0.0)
        + components["cves"]
    )


def confidence_word(probability: float) -> Literal["low", "moderate", "high"]:
    """Estimative confidence for a calibrated probability: high, moderate or low."""
    if probability >= HIGH:
        return "high"
    if probability >= MODERATE:
        return "moderate"
    return "low"


def _as_query(findings: Findings | AttributionQuery, kb: KnowledgeBase) -> AttributionQuery:
    return findings if isinstance(findings, AttributionQuery) else query_from_findings(findings, kb)


def nationality_check(
    group_id: str, stated: Iterable[str], countries: Mapping[str, str]
) -> NationalityCheck | None:
    """How a group's known country compares with the nationality the report states (None if either is
    unknown)."""
    said = sorted(set(stated))
    known = countries.get(group_id)
    if not said or not known:
        return None
    return NationalityCheck(stated=said, group=known, consistent=known in said)


def gate_by_nationality(
    scored: Sequence[ScoredGroup], nationality: Iterable[str], countries: Mapping[str, str]
) -> tuple[list[ScoredGroup], dict[str, NationalityCheck | None]]:
    """The groups whose known country does not contradict the stated nationality (order kept), and each
    group's :func:`nationality_check`."""
    said = list(nationality)
    checks = {s.id: nationality_check(s.id, said, countries) for s in scored}
    eligible = [s for s in scored if (c := checks[s.id]) is None or c.consistent]
    return eligible, checks


def rank_groups(
    findings: Findings | AttributionQuery,
    kb: KnowledgeBase,
    *,
    top: int = 5,
    include_weak: bool = False,
    profiles: ProfileSet | None = None,
    weights: RankWeights = DEFAULT_WEIGHTS,
    calibrator: Calibrator = DEFAULT_CALIBRATOR,
    stated: StatedAttribution | None = None,
    group_countries: Mapping[str, str] | None = None,
) -> list[GroupCandidate]:
    """Groups whose tradecraft is consistent with the findings, best first, with calibrated scores.

    A ranked shortlist with honest (calibrated, often low) confidence is returned whenever something
    distinctive is shared; it abstains (``[]``) only when the evidence shared with the best group is below
    ``MIN_EVIDENCE`` (nothing distinctive), unless ``include_weak``: then the raw ranking is returned with
    ``explanation.weak_evidence`` set.
    Groups the report names (or holds responsible in ``stated``) are appended after the top ones with
    their behavioural rank. When the report states the actor's nationality and ``group_countries`` knows
    a group's country, groups of another country are set aside (gated) before the top is chosen and
    probabilities are computed; each candidate's explanation shows the check.
    """
    from ttpmap.attribute.explain import explain_candidate

    q = _as_query(findings, kb)
    if q.is_empty:
        return []
    ps = profiles or build_profiles(kb)
    scored = score_groups(q, ps, weights)
    behavioural_rank = {s.id: i + 1 for i, s in enumerate(scored)}
    eligible, checks = gate_by_nationality(
        scored, stated.nationality if stated else (), group_countries or {}
    )
    gated = len(scored) - len(eligible)
    gated_rank = {s.id: i + 1 for i, s in enumerate(eligible)}
    probs = dict(
        zip((s.id for s in eligible), calibrator.probabilities([s.score for s in eligible]), strict=True)
    )
    rest = calibrator.probabilities([s.score for s in scored])
    for s, p in zip(scored, rest, strict=True):
        probs.setdefault(s.id, p)
    first = eligible[0] if eligible else scored[0]
    weak = shared_evidence(first.components) < MIN_EVIDENCE
    named = set(q.named_groups) | {g.id for g in (stated.groups if stated else ()) if g.id}
    if weak and not include_weak and not named:
        return []
    # abstaining keeps the groups the report names, so that its own claim can still be checked
    chosen = [] if weak and not include_weak else list(eligible[:top])
    chosen += [s for s in scored if s.id in named and s not in chosen]
    out = []
    for s in chosen:
        prof = ps[s.id]
        p = probs[s.id]
        conf = confidence_word(p)
        expl = explain_candidate(
            q,
            prof,
            ps,
            kb,
            s.components,
            rank=behavioural_rank[s.id],
            probability=p,
            confidence=conf,
            weak=bool(weak),
            weights=weights,
        )
        expl = expl.model_copy(
            update={
                "nationality_check": checks[s.id],
                "gated_groups": gated,
                "groups_ranked": len(scored),
                "gated_rank": gated_rank.get(s.id) if gated else None,
            }
        )
        out.append(
            GroupCandidate(
                id=s.id,
                name=prof.name,
                aliases=list(prof.aliases),
                score=round(p, 4),
                confidence=conf,
                named_in_text=s.id in named,
                explanation=expl,
            )
        )
    return out


def rank_campaigns(
    findings: Findings | AttributionQuery,
    kb: KnowledgeBase,
    top: int = 3,
    *,
    profiles: ProfileSet | None = None,
    min_score: float = 0.05,
) -> list[CampaignCandidate]:
    """The known ATT&CK campaigns whose recorded techniques and software most resemble the report.

    ``score`` is the IDF-weighted cosine similarity (shrunk for thin evidence); campaigns below
    ``min_score`` are left out.
    """
    q = _as_query(findings, kb)
    if q.is_empty:
        return []
    ps = profiles or build_profiles(kb)
    qv = query_vector(q, ps)
    scored = []
    for cid, cluster in ps.campaigns.items():
        sim = cluster_similarity(qv, cluster, ps)
        if sim >= min_score:
            scored.append((sim, cid, cluster))
    scored.sort(key=lambda x: (-x[0], x[1]))
    out = []
    for sim, cid, cluster in scored[:top]:
        shared_t = sorted(
            (t for t in q.techniques if t in cluster.techniques), key=lambda t: (-ps.technique_weight(t), t)
        )
        shared_s = sorted(
            (s for s in q.software if s in cluster.software), key=lambda s: (-ps.software_weight(s), s)
        )
        out.append(
            CampaignCandidate(
                id=cid,
                name=kb.campaigns[cid].name,
                score=round(sim, 4),
                attributed_to=list(kb.campaigns[cid].attributed_to),
                shared_techniques=shared_t,
                shared_software=shared_s,
            )
        )
    return out
