"""Greedy weighted set cover: the ranking that mitigations and detections share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ttpmap.kb import Link
from ttpmap.models import TechniqueResult


@dataclass(frozen=True)
class Pick:
    """One chosen covering set: what it newly covered and in which layer of coverage."""

    key: str
    covers: tuple[str, ...]
    gain: float
    share: float
    layer: int
    coverage: float
    advice: dict[str, str] = field(default_factory=dict)


def technique_weights(techniques: Iterable[TechniqueResult]) -> dict[str, float]:
    """Weight of each observed technique: its score (the best one when an ID repeats), floored at 0."""
    weights: dict[str, float] = {}
    for t in techniques:
        weights[t.id] = max(weights.get(t.id, 0.0), max(float(t.score), 0.0))
    return weights


def candidate_sets(
    weights: Mapping[str, float], links_for: Callable[[str], list[Link]]
) -> dict[str, dict[str, str]]:
    """For each source (mitigation, data component): observed technique -> the link's text.

    A sub-technique also counts as covered by a link to its parent, because ATT&CK attaches general
    advice to the parent; a parent is not covered by a link to one of its sub-techniques, since that
    addresses only one variant. A direct link's text wins over the parent's.
    """
    sets: dict[str, dict[str, str]] = {}
    for tid in weights:
        parent = tid.split(".", 1)[0]
        direct = links_for(tid)
        inherited = links_for(parent) if parent != tid else []
        for link in direct:
            sets.setdefault(link.source_id, {})[tid] = link.text
        for link in inherited:
            sets.setdefault(link.source_id, {}).setdefault(tid, link.text)
    return sets


def greedy_cover(
    sets: Mapping[str, Mapping[str, str]],
    weights: Mapping[str, float],
    *,
    limit: int,
    priority: Mapping[str, float] | None = None,
) -> list[Pick]:
    """Pick sets by the weight they newly cover, best first, until ``limit``.

    When every coverable technique is covered once, a new layer starts (defence in depth): the
    remaining sets compete again for all techniques. ``priority`` scales a set's gain for choosing
    only (e.g. to keep generic pseudo-mitigations from leading); reported gains are never scaled.
    Ties break on total covered weight, then on the key, so the order is deterministic.
    """
    total = sum(weights.values()) or 1.0
    priority = priority or {}
    remaining = {k: v for k, v in sets.items() if any(weights.get(t, 0.0) > 0 for t in v)}
    totals = {k: sum(weights.get(t, 0.0) for t in v) for k, v in remaining.items()}
    picks: list[Pick] = []
    covered: set[str] = set()
    ever: set[str] = set()
    layer = 1
    while remaining and len(picks) < limit:
        gains = {k: sum(weights.get(t, 0.0) for t in v if t not in covered) for k, v in remaining.items()}
        best = min(remaining, key=lambda k: (-gains[k] * priority.get(k, 1.0), -totals[k], k))
        best_gain = gains[best]
        if best_gain <= 0:
            if not covered:
                break
            covered = set()
            layer += 1
            continue
        chosen = remaining.pop(best)
        covered.update(chosen)
        ever.update(chosen)
        covers = tuple(sorted(chosen, key=lambda t: (-weights.get(t, 0.0), t)))
        picks.append(
            Pick(
                key=best,
                covers=covers,
                gain=best_gain,
                share=round(best_gain / total, 4),
                layer=layer,
                coverage=round(sum(weights.get(t, 0.0) for t in ever) / total, 4),
                advice={t: chosen[t] for t in covers},
            )
        )
    return picks
