"""How well attribution ranks the responsible group: leave-one-campaign-out on ATT&CK and masked reports.

* :func:`evaluate_loco`: each ATT&CK campaign attributed to a group becomes a query (its techniques and
  software), ranked against profiles built without that campaign.
* :func:`evaluate_reports`: labelled reports whose actor is known (TRAM2, AnnoCTR, Attack Flow) with
  the actor's names masked out of the text; the masked text goes through ``findings_fn`` (the
  pipeline's extraction, or gold technique labels plus the software the entity extractor still finds).

Masking rule (blind attribution as analysts mean it, ``mask_software="distinctive"``, the default):
every name and alias of the responsible group(s), plus every name and alias of the software the KB links
to them that at most :data:`DISTINCTIVE_SOFTWARE_GROUPS` groups use (their own malware and rare tools).
Widely used tools (Mimikatz, PsExec, Net, Cobalt Strike, PowerShell Empire...) stay in the text: they
are what a report without attribution would still say. ``"all"`` (the older, stricter rule) masks every
software the group's profile holds; ``"none"`` masks the group's names only.

Case rules: TRAM2 reports are labelled by the group named in their title; AnnoCTR documents by the
groups that are the subject of the text (linked group mentions, a mention that is a name or alias of a
KB group resolving to that group, at least two mentions and half of the top group's, together at least
half of all group mentions; documents that decline to attribute are left out); Attack Flow by its
``threat_actors``.

Both report top-1/3/5 accuracy, mean reciprocal rank, and a reliability table of the calibrated top-1
probability against observed top-1 accuracy (with its ECE).
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttpmap.attribute.attributor import Attributor
from ttpmap.attribute.calibrate import loco_cases, reliability, score_cases
from ttpmap.attribute.calibrator import DEFAULT_CALIBRATOR, Calibrator
from ttpmap.attribute.profiles import KBFacts, ProfileSet, build_profiles
from ttpmap.attribute.rank import (
    DEFAULT_WEIGHTS,
    MIN_EVIDENCE,
    AttributionQuery,
    RankWeights,
    ScoredGroup,
    gate_by_nationality,
    query_from_findings,
    score_groups,
    shared_evidence,
    weighted_score,
)
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Document, Findings, TechniqueResult
from ttpmap.text import name_pattern

FindingsFn = Callable[[str], Findings]
MASK = "[REDACTED]"
DISTINCTIVE_SOFTWARE_GROUPS = 3
"""Software used by at most this many groups counts as distinctive of them and is masked."""
MASK_RULES = ("distinctive", "all", "none")
_DECLINES = re.compile(
    r"\b(?:not (?:conclusively |definitively |yet |currently )?(?:attribut\w*|link\w* (?:this|it))|"
    r"cannot (?:be )?attribut\w*|unattributed)\b",
    re.IGNORECASE,
)


def ranking_metrics(ranks: Sequence[int]) -> dict[str, float | int]:
    """Top-1/3/5 accuracy and mean reciprocal rank of 1-based gold ranks."""
    n = len(ranks)
    if not n:
        return {"n": 0, "top1": 0.0, "top3": 0.0, "top5": 0.0, "mrr": 0.0}
    return {
        "n": n,
        "top1": round(sum(r <= 1 for r in ranks) / n, 4),
        "top3": round(sum(r <= 3 for r in ranks) / n, 4),
        "top5": round(sum(r <= 5 for r in ranks) / n, 4),
        "mrr": round(sum(1.0 / r for r in ranks) / n, 4),
    }


def evaluate_loco(
    kb: KnowledgeBase,
    *,
    with_context: bool = False,
    with_text: bool = False,
    calibrator: Calibrator = DEFAULT_CALIBRATOR,
    facts: KBFacts | None = None,
) -> dict[str, Any]:
    """Leave-one-campaign-out on ``kb``: ranking metrics, per-campaign ranks and top-1 reliability.

    ``with_context`` adds the CVEs and victimology mined from each campaign's own text to its query,
    ``with_text`` that text itself (names cut out) for procedure-text similarity.
    """
    scored = score_cases(loco_cases(kb, with_context=with_context, with_text=with_text, facts=facts))
    calib = calibrator
    rows: list[dict[str, Any]] = []
    pairs = []
    for sc in scored:
        probs = calib.probabilities(sc.scores)
        top = sc.ranking[0]
        correct = top.id in sc.case.gold
        pairs.append((probs[0], correct))
        rows.append(
            {
                "campaign": sc.case.id,
                "name": kb.campaigns[sc.case.id].name,
                "gold": sorted(sc.case.gold),
                "rank": sc.gold_rank,
                "top": [s.id for s in sc.ranking[:5]],
                "probability": round(probs[0], 4),
                "techniques": len(sc.case.query.techniques),
                "software": len(sc.case.query.software),
            }
        )
    ranks = [r["rank"] for r in rows]
    return {
        "attack_version": kb.version,
        "query": "techniques+software"
        + ("+cves+victimology" if with_context else "")
        + ("+text" if with_text else ""),
        **ranking_metrics(ranks),
        "reliability": reliability(pairs),
        "cases": rows,
    }


# ---- report cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportCase:
    """A report whose responsible group(s) are known from its labels, with its gold technique labels."""

    id: str
    source: str
    text: str
    gold: frozenset[str]
    techniques: frozenset[str]


def _group_pattern(kb: KnowledgeBase, gid: str, min_len: int = 3) -> re.Pattern[str] | None:
    g = kb.groups[gid]
    return name_pattern((g.name, *g.aliases), ignore_case=True, min_len=min_len)


def actor_names(
    kb: KnowledgeBase,
    group_ids: Iterable[str],
    *,
    software: str = "distinctive",
    profiles: ProfileSet | None = None,
) -> list[str]:
    """Every name and alias of the groups and of the software to mask with them (see the module's
    masking rule: ``"distinctive"``, ``"all"`` or ``"none"``)."""
    if software not in MASK_RULES:
        raise ValueError(f"unknown masking rule {software!r}; expected one of {MASK_RULES}")
    names: set[str] = set()
    profiles = profiles or build_profiles(kb)
    for gid in group_ids:
        g = kb.groups[gid]
        names.update((g.name, *g.aliases))
        if software == "none":
            continue
        for sid in profiles[gid].software:
            if software == "all" or profiles.software_groups.get(sid, 0) <= DISTINCTIVE_SOFTWARE_GROUPS:
                s = kb.software[sid]
                names.update((s.name, *s.aliases))
    return sorted(names)


def mask_text(text: str, names: Iterable[str], token: str = MASK) -> str:
    """Replace every case-insensitive, whole-word occurrence of the names by ``token``."""
    pattern = name_pattern(names, ignore_case=True)
    return pattern.sub(token, text) if pattern else text


def _resolve_all(kb: KnowledgeBase, ids: Iterable[str], table: dict) -> frozenset[str]:
    return frozenset(r for i in ids if (r := kb.resolve(i)) is not None and r in table)


def load_tram_cases(path: str | Path, kb: KnowledgeBase, *, min_techniques: int = 3) -> list[ReportCase]:
    """TRAM2 reports whose title names ATT&CK group(s) by name or alias (TRAM has no actor labels, so
    the title is taken as the label), with at least ``min_techniques`` gold techniques."""
    from ttpmap.learn.corpus import read_tram

    patterns = {gid: p for gid in kb.groups if (p := _group_pattern(kb, gid, min_len=4))}
    cases = []
    for doc in read_tram(path):
        title = doc.text.split("\n", 1)[0].removeprefix("title:").strip()
        gold = frozenset(gid for gid, p in patterns.items() if p.search(title))
        techs = _resolve_all(kb, doc.techniques, kb.techniques)
        if gold and len(techs) >= min_techniques:
            cases.append(ReportCase(f"tram:{doc.doc_id}", "tram", doc.text, gold, techs))
    return cases


def _group_by_name(kb: KnowledgeBase) -> dict[str, str]:
    by_name: dict[str, str] = {}
    for gid, g in kb.groups.items():
        for n in (g.name, *g.aliases):
            by_name.setdefault(n.strip().lower(), gid)
    return by_name


def annoctr_group_mentions(path: str | Path, kb: KnowledgeBase) -> dict[str, Counter[str]]:
    """Per AnnoCTR document, how often each ATT&CK group is mentioned. A mention whose text is a name or
    alias of a group of ``kb`` counts for that group (the corpus linked some aliases, e.g. TA456, to
    groups that newer ATT&CK releases no longer give them); otherwise its link is followed."""
    by_name = _group_by_name(kb)
    out: dict[str, Counter[str]] = {}
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            hit = re.search(r"attack\.mitre\.org/groups/(G\d{4})", rec.get("label_link", ""))
            if not hit:
                continue
            gid = by_name.get(str(rec.get("mention", "")).strip().lower()) or kb.resolve(hit.group(1))
            if gid in kb.groups:
                out.setdefault(rec["document"], Counter())[gid] += 1
    return out


def subject_groups(mentions: Counter[str], *, max_groups: int = 2) -> frozenset[str]:
    """The groups a document is about: at least two mentions and half the top group's, together at
    least half of all group mentions, at most ``max_groups`` of them (else a survey: none)."""
    if not mentions:
        return frozenset()
    top = max(mentions.values())
    gold = {g for g, n in mentions.items() if n >= max(2, top / 2)}
    if not gold or len(gold) > max_groups or 2 * sum(mentions[g] for g in gold) < sum(mentions.values()):
        return frozenset()
    return frozenset(gold)


def declines_attribution(text: str) -> bool:
    """True when a report says it does not attribute the activity ("not conclusively attributing")."""
    return bool(_DECLINES.search(text))


def load_annoctr_cases(
    paths: Iterable[str | Path], kb: KnowledgeBase, *, min_techniques: int = 3, max_groups: int = 2
) -> list[ReportCase]:
    """AnnoCTR documents about at most ``max_groups`` ATT&CK groups (:func:`subject_groups`; surveys
    and passing mentions are left out) with at least ``min_techniques`` techniques."""
    from ttpmap.learn.corpus import read_annoctr

    cases = []
    for path in paths:
        mentions = annoctr_group_mentions(path, kb)
        for doc in read_annoctr(path):
            gold = subject_groups(mentions.get(doc.doc_id, Counter()), max_groups=max_groups)
            techs = _resolve_all(kb, doc.techniques, kb.techniques)
            if gold and len(techs) >= min_techniques and not declines_attribution(doc.text):
                cases.append(ReportCase(f"annoctr:{doc.doc_id}", "annoctr", doc.text, gold, techs))
    return cases


def load_flow_cases(path: str | Path, kb: KnowledgeBase, *, min_techniques: int = 3) -> list[ReportCase]:
    """Attack Flow flows whose threat actors are ATT&CK groups. The flow has no report text, so its
    text is its name, description, action descriptions and its tool and malware lists."""
    by_name = _group_by_name(kb)
    cases = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            flow = json.loads(line)
            gold = frozenset(
                gid
                for actor in flow.get("threat_actors", ())
                if (gid := by_name.get(str(actor.get("name", "")).strip().lower()))
            )
            techs = _resolve_all(kb, flow.get("technique_ids", ()), kb.techniques)
            if not gold or len(techs) < min_techniques:
                continue
            parts = [flow.get("name", ""), flow.get("description", "")]
            parts += [a.get("description", "") for a in flow.get("actions", ())]
            parts += [
                f"Tools: {', '.join(flow.get('tools', ()))}.",
                f"Malware: {', '.join(flow.get('malware', ()))}.",
            ]
            text = "\n".join(p.strip() for p in parts if p and p.strip())
            cases.append(
                ReportCase(f"flow:{flow.get('file', flow.get('name'))}", "attack-flow", text, gold, techs)
            )
    return cases


def _document(text: str, source: str) -> Document:
    from ttpmap.ingest import from_text

    return from_text(text, source=source)


def gold_findings(
    case: ReportCase, text: str, kb: KnowledgeBase, malware_names: Iterable[str] = ()
) -> Findings:
    """Findings from the case's gold technique labels plus the software, groups and CVEs the entity
    extractor finds in the (masked) text."""
    from ttpmap.extract.entities import find_entities
    from ttpmap.extract.features import report_terms, report_victimology

    doc = _document(text, case.id)
    techniques = [
        TechniqueResult(id=t, name=kb.techniques[t].name, score=1.0, origin="gold-label")
        for t in sorted(case.techniques)
    ]
    entities = find_entities(doc, kb)
    return Findings(
        document=doc,
        techniques=techniques,
        entities=entities,
        victimology=report_victimology(doc, kb, entities, malware_names=malware_names),
        text_terms=report_terms(doc, kb),
    )


@dataclass(frozen=True)
class RankedCase:
    """One masked report case after ranking: its query, the (gated) ranking and the gold rank."""

    case: ReportCase
    query: AttributionQuery
    ranking: list[ScoredGroup]
    nationality: tuple[str, ...]

    @property
    def gold_rank(self) -> int:
        return next((i + 1 for i, s in enumerate(self.ranking) if s.id in self.case.gold), 10_000)


def rank_report_cases(
    cases: Sequence[ReportCase],
    findings_fn: FindingsFn | None,
    kb: KnowledgeBase,
    attributor: Attributor,
    *,
    mask_software: str = "distinctive",
    gate: bool = True,
) -> list[RankedCase]:
    """Mask, extract and rank every case; with ``gate`` the nationality the masked text states (the
    actor's origin in its victimology) sets aside groups of another known country."""
    out = []
    for case in cases:
        text = mask_text(
            case.text, actor_names(kb, case.gold, software=mask_software, profiles=attributor.profiles)
        )
        malware = attributor.galaxy.malware_names if attributor.galaxy else ()
        findings = findings_fn(text) if findings_fn is not None else gold_findings(case, text, kb, malware)
        q: AttributionQuery = query_from_findings(findings, kb)
        scored = score_groups(q, attributor.profiles, attributor.weights) if not q.is_empty else []
        nationality = tuple(findings.victimology.origin) if gate else ()
        if nationality:
            scored, _ = gate_by_nationality(scored, nationality, attributor.group_countries)
        out.append(RankedCase(case, q, scored, nationality))
    return out


def evaluate_reports(
    cases: Sequence[ReportCase],
    findings_fn: FindingsFn | None,
    kb: KnowledgeBase,
    *,
    mask_software: str = "distinctive",
    attributor: Attributor | None = None,
    gate: bool = True,
    ranked: Sequence[RankedCase] | None = None,
) -> dict[str, Any]:
    """Rank the actor of each masked report; ranking metrics, abstention and top-1 reliability.

    ``findings_fn(text)`` turns the masked text into Findings; ``None`` uses :func:`gold_findings`
    (gold technique labels + software named in the masked text). Names of the actor and of its software
    (per the ``mask_software`` rule, see the module docstring) are masked first. ``attributor`` defaults
    to one fitted on ``kb`` alone.
    """
    attributor = attributor or Attributor.fit(kb)
    if ranked is None:
        ranked = rank_report_cases(cases, findings_fn, kb, attributor, mask_software=mask_software, gate=gate)
    calib = attributor.calibrator
    rows: list[dict[str, Any]] = []
    pairs = []
    for rc in ranked:
        scored, case, q = rc.ranking, rc.case, rc.query
        probs = calib.probabilities([s.score for s in scored]) if scored else []
        rank = rc.gold_rank if scored else len(attributor.profiles) + 1
        p_top = probs[0] if probs else 0.0
        weak = not scored or shared_evidence(scored[0].components) < MIN_EVIDENCE
        correct = bool(scored) and scored[0].id in case.gold
        pairs.append((p_top, correct))
        rows.append(
            {
                "case": case.id,
                "source": case.source,
                "gold": sorted(case.gold),
                "rank": rank,
                "top": [s.id for s in scored[:5]],
                "probability": round(p_top, 4),
                "abstained": weak,
                "techniques": len(q.techniques),
                "software": len(q.software),
                "cves": len(q.cves),
                "nationality": list(rc.nationality),
            }
        )
    answered = [r for r in rows if not r["abstained"]]
    by_source = {
        src: ranking_metrics([r["rank"] for r in rows if r["source"] == src])
        for src in sorted({r["source"] for r in rows})
    }
    return {
        "findings": "gold technique labels + entities found in masked text"
        if findings_fn is None
        else "findings_fn",
        "masked": "actor names and aliases"
        + {
            "all": " + all its software",
            "distinctive": f" + its software used by <= {DISTINCTIVE_SOFTWARE_GROUPS} groups",
            "none": "",
        }[mask_software],
        "mask_rule": mask_software,
        **ranking_metrics([r["rank"] for r in rows]),
        "by_source": by_source,
        "abstention_rate": round(1 - len(answered) / len(rows), 4) if rows else 0.0,
        "answered_top1": round(sum(r["rank"] == 1 for r in answered) / len(answered), 4)
        if answered
        else None,
        "reliability": reliability(pairs),
        "cases": rows,
    }


def default_report_cases(data_dir: str | Path, kb: KnowledgeBase) -> list[ReportCase]:
    """All report cases found under a directory laid out like the shared evaluation data (missing
    sources are skipped)."""
    base = Path(data_dir)
    cases: list[ReportCase] = []
    tram = base / "tram" / "tram2_reports.jsonl.gz"
    if tram.is_file():
        cases += load_tram_cases(tram, kb)
    anno = [base / "annoctr" / "linking_mitre_only" / f"{s}.jsonl.gz" for s in ("train", "dev")]
    anno = [p for p in anno if p.is_file()]
    if anno:
        cases += load_annoctr_cases(anno, kb)
    flows = base / "attack-flow" / "flows.jsonl"
    if flows.is_file():
        cases += load_flow_cases(flows, kb)
    return cases


def format_attribution_table(result: dict[str, Any]) -> str:
    """A leave-one-campaign-out result as a few lines of text for people."""
    lines = [
        f"Attribution, leave-one-campaign-out on ATT&CK {result['attack_version']} ({result['query']})",
        f"  n={result['n']}  top1 {result['top1']:.3f}  top3 {result['top3']:.3f}  "
        f"top5 {result['top5']:.3f}  mrr {result['mrr']:.3f}",
    ]
    ece = result.get("reliability", {}).get("ece")
    if ece is not None:
        lines.append(f"  top-1 calibration ECE {ece:.3f}")
    misses = [f"{c['campaign']} (rank {c['rank']})" for c in result.get("cases", []) if c["rank"] > 5]
    if misses:
        lines.append("  outside top 5: " + ", ".join(misses))
    return "\n".join(lines)


# ---- learning to rank and calibration on report-like cases (evaluation only) --------------------------


@dataclass(frozen=True)
class _Reweighted:
    """A case re-ranked under other weights (what :func:`fit_weights` and :func:`fit_calibrator` read)."""

    case: Any
    ranking: list[ScoredGroup]

    @property
    def scores(self) -> list[float]:
        return [s.score for s in self.ranking]


def reweight(cases: Sequence[Any], weights: RankWeights) -> list[_Reweighted]:
    """Each case's ranking recomputed from its score components under ``weights``."""
    out = []
    for c in cases:
        ranking = [ScoredGroup(s.id, weighted_score(s.components, weights), s.components) for s in c.ranking]
        ranking.sort(key=lambda s: (-s.score, s.id))
        out.append(_Reweighted(c.case, ranking))
    return out


def _gold_rank(c: Any) -> int:
    return next((i + 1 for i, s in enumerate(c.ranking) if s.id in c.case.gold), 10_000)


def cross_validated_ranking(
    reports: Sequence[RankedCase],
    extra_training: Sequence[Any] = (),
    *,
    start: RankWeights = DEFAULT_WEIGHTS,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Learning to rank and calibration on report cases by cross-validation.

    For each fold the weights (:func:`fit_weights`) and then the calibrator are fitted on the other
    folds' report cases plus ``extra_training`` (e.g. ATT&CK LOCO cases), and the held-out reports are
    ranked and calibrated with them: the ``cross_validated`` figures are out-of-sample. ``in_sample``
    fits once on everything and scores the same cases (optimistic, for comparison). Nothing fitted
    here is shipped: the shipped Attributor is fitted from the KB alone.
    """
    import random

    from ttpmap.attribute.calibrate import fit_calibrator, fit_weights

    order = list(range(len(reports)))
    random.Random(seed).shuffle(order)
    ranks: list[int | None] = [None] * len(reports)
    pairs: list[tuple[float, bool] | None] = [None] * len(reports)
    fitted = []
    for f in range(folds):
        test = [i for k, i in enumerate(order) if k % folds == f]
        train = [reports[i] for k, i in enumerate(order) if k % folds != f] + list(extra_training)
        if not test:
            continue
        weights = fit_weights(train, start)
        calibrator = fit_calibrator(reweight(train, weights))
        fitted.append(weights)
        for i, rc in zip(test, reweight([reports[i] for i in test], weights), strict=True):
            ranks[i] = _gold_rank(rc)
            p = calibrator.probabilities(rc.scores)[0] if rc.ranking else 0.0
            pairs[i] = (p, bool(rc.ranking) and rc.ranking[0].id in rc.case.gold)
    everything = list(reports) + list(extra_training)
    w_all = fit_weights(everything, start)
    cal_all = fit_calibrator(reweight(everything, w_all))
    again = reweight(reports, w_all)
    in_pairs = [
        (
            cal_all.probabilities(c.scores)[0] if c.ranking else 0.0,
            bool(c.ranking) and c.ranking[0].id in c.case.gold,
        )
        for c in again
    ]
    return {
        "cross_validated": ranking_metrics([r for r in ranks if r is not None])
        | {"reliability": reliability([p for p in pairs if p is not None])},
        "in_sample": ranking_metrics([_gold_rank(c) for c in again]) | {"reliability": reliability(in_pairs)},
        "weights_in_sample": w_all,
        "weights_per_fold": fitted,
    }


def reliability_svg(curves: Mapping[str, Mapping[str, Any]], title: str = "Attribution reliability") -> str:
    """A reliability diagram (predicted vs observed top-1 accuracy per bin) as a small hand-built SVG.

    ``curves`` maps a label to a :func:`reliability` result; each is drawn as a line with its ECE in
    the legend, bin markers sized by the number of cases.
    """
    from html import escape

    size, pad = 320, 44
    colors = ("#12355b", "#b30000", "#2f7d32", "#8a4fbf")

    def xy(p: float, o: float) -> tuple[float, float]:
        return pad + p * size, pad + (1 - o) * size

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad + 170}" height="{size + 2 * pad}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
        f'<text x="{pad}" y="{pad - 18}" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#8a94a6"/>',
        f'<line x1="{pad}" y1="{pad + size}" x2="{pad + size}" y2="{pad}" stroke="#8a94a6" '
        'stroke-dasharray="4 3"/>',
    ]
    for k in range(0, 11, 2):
        v = k / 10
        x, y = xy(v, v)
        parts.append(f'<text x="{x:.1f}" y="{pad + size + 14}" text-anchor="middle">{v:.1f}</text>')
        parts.append(f'<text x="{pad - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.1f}</text>')
    parts.append(
        f'<text x="{pad + size / 2}" y="{pad + size + 32}" text-anchor="middle">'
        "predicted probability (top-1)</text>"
    )
    parts.append(
        f'<text x="{pad - 32}" y="{pad + size / 2}" text-anchor="middle" '
        f'transform="rotate(-90 {pad - 32} {pad + size / 2})">observed top-1 accuracy</text>'
    )
    for i, (label, rel) in enumerate(curves.items()):
        color = colors[i % len(colors)]
        pts = [(*xy(b["predicted"], b["observed"]), b["n"]) for b in rel.get("bins", []) if b.get("n")]
        if pts:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.6"/>')
            for x, y, n in pts:
                r = 2.5 + min(6.0, n**0.5)
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{color}" fill-opacity="0.55"/>'
                )
        ece = rel.get("ece")
        ly = pad + 14 + 18 * i
        parts.append(f'<rect x="{pad + size + 14}" y="{ly - 9}" width="10" height="10" fill="{color}"/>')
        ece_text = f" (ECE {ece:.3f}, n={rel.get('n', 0)})" if ece is not None else ""
        parts.append(f'<text x="{pad + size + 30}" y="{ly}">{escape(label + ece_text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def evaluate_stated(cases: Sequence[ReportCase], kb: KnowledgeBase, attributor: Attributor) -> dict[str, Any]:
    """How often the report's own attribution, read from its unmasked text, names the labelled actor:
    the stated responsible group is the gold group, another group, or none is stated."""
    from ttpmap.extract.entities import find_entities
    from ttpmap.extract.features import report_victimology
    from ttpmap.ingest import from_text

    counts: Counter[str] = Counter()
    for case in cases:
        doc = from_text(case.text, source=case.id)
        stated = attributor.stated(doc, kb, report_victimology(doc, kb, find_entities(doc, kb)))
        responsible = {g.id for g in stated.responsible}
        counts["gold" if responsible & case.gold else ("none" if not responsible else "other")] += 1
    n = len(cases)
    return {
        "n": n,
        **{k: counts[k] for k in ("gold", "other", "none")},
        "gold_share": counts["gold"] / n if n else 0.0,
    }
