"""Rank ATT&CK data components by how much of the observed activity they would see."""

from __future__ import annotations

from collections.abc import Iterable

from ttpmap import lexicon
from ttpmap.defend.coverage import candidate_sets, greedy_cover, technique_weights
from ttpmap.kb import DataComponent, KnowledgeBase
from ttpmap.models import DetectionResult, TechniqueResult

# ATT&CK before v18 names data sources but not the logs behind them: the usual places to look
# (data/defend/typical_logs.txt). Bundles with log sources (v18+) win.
TYPICAL_LOGS: dict[str, tuple[str, ...]] = {
    source: tuple(logs) for source, *logs in lexicon.records("defend/typical_logs")
}


def log_sources(component: DataComponent) -> list[str]:
    """Where to look for this component: the bundle's log sources, else typical ones for its data source."""
    if component.log_sources:
        return list(component.log_sources)
    typical = TYPICAL_LOGS.get(component.data_source, ())
    if typical:
        return [f"{component.data_source}: {log}" for log in typical]
    return [f"{component.data_source or component.name} data source"]


def rank_detections(
    techniques: Iterable[TechniqueResult], kb: KnowledgeBase, limit: int = 10
) -> list[DetectionResult]:
    """Data components chosen by greedy weighted set cover of the observed techniques (weight = score).

    Scoring matches :func:`ttpmap.defend.rank_mitigations`: ``score`` is the share of technique weight
    newly covered at the pick; extras ``coverage``, ``weight_share``, ``layer`` and ``advice``
    (technique -> the ATT&CK detection text).
    """
    weights = technique_weights(techniques)
    sets = candidate_sets(weights, kb.detections_for)
    sets = {k: v for k, v in sets.items() if k in kb.data_components}
    total = sum(weights.values()) or 1.0
    results: list[DetectionResult] = []
    for pick in greedy_cover(sets, weights, limit=limit):
        component = kb.data_components[pick.key]
        results.append(
            DetectionResult(
                id=component.id,
                name=component.name,
                data_source=component.data_source,
                covers=list(pick.covers),
                score=pick.share,
                log_sources=log_sources(component),
                coverage=pick.coverage,
                weight_share=round(sum(weights[t] for t in pick.covers) / total, 4),
                layer=pick.layer,
                advice=pick.advice,
            )
        )
    return results
