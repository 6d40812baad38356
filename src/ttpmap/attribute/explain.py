"""Why a group is a candidate: the shared evidence, what is distinctive, what is missing, in words.

Explanations support an analyst's judgement; they state consistency with a group's recorded
tradecraft, never that the group did it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ttpmap.attribute.profiles import GroupProfile, ProfileSet
from ttpmap.attribute.rank import (
    DEFAULT_WEIGHTS,
    AttributionQuery,
    RankWeights,
    cluster_similarity,
    query_vector,
)
from ttpmap.extract.victimology import SECTOR_NAMES
from ttpmap.kb import KnowledgeBase
from ttpmap.models import (
    AbsentTechnique,
    ClosestActivity,
    Coverage,
    Explanation,
    RelatedTechnique,
    SoftwareRef,
    TechniqueRef,
    VictimologyOverlap,
)

DISTINCTIVE_SHARE = 0.1
"""A technique used by at most this share of groups is called distinctive."""


def _name(kb: KnowledgeBase, oid: str) -> str:
    for table in (kb.techniques, kb.software, kb.campaigns, kb.groups):
        obj = table.get(oid)
        if obj is not None:
            return obj.name
    return oid


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _via(kb: KnowledgeBase, prof: GroupProfile, sources: tuple[str, ...]) -> list[str]:
    out = []
    for src in sources:
        if src == prof.id:
            out.append("group")
        elif src in kb.campaigns:
            out.append(f"campaign {src} {kb.campaigns[src].name}")
        else:
            out.append(f"software {src} {_name(kb, src)}")
    return out


def explain_candidate(
    q: AttributionQuery,
    prof: GroupProfile,
    ps: ProfileSet,
    kb: KnowledgeBase,
    components: Mapping[str, float],
    *,
    rank: int,
    probability: float,
    confidence: str,
    weak: bool = False,
    weights: RankWeights = DEFAULT_WEIGHTS,
) -> Explanation:
    """Shared and distinctive evidence, victimology overlap, expected-but-absent behaviour, a summary."""
    n_groups = len(ps.profiles)
    parents = ps.parents.get(prof.id, {})
    shared: list[TechniqueRef] = []
    families: list[RelatedTechnique] = []
    for tid, w in q.techniques.items():
        strength = prof.techniques.get(tid, 0.0)
        if strength:
            shared.append(
                TechniqueRef(
                    id=tid,
                    name=_name(kb, tid),
                    weight=round(w * strength * ps.technique_weight(tid), 3),
                    groups_using=ps.technique_groups.get(tid, 0),
                    via=_via(kb, prof, prof.technique_sources.get(tid, ())),
                )
            )
        elif tid.split(".", 1)[0] in parents:
            parent = tid.split(".", 1)[0]
            related = sorted(t for t in prof.techniques if t.split(".", 1)[0] == parent)
            families.append(RelatedTechnique(id=tid, name=_name(kb, tid), group_uses=related))
    shared.sort(key=lambda x: (-x.weight, x.id))
    distinctive = [s for s in shared if s.groups_using <= max(1, DISTINCTIVE_SHARE * n_groups)]

    software = sorted(
        (
            SoftwareRef(
                id=s,
                name=_name(kb, s),
                groups_using=ps.software_groups.get(s, 0),
                system_utility=s in ps.utilities,
            )
            for s in q.software
            if s in prof.software
        ),
        # built-in utilities last: sharing them says little
        key=lambda x: (x.system_utility, x.groups_using, x.id),
    )
    cves = sorted(c for c in q.cves if c in prof.cves)
    victims = VictimologyOverlap(
        sectors=sorted(SECTOR_NAMES.get(s, s) for s in q.sectors if s in prof.sectors),
        countries=sorted(c for c in q.countries if c in prof.countries),
        regions=sorted(r for r in q.regions if r in prof.regions),
        origin=sorted(o for o in q.origin if o in prof.origin),
    )
    observed_parents = {t.split(".", 1)[0] for t in q.techniques}
    absent = [
        AbsentTechnique(id=tid, name=_name(kb, tid), groups_using=ps.technique_groups.get(tid, 0))
        for tid, _ in ps.characteristic_techniques(prof.id, limit=20)
        if tid not in q.techniques and tid.split(".", 1)[0] not in observed_parents
    ][:5]

    qv = query_vector(q, ps)
    closest: ClosestActivity | None = None
    for cluster in prof.clusters:
        sim = cluster_similarity(qv, cluster, ps)
        if sim > 0 and (closest is None or sim > closest.similarity):
            label = "its own recorded procedures" if cluster.id == prof.id else kb.campaigns[cluster.id].name
            closest = ClosestActivity(id=cluster.id, name=label, similarity=round(sim, 3))

    weighted = {k: round(getattr(weights, k) * v, 3) for k, v in components.items()}
    explanation = Explanation(
        behavioural_rank=rank,
        probability=round(probability, 4),
        shared_techniques=shared,
        distinctive_techniques=[s.id for s in distinctive],
        related_techniques=families,
        shared_software=software,
        shared_cves=cves,
        victimology_overlap=victims,
        expected_not_observed=absent,
        closest_activity=closest,
        coverage=Coverage(matched=len(shared), observed=len(q.techniques), profile=len(prof.techniques)),
        score_components=weighted,
        weak_evidence=weak,
    )
    named_claim = None
    if prof.id in q.named_groups:
        verdict = "which corroborates the claim" if rank <= 3 else "so behaviour alone does not single it out"
        named_claim = (
            f"The report names {prof.name}; its behaviour ranks this group #{rank} of {n_groups}, {verdict}."
        )
    return explanation.model_copy(
        update={"summary": summary_sentence(prof, confidence, explanation, kb), "named_claim": named_claim}
    )


def summary_sentence(prof: GroupProfile, confidence: str, expl: Explanation, kb: KnowledgeBase) -> str:
    """One estimative sentence: consistency with a group's tradecraft and the main reasons."""
    reasons = []
    names = [s.name for s in expl.shared_software if not s.system_utility][:3]
    if names:
        reasons.append(f"shared use of {_join(names)}")
    distinctive = [s for s in expl.shared_techniques if s.id in expl.distinctive_techniques][:2]
    if distinctive:
        parts = [f"{s.name} ({s.id}, recorded for {s.groups_using} groups)" for s in distinctive]
        reasons.append(f"uncommon techniques such as {_join(parts)}")
    cov = expl.coverage
    if cov.matched and not distinctive:
        reasons.append(f"{cov.matched} of {cov.observed} observed techniques in its recorded tradecraft")
    if expl.shared_cves:
        reasons.append(f"exploitation of {_join(expl.shared_cves[:2])}")
    v = expl.victimology_overlap
    where = v.countries or v.regions
    if v.sectors or where:
        bits = []
        if v.sectors:
            bits.append(_join([s.lower() for s in v.sectors[:2]]) + " targets")
        if where:
            bits.append("in " + _join(where[:2]))
        reasons.append("victimology (" + " ".join(bits) + ") matching its known targeting")
    lead = f"The observed activity is consistent with {prof.name} ({confidence} confidence)"
    if expl.weak_evidence or not reasons:
        return lead + ", but the shared evidence is generic and does not single the group out."
    return f"{lead}: {_join(reasons[:3])}."
