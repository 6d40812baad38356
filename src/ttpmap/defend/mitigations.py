"""Rank ATT&CK mitigations by how much of the observed activity they address."""

from __future__ import annotations

from collections.abc import Iterable

from ttpmap import lexicon
from ttpmap.defend.coverage import candidate_sets, greedy_cover, technique_weights
from ttpmap.kb import KnowledgeBase
from ttpmap.models import MitigationResult, TechniqueResult

# Catch-all categories rather than controls: kept in the ranking, but their gain counts a quarter when
# choosing, so that e.g. "Pre-compromise" (everything before initial access) never leads the list.
GENERIC_MITIGATIONS = {m: float(p) for m, p in lexicon.records("defend/generic_mitigations")}


def rank_mitigations(
    techniques: Iterable[TechniqueResult], kb: KnowledgeBase, limit: int = 10
) -> list[MitigationResult]:
    """Mitigations chosen by greedy weighted set cover of the observed techniques (weight = score).

    ``score`` is the share of the total technique weight that the mitigation newly covered when it was
    picked; extra fields give ``coverage`` (cumulative share covered after the pick), ``weight_share``
    (share it covers on its own) and ``layer`` (2 once every coverable technique has one mitigation).
    ``advice`` holds, per covered technique, the ATT&CK relationship's own description.
    """
    weights = technique_weights(techniques)
    sets = candidate_sets(weights, kb.mitigations_for)
    sets = {k: v for k, v in sets.items() if k in kb.mitigations}
    total = sum(weights.values()) or 1.0
    results: list[MitigationResult] = []
    for pick in greedy_cover(sets, weights, limit=limit, priority=GENERIC_MITIGATIONS):
        mitigation = kb.mitigations[pick.key]
        results.append(
            MitigationResult(
                id=mitigation.id,
                name=mitigation.name,
                covers=list(pick.covers),
                score=pick.share,
                advice=pick.advice,
                coverage=pick.coverage,
                weight_share=round(sum(weights[t] for t in pick.covers) / total, 4),
                layer=pick.layer,
                url=mitigation.url,
            )
        )
    return results
