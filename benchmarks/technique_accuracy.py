"""Accuracy of the technique mapper on TRAM2 and AnnoCTR: zero-shot and cross-validated by report.

    python benchmarks/technique_accuracy.py [--data /work/shared/data] [--folds 5] [--no-cv] [-o out.json]

Scores are per-document micro/macro P/R/F1 at exact and parent level. The default threshold is a
round constant; the sweep lines show other thresholds (tune on one corpus, read off the other).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-cv", action="store_true", help="skip the (slow) cross-validation")
    parser.add_argument("-o", "--output", type=Path, help="write all results as JSON")
    args = parser.parse_args()

    from ttpmap.evaluate.techniques import default_factory, evaluate_techniques, format_table, read_label_set
    from ttpmap.kb import load_kb
    from ttpmap.learn.corpus import read_annoctr, read_tram

    kb = load_kb()
    factory = default_factory(kb, progress=lambda m: print(m, file=sys.stderr))
    tram_file = args.data / "tram" / "tram2_reports.jsonl.gz"
    labels = read_label_set(args.data / "tram" / "single_label.json")
    tram = [d for d in read_tram(tram_file) if d.techniques]
    linking = args.data / "annoctr" / "linking_mitre_only"
    annoctr = read_annoctr(linking / "train.jsonl.gz") + read_annoctr(linking / "dev.jsonl.gz")

    runs = {
        "tram_all": (tram, None, 0),
        "tram_50": (tram, labels, 0),
        "annoctr": (annoctr, None, 0),
    }
    if not args.no_cv:
        runs["tram_50_cv"] = (tram, labels, args.folds)
    results = {}
    for name, (docs, label_set, folds) in runs.items():
        results[name] = evaluate_techniques(docs, kb, factory, folds=folds, labels=label_set)
        print(format_table(results[name], name), end="\n\n", flush=True)
    if args.output:
        args.output.write_text(json.dumps(results, indent=2))
    print("reproduce: python benchmarks/technique_accuracy.py --data", args.data, f"--folds {args.folds}")


if __name__ == "__main__":
    main()
