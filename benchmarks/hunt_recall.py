"""How well "hunt for" suggestions recover techniques a report really showed (recall@10, out-of-sample).

Held-out reports: CTID's Technique Inference Engine (TIE) report technique sets are split 80/20 by a
seeded shuffle; from each test report with >= 3 techniques half of its techniques (at least one) are
hidden, the rest are "observed", and we count how many hidden ones are in the top 10 suggestions.
Models: popularity (baselines), ATT&CK campaigns+groups+software (the shipped default; it never
sees TIE), TIE training reports, and both. The cosine association (alpha 0.5) and using software
baskets too were chosen on an inner split of the TIE training reports. A second table holds out each
ATT&CK campaign in turn from an ATT&CK-only model (groups and software stay in, so it is an
optimistic leave-one-campaign-out). Nothing is written to disk.

    python benchmarks/hunt_recall.py --data ../shared/data [--attack BUNDLE] [--seeds 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
from collections import Counter
from pathlib import Path

from ttpmap.hunt import Cooccurrence, attack_baskets
from ttpmap.kb import KnowledgeBase, load_kb

K = 10


def tie_baskets(path: Path, kb: KnowledgeBase) -> list[set[str]]:
    """TIE report technique sets with IDs resolved against the KB (revoked -> replacement)."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            ids = {kb.resolve(t) for t in json.loads(line)["mitre_techniques"]}
            basket = {t for t in ids if t and t in kb.techniques}
            if basket:
                out.append(basket)
    return out


def split_observed(basket: set[str], rng: random.Random) -> tuple[set[str], set[str]]:
    items = sorted(basket)
    rng.shuffle(items)
    hidden = max(1, len(items) // 2)
    return set(items[hidden:]), set(items[:hidden])


def recall_at_k(model, cases) -> float:  # type: ignore[no-untyped-def]
    scores = []
    for observed, hidden in cases:
        top = {s.id for s in model.suggest(observed, K)}
        scores.append(len(top & hidden) / len(hidden))
    return statistics.mean(scores) if scores else float("nan")


class Popularity:
    """Baseline: the most common techniques not observed."""

    def __init__(self, baskets: list[set[str]]) -> None:
        self.common = [t for t, _ in Counter(t for b in baskets for t in b).most_common()]

    def suggest(self, observed, k):  # type: ignore[no-untyped-def]
        from ttpmap.hunt import HuntSuggestion

        implied = set(observed) | {t.split(".", 1)[0] for t in observed}
        return [HuntSuggestion(t, 0.0) for t in self.common if t not in implied][:k]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="../shared/data", type=Path)
    parser.add_argument("--attack", default=None, help="ATT&CK bundle (default: embedded v15.0)")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    kb = load_kb(args.attack)
    tie = tie_baskets(args.data / "tie" / "tie_reports.jsonl.gz", kb)
    attack = attack_baskets(kb)
    print(f"ATT&CK {kb.info.version}: {len(attack)} baskets; TIE: {len(tie)} reports")
    results: dict[str, list[float]] = {}
    n_cases = 0
    for seed in range(args.seeds):
        rng = random.Random(seed)
        order = list(range(len(tie)))
        rng.shuffle(order)
        cut = int(0.8 * len(order))
        train = [tie[i] for i in order[:cut]]
        test = [tie[i] for i in order[cut:] if len(tie[i]) >= 3]
        cases = [split_observed(b, rng) for b in test]
        n_cases = len(cases)
        models = {
            "popularity (ATT&CK baskets)": Popularity(attack),
            "popularity (TIE train)": Popularity(train),
            "ATT&CK only (shipped default)": Cooccurrence().fit(attack),
            "TIE train only": Cooccurrence().fit(train),
            "ATT&CK + TIE train": Cooccurrence().fit(attack).fit(train),
        }
        for name, model in models.items():
            results.setdefault(name, []).append(recall_at_k(model, cases))
    print(f"\nrecall@{K} of hidden techniques, TIE held-out reports ({n_cases} per seed, {args.seeds} seeds)")
    for name, values in results.items():
        sd = statistics.pstdev(values) if len(values) > 1 else 0.0
        print(f"  {name:<32} {statistics.mean(values):.3f} ± {sd:.3f}")

    campaigns = {c: set() for c in kb.campaigns}
    for p in kb.procedures:
        if p.source_id in campaigns and p.target_id in kb.techniques:
            campaigns[p.source_id].add(p.target_id)
    rng = random.Random(0)
    loco = []
    for cid, basket in sorted(campaigns.items()):
        if len(basket) < 3:
            continue
        others = [b for b in attack_baskets(kb, ("G", "S"))] + [
            b for c, b in sorted(campaigns.items()) if c != cid and len(b) > 1
        ]
        model = Cooccurrence().fit(others)
        loco.append(recall_at_k(model, [split_observed(basket, rng)]))
    print(f"\nrecall@{K}, each ATT&CK campaign held out ({len(loco)} campaigns): {statistics.mean(loco):.3f}")


if __name__ == "__main__":
    main()
