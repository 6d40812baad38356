"""Calibrated attribution probabilities, fitted only on cases the knowledge base itself provides.

Two kinds of held-out case come from ATT&CK alone: leave-one-campaign-out (a campaign attributed to a
group becomes a query, and everything the KB knows only through it is removed first) and synthetic
reports sampled from a group's profile, part of which is hidden from the profile as "new" tradecraft,
mixed with noise. A softmax temperature is fitted by log loss of the true group, then a Platt map on
the softmax log-odds and the margin over the runner-up, so that a top candidate at 0.7 is right about
70% of the time. The shipped parameters were fitted on the embedded ATT&CK v15.0 bundle; for another
bundle, :meth:`ttpmap.attribute.Attributor.fit` refits them with
``fit_calibrator(score_cases(kb_cases(kb)))``. This module is fitting code (it imports scipy); ranking
at run time needs only :mod:`ttpmap.attribute.calibrator`.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from ttpmap.attribute.calibrator import DEFAULT_CALIBRATOR, Calibrator
from ttpmap.attribute.profiles import (
    KBFacts,
    ProfileSet,
    build_group_profile,
    build_profiles,
    find_cves,
    kb_name_mask,
    mine_kb,
)
from ttpmap.attribute.rank import (
    AttributionQuery,
    RankWeights,
    ScoredGroup,
    primary_victimology,
    score_groups,
)
from ttpmap.extract.victimology import SECTORS, find_victimology, region_of
from ttpmap.kb import KnowledgeBase

GENERIC_SHARE = 0.15
"""Share of synthetic reports that show only a few of the commonest techniques."""
_NOISE_COUNTRIES = (
    "United States",
    "Ukraine",
    "India",
    "Japan",
    "Germany",
    "Israel",
    "South Korea",
    "Brazil",
)


# ---- held-out cases from the KB ------------------------------------------------------------------


@dataclass(frozen=True)
class AttributionCase:
    """A query whose responsible group(s) are known, with the profiles it must be ranked against."""

    id: str
    kind: str
    query: AttributionQuery
    gold: frozenset[str]
    profiles: ProfileSet


def campaign_query(
    kb: KnowledgeBase,
    campaign_id: str,
    *,
    with_context: bool = False,
    with_text: bool = False,
    facts: KBFacts | None = None,
) -> AttributionQuery:
    """A campaign as a report: its techniques and software; with ``with_context`` also the CVEs and
    victimology mined from its description and procedure text, with ``with_text`` that text's terms
    (never the names in it)."""
    procs = kb.uses(campaign_id)
    tech = {p.target_id: 1.0 for p in procs if p.target_id in kb.techniques}
    soft = frozenset(p.target_id for p in procs if p.target_id in kb.software)
    facts = facts or mine_kb(kb)
    text_terms = _source_terms(facts, campaign_id) if with_text else {}
    if not with_context:
        return AttributionQuery(techniques=tech, software=soft, text_terms=text_terms)
    text = "\n".join([kb.campaigns[campaign_id].description, *(p.text for p in procs)])
    return AttributionQuery(
        techniques=tech,
        software=soft,
        cves=frozenset(find_cves(text)),
        text_terms=text_terms,
        **primary_victimology(find_victimology(text, names=kb_name_mask(kb))),
    )


def _source_terms(facts: KBFacts, source_id: str, targets: Iterable[str] | None = None) -> dict[str, int]:
    """Name-free term counts of a KB object's description and procedures (only ``targets``' if given)."""
    st = facts.texts.get(source_id)
    if st is None:
        return {}
    out: Counter[str] = Counter()
    if targets is None:
        out.update(st.description)
        for counts in st.procedures.values():
            out.update(counts)
    else:
        for t in targets:
            out.update(st.procedures.get(t, {}))
    return dict(out)


def loco_cases(
    kb: KnowledgeBase, *, with_context: bool = False, with_text: bool = False, facts: KBFacts | None = None
) -> list[AttributionCase]:
    """Leave-one-campaign-out: each attributed campaign with recorded behaviour, against profiles built
    without it."""
    facts = facts or mine_kb(kb)
    cases = []
    for cid, camp in kb.campaigns.items():
        gold = frozenset(g for g in camp.attributed_to if g in kb.groups)
        if not gold:
            continue
        q = campaign_query(kb, cid, with_context=with_context, with_text=with_text, facts=facts)
        if q.is_empty:
            continue
        profiles = build_profiles(kb, exclude_campaigns=[cid], facts=facts)
        cases.append(AttributionCase(cid, "loco", q, gold, profiles))
    return cases


def synthetic_cases(
    kb: KnowledgeBase, n: int = 300, seed: int = 0, facts: KBFacts | None = None
) -> list[AttributionCase]:
    """Reports sampled from group profiles: known tradecraft, tradecraft hidden from the profile, noise.

    For each case some of the group's techniques and software are removed from its profile and may
    appear in the report as new behaviour; the rest of the report is drawn from what the profile still
    holds (common techniques more often), plus unrelated techniques and tools.
    """
    rng = random.Random(seed)
    facts = facts or mine_kb(kb)
    full = build_profiles(kb, facts=facts)
    popularity: dict[str, int] = {}
    for p in kb.procedures:
        if p.target_id in kb.techniques:
            popularity[p.target_id] = popularity.get(p.target_id, 0) + 1
    all_techs = sorted(popularity)
    tech_w = [popularity[t] for t in all_techs]
    all_soft = sorted(kb.software)
    groups = [
        g for g, prof in full.profiles.items() if sum(1 for s in prof.techniques.values() if s >= 1) >= 5
    ]
    group_w = [math.sqrt(len(full[g].techniques)) for g in groups]
    by_target: dict[str, list[str]] = {}
    for p in kb.procedures:
        if p.text and p.source_id in kb.groups:
            by_target.setdefault(p.target_id, []).append(p.source_id)
    cases = []
    for i in range(n):
        gid = rng.choices(groups, group_w)[0]
        full_prof = full[gid]
        own_t = sorted(t for t, s in full_prof.techniques.items() if s >= 1)
        own_s = sorted(full_prof.software)
        hold = rng.uniform(0.15, 0.5)
        held_t = [t for t in own_t if rng.random() < hold]
        held_s = [s for s in own_s if rng.random() < 0.4]
        prof = build_group_profile(kb, gid, exclude_targets=held_t + held_s, facts=facts)
        known = sorted(t for t, s in prof.techniques.items() if s >= 1) or sorted(prof.techniques)
        generic = rng.random() < GENERIC_SHARE
        k = rng.randint(1, 4) if generic else rng.randint(2, 30)
        n_known = min(len(known), max(1, round(k * rng.uniform(0.35, 0.8))))
        # a generic report shows only the commonest behaviour; others favour common techniques mildly
        weights = [popularity.get(t, 1) ** (2.0 if generic else 0.5) for t in known]
        chosen: set[str] = set()
        while len(chosen) < n_known:
            chosen.add(rng.choices(known, weights)[0])
        for t in rng.sample(held_t, len(held_t)):
            if len(chosen) >= k or generic:
                break
            chosen.add(t)
        noise = [rng.choices(all_techs, tech_w)[0] for _ in range(rng.choice((0, 0, 1, 2)))]
        chosen.update(noise)
        soft: set[str] = set()
        if not generic:
            soft = {s for s in held_s if rng.random() < 0.5}
            if prof.software and rng.random() < 0.5:
                soft.add(rng.choice(sorted(prof.software)))
            if rng.random() < 0.25:
                soft.add(rng.choice(all_soft))
        # victimology is noisy in reports: a few of the group's known targets, often unrelated ones
        countries = {c for c in list(prof.countries)[:3] if rng.random() < 0.2}
        if rng.random() < 0.4:
            countries.add(rng.choice(_NOISE_COUNTRIES))
        sectors = {s for s in list(prof.sectors)[:3] if rng.random() < 0.2}
        if rng.random() < 0.4:
            sectors.add(rng.choice(sorted(SECTORS)))
        # the report's prose: the KB's own words for the held-out behaviour (absent from the profile's
        # text) plus another actor's words for each noise technique; never text the profile still holds
        text = Counter(_source_terms(facts, gid, [t for t in held_t + held_s if t in chosen or t in soft]))
        for t in noise:
            users = by_target.get(t, ())
            if users:
                text.update(_source_terms(facts, rng.choice(users), [t]))
        q = AttributionQuery(
            techniques=dict.fromkeys(sorted(chosen), 1.0),
            text_terms=dict(text),
            software=frozenset(soft),
            cves=frozenset(c for c, s in prof.cves.items() if s >= 1 and rng.random() < 0.15),
            sectors=frozenset(sectors),
            countries=frozenset(countries),
            regions=frozenset(r for c in countries if (r := region_of(c))),
            origin=frozenset(o for o in prof.origin if rng.random() < 0.15),
        )
        cases.append(
            AttributionCase(f"synthetic-{i}", "synthetic", q, frozenset({gid}), full.with_profile(prof))
        )
    return cases


def kb_cases(
    kb: KnowledgeBase, n_synthetic: int = 300, seed: int = 0, facts: KBFacts | None = None
) -> list[AttributionCase]:
    """All calibration cases the KB provides: LOCO (with campaign context and text) and synthetic."""
    facts = facts or mine_kb(kb)
    return loco_cases(kb, with_context=True, with_text=True, facts=facts) + synthetic_cases(
        kb, n_synthetic, seed, facts
    )


# ---- fitting ---------------------------------------------------------------------------------------


class RankedLike(Protocol):
    """Anything with a case (holding ``gold``) and a best-first ranking of scored groups."""

    @property
    def case(self) -> Any: ...

    @property
    def ranking(self) -> list[ScoredGroup]: ...

    @property
    def scores(self) -> list[float]: ...


@dataclass(frozen=True)
class ScoredCase:
    """A case after ranking: raw scores of every group, best first, and the gold rank (1-based)."""

    case: AttributionCase
    ranking: list[ScoredGroup]

    @property
    def scores(self) -> list[float]:
        return [s.score for s in self.ranking]

    @property
    def gold_rank(self) -> int:
        return next(
            (i + 1 for i, s in enumerate(self.ranking) if s.id in self.case.gold), len(self.ranking) + 1
        )


def score_cases(cases: Sequence[AttributionCase], weights: RankWeights | None = None) -> list[ScoredCase]:
    """Rank every case against its own profiles."""
    kw = {} if weights is None else {"weights": weights}
    return [ScoredCase(c, score_groups(c.query, c.profiles, **kw)) for c in cases]


def _gold_mask(sc: RankedLike) -> np.ndarray:
    return np.array([s.id in sc.case.gold for s in sc.ranking])


def fit_calibrator(scored: Sequence[RankedLike]) -> Calibrator:
    """Temperature by held-out log loss of the gold group(s), then Platt on the top candidate."""
    data = [(np.asarray(sc.scores), _gold_mask(sc)) for sc in scored]

    def nll(log_t: float) -> float:
        t = math.exp(log_t)
        total = 0.0
        for s, gold in data:
            z = s / t
            z = z - z.max()
            logp = z - math.log(np.exp(z).sum())
            total -= float(np.logaddexp.reduce(logp[gold])) if gold.any() else 0.0
        return total

    res = minimize_scalar(nll, bounds=(math.log(0.05), math.log(200.0)), method="bounded")
    base = Calibrator(temperature=float(math.exp(res.x)))
    x = np.array([base.log_odds_features(s)[0] for s, _ in data]).reshape(-1, 2)
    y = np.array([1.0 if gold[0] else 0.0 for _, gold in data])
    (slope, margin_slope), intercept = _platt(x, y)
    return Calibrator(base.temperature, slope, margin_slope, intercept)


def _platt(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> tuple[tuple[float, float], float]:
    """Logistic regression of y on the columns of x (lightly regularised); (coefficients, intercept)."""

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[:-1] + w[-1]
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-12
        value = -np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + l2 * float(w[:-1] @ w[:-1])
        g = p - y
        grad = np.append(x.T @ g + 2 * l2 * w[:-1], np.sum(g))
        return float(value), grad

    start = np.zeros(x.shape[1] + 1)
    start[0] = 1.0
    # coefficients stay non-negative: more separation must never lower a candidate's probability
    bounds = [(0.0, None)] * x.shape[1] + [(None, None)]
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return (float(res.x[0]), float(res.x[1])), float(res.x[-1])


def top_probabilities(scored: Sequence[ScoredCase], calibrator: Calibrator) -> list[tuple[float, bool]]:
    """(calibrated top-1 probability, top-1 correct) for each case."""
    out = []
    for sc in scored:
        p = calibrator.probabilities(sc.scores)[0] if sc.ranking else 0.0
        out.append((p, bool(sc.ranking) and sc.ranking[0].id in sc.case.gold))
    return out


def reliability(pairs: Sequence[tuple[float, bool]], bins: int = 10) -> dict[str, object]:
    """Reliability table (predicted vs observed top-1 accuracy per probability bin) and ECE."""
    rows = []
    n = len(pairs)
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, ok) for p, ok in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if not inside:
            rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": 0, "predicted": None, "observed": None})
            continue
        pred = sum(p for p, _ in inside) / len(inside)
        obs = sum(1 for _, ok in inside if ok) / len(inside)
        ece += len(inside) / n * abs(pred - obs)
        rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": len(inside), "predicted": pred, "observed": obs})
    return {"bins": rows, "ece": ece if n else None, "n": n}


def cross_validated(
    scored: Sequence[ScoredCase], folds: int = 5, seed: int = 0
) -> tuple[list[tuple[float, bool]], list[Calibrator]]:
    """Held-out (probability, correct) pairs: each fold is calibrated on the other folds only."""
    order = list(range(len(scored)))
    random.Random(seed).shuffle(order)
    pairs: list[tuple[float, bool] | None] = [None] * len(scored)
    fitted = []
    for f in range(folds):
        test = [i for k, i in enumerate(order) if k % folds == f]
        train = [scored[i] for k, i in enumerate(order) if k % folds != f]
        if not test or not train:
            continue
        cal = fit_calibrator(train)
        fitted.append(cal)
        for i, pair in zip(test, top_probabilities([scored[i] for i in test], cal), strict=True):
            pairs[i] = pair
    return [p for p in pairs if p is not None], fitted


def calibration_report(
    kb: KnowledgeBase, n_synthetic: int = 300, folds: int = 5, facts: KBFacts | None = None
) -> Mapping[str, object]:
    """Cross-validated reliability of the calibration on this KB's own cases (LOCO + synthetic)."""
    scored = score_cases(kb_cases(kb, n_synthetic, facts=facts))
    pairs, _ = cross_validated(scored, folds)
    kinds = [sc.case.kind for sc in scored]  # pairs come back in case order
    loco = [p for p, k in zip(pairs, kinds, strict=True) if k == "loco"]
    shipped = top_probabilities(scored, DEFAULT_CALIBRATOR)
    return {
        "cases": len(scored),
        "cross_validated": reliability(pairs),
        "cross_validated_loco": reliability(loco),
        "shipped_calibrator": reliability(shipped),
        "fitted_on_all": fit_calibrator(scored),
    }


# ---- learning the weights (a small learning-to-rank step) -------------------------------------------

WEIGHT_FACTORS = (0.5, 0.7, 1.4, 2.0)
"""Multiplicative steps tried for each weight by :func:`fit_weights`' coordinate ascent."""


def _component_matrices(
    scored: Sequence[RankedLike],
) -> tuple[list[str], list[tuple[np.ndarray, np.ndarray]]]:
    keys = sorted(scored[0].ranking[0].components) if scored and scored[0].ranking else []
    mats = []
    for sc in scored:
        comps = np.array([[s.components.get(k, 0.0) for k in keys] for s in sc.ranking])
        mats.append((comps, _gold_mask(sc)))
    return keys, mats


def _mrr(mats: Sequence[tuple[np.ndarray, np.ndarray]], w: np.ndarray) -> float:
    total = 0.0
    for comps, gold in mats:
        if not gold.any():
            continue
        scores = comps @ w
        best_gold = scores[gold].max()
        # ties count against the gold group (a conservative rank)
        total += 1.0 / (1 + int((scores[~gold] >= best_gold).sum()))
    return total / max(1, len(mats))


def fit_weights(
    scored: Sequence[RankedLike], start: RankWeights | None = None, passes: int = 2
) -> RankWeights:
    """Weights that maximise mean reciprocal rank of the gold group over ``scored`` cases, by coordinate
    ascent from ``start`` (each weight multiplied by :data:`WEIGHT_FACTORS`; signs never flip)."""
    from dataclasses import asdict, replace

    start = start or RankWeights()
    keys, mats = _component_matrices(scored)
    if not keys:
        return start
    current = asdict(start)
    w = np.array([current[k] for k in keys], dtype=float)
    best = _mrr(mats, w)
    for _ in range(passes):
        improved = False
        for i, _key in enumerate(keys):
            for f in WEIGHT_FACTORS:
                trial = w.copy()
                trial[i] *= f
                value = _mrr(mats, trial)
                if value > best + 1e-6:
                    best, w, improved = value, trial, True
        if not improved:
            break
    return replace(start, **{k: round(float(v), 4) for k, v in zip(keys, w, strict=True)})
