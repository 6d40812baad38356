"""Accuracy of the technique mapper on TRAM2 and AnnoCTR: zero-shot, cross-validated, and an ablation.

    python benchmarks/technique_accuracy.py [--data /work/shared/data] [--folds 5] [--no-cv]
                                            [--no-ablation] [-o out.json]

Scores are per-document micro/macro P/R/F1 at exact and parent level, plus evidence precision (of the
correctly reported techniques, the share whose best evidence sentence overlaps a gold span of the
technique). Zero-shot = the default mapper, fitted only from the ATT&CK bundle: every corpus is
out-of-sample. CV = its sentence model retrained with the other folds' reports (role and decision
models unchanged). The ablation switches one fitted component off at a time (zero-shot, every corpus).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ABLATIONS = {
    "full mapper": (),
    "no role model (behaviour=1)": ("roles",),
    "no decision model (best margin)": ("decision",),
    "no salient phrases": ("phrases",),
    "no clause scoring": ("clauses",),
    "no roles, no decision model": ("roles", "decision"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-cv", action="store_true", help="skip the (slow) cross-validation")
    parser.add_argument("--no-ablation", action="store_true", help="skip the ablation table")
    parser.add_argument("-o", "--output", type=Path, help="write all results as JSON")
    args = parser.parse_args()

    from ttpmap.evaluate.techniques import default_factory, evaluate_techniques, format_table, read_label_set
    from ttpmap.kb import load_kb
    from ttpmap.learn.artifacts import load_or_train
    from ttpmap.learn.corpus import read_annoctr, read_tram

    kb = load_kb()
    factory = default_factory(kb, progress=lambda m: print(m, file=sys.stderr))
    tram_file = args.data / "tram" / "tram2_reports.jsonl.gz"
    labels = read_label_set(args.data / "tram" / "single_label.json")
    tram = [d for d in read_tram(tram_file) if d.techniques]
    linking = args.data / "annoctr" / "linking_mitre_only"
    annoctr = read_annoctr(linking / "train.jsonl.gz") + read_annoctr(linking / "dev.jsonl.gz")
    corpora = {"tram_all": (tram, None), "tram_50": (tram, labels), "annoctr": (annoctr, None)}

    results: dict = {}
    for name, (docs, label_set) in corpora.items():
        results[name] = evaluate_techniques(docs, kb, factory, labels=label_set)
        print(format_table(results[name], name), end="\n\n", flush=True)
    if not args.no_cv:
        for name in ("tram_50", "annoctr"):
            docs, label_set = corpora[name]
            key = f"{name}_cv"
            results[key] = evaluate_techniques(docs, kb, factory, folds=args.folds, labels=label_set)
            print(format_table(results[key], key), end="\n\n", flush=True)
    if not args.no_ablation:
        base = load_or_train(kb)
        results["ablation"] = {}
        header = f"{'ablation (zero-shot parent F1 / evidence precision)':<40}" + "".join(
            f"{name:>18}" for name in corpora
        )
        lines = [header]
        for label, parts in ABLATIONS.items():
            mapper = base
            for part in parts:
                mapper = mapper.without(part)
            row = {}
            for name, (docs, label_set) in corpora.items():
                r = evaluate_techniques(docs, kb, lambda _docs, m=mapper: m, labels=label_set)
                ep = (r["evidence_precision"] or {}).get("precision")
                row[name] = {"f1": r["parent"]["f1"], "evidence_precision": ep}
            results["ablation"][label] = row
            cells = "".join(
                f"{row[n]['f1']:>11.3f} / {row[n]['evidence_precision'] or 0:.2f}" for n in corpora
            )
            lines.append(f"{label:<40}{cells}")
            print(lines[-1] if len(lines) > 2 else "\n".join(lines), flush=True)
        if base.decision is not None:
            results["decision_weights"] = base.decision.weights()
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))
    print("reproduce: python benchmarks/technique_accuracy.py --data", args.data, f"--folds {args.folds}")


if __name__ == "__main__":
    main()
