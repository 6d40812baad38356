"""Attribution accuracy, calibration and latency.

Tables: leave-one-campaign-out (LOCO) on the embedded ATT&CK v15.0 and, when given, a newer bundle;
masked report cases (TRAM2, AnnoCTR, Attack Flow) from a data directory; cross-validated calibration on
the KB's own cases (LOCO + synthetic); ranking latency.

    python benchmarks/attribution_eval.py --attack PATH/enterprise-attack-18.1.json.gz --data DATA_DIR
    python benchmarks/attribution_eval.py --mapper   # report cases through the real technique mapper

Report cases use gold technique labels plus the entities the extractor finds in the masked text unless
``--mapper`` is given (then the pipeline's extraction runs on the masked text); the masked text itself
feeds procedure-text similarity. Three masking rules are reported: "distinctive" (the default: the
actor's names plus software used by <= 3 groups), "all" (every software of the actor, the older rule)
and "none" (names only), each with and without the nationality gate (groups of another known country
than the one the masked text states are set aside). The shipped Attributor is fitted on the KB alone,
so its report figures are out-of-sample; a corpus-fitted variant (weights by coordinate-ascent learning
to rank + calibrator, fitted on report cases and LOCO) is reported by 5-fold cross-validation
(out-of-sample) and fitted-on-all (in-sample), for evaluation only. Nothing is written to disk except
the usual KB/model caches and, with ``--svg``, the reliability diagram.

    python benchmarks/attribution_eval.py --attack ... --data ... --svg attribution-reliability.svg
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from ttpmap.attribute import Attributor, build_profiles
from ttpmap.attribute.calibrate import calibration_report, loco_cases, score_cases
from ttpmap.attribute.profiles import mine_kb
from ttpmap.evaluate.attribution import (
    cross_validated_ranking,
    default_report_cases,
    evaluate_loco,
    evaluate_reports,
    evaluate_stated,
    gold_findings,
    rank_report_cases,
    reliability_svg,
)
from ttpmap.ingest import from_text
from ttpmap.kb import KnowledgeBase, load_kb
from ttpmap.models import Findings

TARGETS = {
    "loco_v18_top1": 0.85,
    "loco_v18_top5": 0.90,
    "reports_top1": 0.55,
    "reports_top3": 0.75,
    "reports_names_only_top1": 0.75,
    "ece": 0.10,
    "latency_ms": 50,
    "fit_s": 60,
}


def _row(name: str, m: dict) -> str:
    scores = "  ".join(f"{k} {m[k]:.3f}" for k in ("top1", "top3", "top5", "mrr"))
    return f"  {name:<46} n={m['n']:>3}  {scores}"


def _reliability(title: str, rel: dict) -> None:
    print(f"  {title}: ECE {rel['ece']:.3f} over {rel['n']} cases")
    for b in rel["bins"]:
        if b["n"]:
            print(
                f"    {b['bin']}  n={b['n']:>4}  predicted {b['predicted']:.2f}  observed {b['observed']:.2f}"
            )


def loco_tables(kb: KnowledgeBase, att: Attributor, out: dict) -> None:
    facts = mine_kb(kb, att.galaxy)  # the KB text plus the galaxy's victimology priors, as fit() uses
    print(f"\nLOCO on ATT&CK {kb.version} ({kb.info.source}); calibrator fitted on this KB's own cases")
    for ctx, txt in ((False, False), (True, False), (True, True)):
        r = evaluate_loco(kb, with_context=ctx, with_text=txt, calibrator=att.calibrator, facts=facts)
        print(_row(r["query"], r))
        key = "text" if txt else ("context" if ctx else "behaviour")
        out[f"loco_{kb.version}_{key}"] = {k: r[k] for k in ("n", "top1", "top3", "top5", "mrr")} | {
            "ece": r["reliability"]["ece"],
            "ranks": {c["campaign"]: c["rank"] for c in r["cases"]},
        }
        if not ctx or txt:
            misses = [f"{c['campaign']} {c['name']} (rank {c['rank']})" for c in r["cases"] if c["rank"] > 5]
            if misses:
                print("    outside top 5: " + "; ".join(misses))
        _reliability("    top-1 reliability", r["reliability"])


def mapper_findings_fn(kb: KnowledgeBase):
    """The pipeline's extraction (technique model + explicit IDs + entities) on raw text."""
    from ttpmap.pipeline import Options, default_model, extract

    model = default_model(kb, progress=lambda m: print(f"    [mapper] {m}", file=sys.stderr))
    options = Options()

    def findings_fn(text: str) -> Findings:
        return extract(from_text(text, source="case"), kb, model, options)

    return findings_fn


def report_tables(
    kb: KnowledgeBase, att: Attributor, data: Path, use_mapper: bool, out: dict, svg: str | None
):
    cases = default_report_cases(data, kb)
    if not cases:
        print(f"\nno report cases under {data}")
        return []
    findings_fn = mapper_findings_fn(kb) if use_mapper else None
    how = "technique mapper + entities on masked text" if use_mapper else "gold technique labels + entities"
    print(
        f"\nMasked report cases on ATT&CK {kb.version}: findings = {how}; Attributor fitted on the KB alone "
        "(out-of-sample: nothing here was fitted on these cases)"
    )
    st = evaluate_stated(cases, kb, att)
    print(
        f"  stated attribution read from the unmasked text: names the labelled actor in {st['gold']} of "
        f"{st['n']} cases, another group in {st['other']}, none in {st['none']}"
    )
    out[f"stated_{kb.version}"] = st
    loco = score_cases(loco_cases(kb, with_context=True, with_text=True, facts=mine_kb(kb, att.galaxy)))
    curves = {}
    for rule in ("distinctive", "all", "none"):
        for gate in (True, False):
            ranked = rank_report_cases(cases, findings_fn, kb, att, mask_software=rule, gate=gate)
            r = evaluate_reports(cases, findings_fn, kb, mask_software=rule, attributor=att, ranked=ranked)
            label = f"masked: {r['masked']}" + ("" if gate else " (no nationality gate)")
            print(_row(label, r))
            if gate:
                for src, m in r["by_source"].items():
                    print(_row(f"  {src}", m))
            answered = r["answered_top1"]
            print(
                f"    abstained on {r['abstention_rate']:.0%} of cases; top-1 when answering "
                + (f"{answered:.3f}" if answered is not None else "n/a")
            )
            _reliability("    top-1 reliability", r["reliability"])
            key = f"reports_{kb.version}_mask_{rule}" + ("" if gate else "_nogate")
            out[key] = {k: r[k] for k in ("n", "top1", "top3", "top5", "mrr", "abstention_rate")} | {
                "ece": r["reliability"]["ece"],
                "findings": how,
            }
            if gate and rule in ("distinctive", "none"):
                curves[f"KB-fitted, mask {rule}"] = r["reliability"]
            if not gate or rule == "all":
                continue
            cv = cross_validated_ranking(ranked, loco)
            c, i = cv["cross_validated"], cv["in_sample"]
            print(
                f"    corpus-fitted weights + calibrator (evaluation only, not shipped), mask {rule}:\n"
                + _row("      5-fold CV on reports (+ LOCO in training): out-of-sample", c)
                + f"  ECE {c['reliability']['ece']:.3f}\n"
                + _row("      fitted and scored on all: in-sample", i)
                + f"  ECE {i['reliability']['ece']:.3f}"
            )
            out[key + "_cv"] = {k: c[k] for k in ("n", "top1", "top3", "top5", "mrr")} | {
                "ece": c["reliability"]["ece"]
            }
            out[key + "_insample"] = {k: i[k] for k in ("n", "top1", "top3", "top5", "mrr")} | {
                "ece": i["reliability"]["ece"]
            }
            if rule == "distinctive":
                curves["corpus-fitted, 5-fold CV"] = c["reliability"]
    if svg:
        Path(svg).write_text(
            reliability_svg(curves, f"Attribution reliability, masked report cases (ATT&CK {kb.version})"),
            encoding="utf-8",
        )
        print(f"    reliability diagram written to {svg}")
    return cases


def calibration_table(kb: KnowledgeBase, att: Attributor, out: dict) -> None:
    print(
        f"\nCalibration on ATT&CK {kb.version}'s own cases (LOCO with context and text + 600 synthetic), "
        "5-fold CV"
    )
    rep = calibration_report(kb, n_synthetic=600, folds=5, facts=mine_kb(kb, att.galaxy))
    _reliability("held-out folds, all cases", rep["cross_validated"])
    _reliability("held-out folds, LOCO cases only", rep["cross_validated_loco"])
    _reliability("shipped calibrator (fitted on v15), all cases", rep["shipped_calibrator"])
    print(f"  refitted on all: {rep['fitted_on_all']}")
    out[f"calibration_{kb.version}"] = {
        "cv_ece": rep["cross_validated"]["ece"],
        "cv_ece_loco": rep["cross_validated_loco"]["ece"],
        "shipped_ece": rep["shipped_calibrator"]["ece"],
    }


def latency(kb: KnowledgeBase, cases: list, out: dict) -> None:
    t0 = time.perf_counter()
    build_profiles(kb)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    att = Attributor.fit(kb)  # profiles, galaxy, name tables, and a calibrator unless kb is the embedded one
    fit_s = time.perf_counter() - t0
    print(f"\nAttributor.fit on ATT&CK {kb.version}: {fit_s:.1f} s")
    out[f"attributor_fit_{kb.version}_s"] = fit_s
    findings = [gold_findings(c, c.text, kb) for c in cases[:40]]
    if not findings:
        from ttpmap.attribute import AttributionQuery

        findings = [AttributionQuery.build(kb, techniques=["T1190", "T1505.003"], software=["S0020"])]
    att.rank(findings[0], kb, include_weak=True)
    times = []
    for f in findings * 3:
        t = time.perf_counter()
        att.rank(f, kb, include_weak=True)
        att.rank_campaigns(f, kb)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(
        f"\nLatency on ATT&CK {kb.version}: profiles built in {build_s:.2f} s (cold, incl. text mining); "
        f"Attributor.rank + rank_campaigns per report: median {statistics.median(times):.1f} ms, "
        f"p95 {p95:.1f} ms ({len(times)} calls, explanations included)"
    )
    out[f"latency_{kb.version}"] = {
        "profiles_s": build_s,
        "median_ms": statistics.median(times),
        "p95_ms": p95,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attack", help="a newer ATT&CK bundle to evaluate besides the embedded v15.0")
    ap.add_argument(
        "--data", default="/work/shared/data", help="directory with tram/, annoctr/, attack-flow/"
    )
    ap.add_argument("--mapper", action="store_true", help="report cases through the real technique mapper")
    ap.add_argument("--json", action="store_true", help="also print one JSON line with every number")
    ap.add_argument("--svg", help="write the reliability diagram of the report cases to this SVG file")
    args = ap.parse_args(argv)

    out: dict = {}
    kbs = [load_kb()]
    if args.attack:
        kbs.append(load_kb(args.attack))
    atts = [Attributor.fit(kb) for kb in kbs]
    for kb, att in zip(kbs, atts, strict=True):
        loco_tables(kb, att, out)
    report_kb = kbs[-1]
    cases = (
        report_tables(report_kb, atts[-1], Path(args.data), args.mapper, out, args.svg)
        if Path(args.data).is_dir()
        else []
    )
    calibration_table(kbs[0], atts[0], out)
    if len(kbs) > 1:
        calibration_table(kbs[-1], atts[-1], out)
    latency(report_kb, cases, out)
    print("\nTargets: " + ", ".join(f"{k} {v}" for k, v in TARGETS.items()))
    if args.json:
        print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
