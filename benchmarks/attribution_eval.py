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
and "none" (names only). Nothing is written to disk except the usual KB/model caches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from ttpmap.attribute import build_profiles
from ttpmap.attribute.calibrate import calibration_report
from ttpmap.evaluate.attribution import default_report_cases, evaluate_loco, evaluate_reports, gold_findings
from ttpmap.ingest import from_text
from ttpmap.kb import KnowledgeBase, load_kb
from ttpmap.models import Findings

TARGETS = {"loco_v18_top1": 0.60, "loco_v18_top5": 0.85, "reports_top3": 0.70, "ece": 0.10, "latency_ms": 100}


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


def loco_tables(kb: KnowledgeBase, out: dict) -> None:
    print(f"\nLOCO on ATT&CK {kb.version} ({kb.info.source})")
    for ctx, txt in ((False, False), (True, False), (True, True)):
        r = evaluate_loco(kb, with_context=ctx, with_text=txt)
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
        _reliability("    top-1 reliability (shipped calibrator)", r["reliability"])


def mapper_findings_fn(kb: KnowledgeBase):
    """The pipeline's extraction (technique model + explicit IDs + entities) on raw text."""
    from ttpmap.pipeline import Options, default_model, extract

    model = default_model(kb, progress=lambda m: print(f"    [mapper] {m}", file=sys.stderr))
    options = Options()

    def findings_fn(text: str) -> Findings:
        return extract(from_text(text, source="case"), kb, model, options)

    return findings_fn


def report_tables(kb: KnowledgeBase, data: Path, use_mapper: bool, out: dict) -> list:
    cases = default_report_cases(data, kb)
    if not cases:
        print(f"\nno report cases under {data}")
        return []
    findings_fn = mapper_findings_fn(kb) if use_mapper else None
    how = "technique mapper + entities on masked text" if use_mapper else "gold technique labels + entities"
    print(f"\nMasked report cases on ATT&CK {kb.version}: findings = {how}")
    for rule in ("distinctive", "all", "none"):
        r = evaluate_reports(cases, findings_fn, kb, mask_software=rule)
        print(_row(f"masked: {r['masked']}", r))
        for src, m in r["by_source"].items():
            print(_row(f"  {src}", m))
        answered = r["answered_top1"]
        print(
            f"    abstained on {r['abstention_rate']:.0%} of cases; top-1 when answering "
            + (f"{answered:.3f}" if answered is not None else "n/a")
        )
        _reliability("    top-1 reliability", r["reliability"])
        key = f"reports_{kb.version}_mask_{rule}"
        out[key] = {k: r[k] for k in ("n", "top1", "top3", "top5", "mrr", "abstention_rate")} | {
            "ece": r["reliability"]["ece"],
            "findings": how,
        }
    return cases


def calibration_table(kb: KnowledgeBase, out: dict) -> None:
    print(
        f"\nCalibration on ATT&CK {kb.version}'s own cases (LOCO with context and text + 600 synthetic), "
        "5-fold CV"
    )
    rep = calibration_report(kb, n_synthetic=600, folds=5)
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
    from ttpmap.attribute import Attributor

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
    args = ap.parse_args(argv)

    out: dict = {}
    kbs = [load_kb()]
    if args.attack:
        kbs.append(load_kb(args.attack))
    for kb in kbs:
        loco_tables(kb, out)
    report_kb = kbs[-1]
    cases = report_tables(report_kb, Path(args.data), args.mapper, out) if Path(args.data).is_dir() else []
    calibration_table(kbs[0], out)
    if len(kbs) > 1:
        calibration_table(kbs[-1], out)
    latency(report_kb, cases, out)
    print("\nTargets: " + ", ".join(f"{k} {v}" for k, v in TARGETS.items()))
    if args.json:
        print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
