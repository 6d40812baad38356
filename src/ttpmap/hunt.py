"""What to hunt for next: techniques that usually accompany the observed ones (item co-occurrence).

Fitted from "baskets" of techniques seen together: ATT&CK's own campaigns, groups and software (the
shipped default), and the technique sets of stored analyses. Suggestions are kept apart from the
observed techniques; they are leads for a hunt, not findings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ttpmap.kb import KnowledgeBase


@dataclass(frozen=True)
class HuntSuggestion:
    """A technique to look for, its score, and the observed techniques it most often accompanies."""

    id: str
    score: float
    because: tuple[str, ...] = ()


def attack_baskets(kb: KnowledgeBase, kinds: Iterable[str] = ("C", "G", "S")) -> list[set[str]]:
    """One technique set per ATT&CK campaign, group and software (their direct ``uses``)."""
    wanted = tuple(kinds)
    baskets: dict[str, set[str]] = defaultdict(set)
    for p in kb.procedures:
        if p.source_id.startswith(wanted) and p.target_id in kb.techniques:
            baskets[p.source_id].add(p.target_id)
    return [b for _, b in sorted(baskets.items()) if len(b) > 1]


@dataclass
class Cooccurrence:
    """Item-to-item cosine co-occurrence of techniques; ``fit`` on baskets, then ``suggest``.

    ``support`` drops pairs seen together fewer times (noise); ``alpha`` sets how much a common
    technique is discounted (association of observed i with candidate j is C_ij / (C_i^(1-alpha) C_j^alpha):
    0 is P(j|i), 0.5 cosine); ``weight`` scales the baskets of one ``fit`` call.
    """

    support: int = 1
    alpha: float = 0.5
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    baskets: float = 0.0

    def fit(self, baskets: Iterable[Iterable[str]], weight: float = 1.0) -> Cooccurrence:
        """Add the co-occurrences of ``baskets`` (may be called again to add more sources)."""
        for basket in baskets:
            items = sorted(set(basket))
            self.baskets += weight
            for i, a in enumerate(items):
                self.counts[a] += weight  # type: ignore[assignment]
                for b in items[i + 1 :]:
                    self.pairs[(a, b)] += weight  # type: ignore[assignment]
        self._neighbours: dict[str, list[tuple[str, float]]] | None = None
        return self

    def _index(self) -> dict[str, list[tuple[str, float]]]:
        if getattr(self, "_neighbours", None) is None:
            near: dict[str, list[tuple[str, float]]] = defaultdict(list)
            for (a, b), n in self.pairs.items():
                if n < self.support:
                    continue
                ca, cb = self.counts[a], self.counts[b]
                near[a].append((b, n / (ca ** (1 - self.alpha) * cb**self.alpha)))
                near[b].append((a, n / (cb ** (1 - self.alpha) * ca**self.alpha)))
            self._neighbours = dict(near)
        return self._neighbours  # type: ignore[return-value]

    def suggest(self, observed: Iterable[str], k: int = 10) -> list[HuntSuggestion]:
        """The ``k`` techniques most associated with ``observed`` that were not observed themselves.

        Parents of observed sub-techniques are implied, so never suggested.
        """
        seen = set(observed)
        implied = seen | {t.split(".", 1)[0] for t in seen}
        scores: Counter[str] = Counter()
        reasons: dict[str, Counter[str]] = defaultdict(Counter)
        near = self._index()
        for o in seen:
            for other, sim in near.get(o, ()):
                if other in implied:
                    continue
                scores[other] += sim  # type: ignore[assignment]
                reasons[other][o] += sim  # type: ignore[assignment]
        if not scores and self.counts:  # nothing links to what was seen: fall back to what is common
            for tid, n in self.counts.most_common(k + len(implied)):
                if tid not in implied:
                    scores[tid] = n / max(self.baskets, 1.0)  # type: ignore[assignment]
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [
            HuntSuggestion(tid, round(score, 4), tuple(t for t, _ in reasons[tid].most_common(3)))
            for tid, score in best
        ]


def default_hunt(kb: KnowledgeBase, stored: Iterable[Iterable[str]] = ()) -> Cooccurrence:
    """The shipped model: ATT&CK campaigns, groups and software, plus the store's technique sets."""
    model = Cooccurrence().fit(attack_baskets(kb))
    return model.fit(stored)
