"""Indicator quality: is "actor infrastructure or artefact" right, and do warning-listed values stay
out of the exports?

1. Precision and recall of disposition ``actor`` on the hand-labelled values of the bundled examples and
   the sample text of issue #14 (``benchmarks/ioc_labels.json``). The disposition rules and word lists
   were written while looking at these examples, so these figures are IN-SAMPLE.
2. On reports from the evaluation data (TRAM2 reports and AnnoCTR train/dev texts; never committed,
   read at run time): how many values get each disposition, and how many values exported as actor
   indicators hit a MISP warning list of the benign, reserved or scanner kinds (target 0), or of the
   popular/service/hosting kinds (reported, allowed: an actor's sub-domain on a dynamic-DNS service or
   an address in a cloud range). With ``--labels FILE`` (a TSV of report, type, value, actor|other that
   a person wrote for a random sample of these values, kept outside the repository because it is
   derived from the evaluation data), precision and recall of "actor" on that sample, OUT-OF-SAMPLE for
   the labels (the warning-list rules were adjusted on the count of item 2 over the same reports).
3. Warning-list index: build time (cold, once per package version), open time (warm) and look-ups/s.

    python benchmarks/ioc_quality.py [--data DIR] [--limit N] [--labels FILE]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ttpmap.extract.iocs import find_iocs
from ttpmap.extract.iocs.warninglists import WarningLists, list_kinds

ROOT = Path(__file__).resolve().parents[1]
BLOCKING_KINDS = {"benign", "reserved", "scanner"}


def _labelled() -> list[tuple[str, str, dict[str, str]]]:
    labels = json.loads((ROOT / "benchmarks" / "ioc_labels.json").read_text(encoding="utf-8"))
    out = []
    for name, entry in labels.items():
        if name == "_about":
            continue
        if name.startswith("_"):
            out.append((name, entry["text"], entry["labels"]))
        else:
            out.append((name, (ROOT / "examples" / name).read_text(encoding="utf-8"), entry))
    return out


def precision_recall() -> dict[str, float]:
    tp = fp = fn = 0
    wrong: list[str] = []
    for name, text, labels in _labelled():
        predicted = {i.value: i.disposition for i in find_iocs(text)}
        for value, label in labels.items():
            got = predicted.get(value)
            actor_pred, actor_gold = got == "actor", label == "actor"
            tp += actor_pred and actor_gold
            fp += actor_pred and not actor_gold
            fn += actor_gold and not actor_pred
            if actor_pred != actor_gold:
                wrong.append(f"{name}: {value} gold={label} predicted={got}")
        fp += sum(1 for v, d in predicted.items() if d == "actor" and v not in labels)
    for line in wrong:
        print("   ", line)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r}


def _reports(data: Path, limit: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    tram = data / "tram" / "tram2_reports.jsonl.gz"
    if tram.is_file():
        with gzip.open(tram, "rt", encoding="utf-8") as f:
            out += [(f"tram:{r['title'][:40]}", r["text"]) for r in map(json.loads, f)]
    for split in ("train", "dev"):  # AnnoCTR's test split is withheld and never read
        folder = data / "annoctr" / "text" / split
        if folder.is_dir():
            out += [
                (f"annoctr:{p.stem}", p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.txt"))
            ]
    return out[:limit] if limit else out


def shared_data(data: Path, limit: int, labels: Path | None = None) -> None:
    reports = _reports(data, limit)
    if not reports:
        print("  no evaluation data found (set --data or TTPMAP_EVAL_DATA)")
        return
    kinds = list_kinds()
    dispositions: Counter[str] = Counter()
    blocked: list[str] = []
    allowed: Counter[str] = Counter()
    predicted: dict[tuple[str, str], str] = {}
    start = time.perf_counter()
    for name, text in reports:
        for i in find_iocs(text):
            predicted[(name.split(":", 1)[1][:40], i.value)] = str(i.disposition)
            dispositions[str(i.disposition)] += 1
            if not i.actionable or i.type == "cve":
                continue
            hit_kinds = {kinds.get(n, "?") for n in i.warninglists}
            if "service" in hit_kinds and i.type == "url":
                allowed["service URL"] += 1  # the observable on an abused service: exported on purpose
            elif hit_kinds & BLOCKING_KINDS:
                blocked.append(f"{name}: {i.type} {i.defanged} {sorted(i.warninglists)[:4]}")
            for k in hit_kinds - BLOCKING_KINDS:
                allowed[k] += 1
    seconds = time.perf_counter() - start
    print(f"  {len(reports)} reports in {seconds:.1f} s")
    print(f"  values by disposition: {dict(dispositions.most_common())}")
    print(f"  exported actor values on benign/reserved/scanner warning lists: {len(blocked)} (target 0)")
    for line in blocked[:60]:
        print("    ", line)
    print(f"  exported actor values also on other lists (allowed, noted): {dict(allowed)}")
    if labels is not None:
        _sample_scores(labels, predicted)


def _sample_scores(labels: Path, predicted: dict[tuple[str, str], str]) -> None:
    tp = fp = fn = missing = 0
    for line in labels.read_text(encoding="utf-8").splitlines():
        report, _, value, label = line.split("\t")
        got = predicted.get((report, value))
        if got is None:
            missing += 1
            continue
        tp += got == "actor" and label == "actor"
        fp += got == "actor" and label != "actor"
        fn += got != "actor" and label == "actor"
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    print(f"  labelled sample ({labels.name}): tp {tp} fp {fp} fn {fn} (not found {missing})", end="  ")
    print(f"precision {p:.3f}  recall {r:.3f}  (out-of-sample unless the rules were tuned on this file)")


def index_timing() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        WarningLists.open(Path(tmp))
        build = time.perf_counter() - start
        start = time.perf_counter()
        lists = WarningLists.open(Path(tmp))
        warm = time.perf_counter() - start
        values = ["www.google.com", "update-check.badcdn.net", "evil.duckdns.org", "pastebin.com"]
        start = time.perf_counter()
        n = 0
        for _ in range(250):
            for v in values:
                lists.host(v)
                n += 1
            lists.address("185.220.101.45")
            lists.address("8.8.8.8")
            n += 2
        rate = n / (time.perf_counter() - start)
    print(
        f"  index build (cold, once) {build:.1f} s; open (warm) {warm * 1000:.1f} ms; {rate:,.0f} look-ups/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("TTPMAP_EVAL_DATA") or str(ROOT.parent / "shared" / "data")
    parser.add_argument("--data", default=default if Path(default).is_dir() else "/work/shared/data")
    parser.add_argument("--limit", type=int, default=0, help="at most N evaluation reports (0: all)")
    parser.add_argument("--labels", type=Path, help="hand labels of sampled evaluation-data values (TSV)")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    print("1. actor infrastructure/artefact on the labelled examples + issue #14 sample (IN-SAMPLE)")
    m = precision_recall()
    print(
        f"  tp {m['tp']} fp {m['fp']} fn {m['fn']}  precision {m['precision']:.3f}  recall {m['recall']:.3f}"
    )
    print("2. evaluation-data reports (no labels): warning-listed values exported as indicators")
    shared_data(Path(args.data), args.limit, args.labels)
    if not args.no_timing:
        print("3. MISP warning-list index")
        index_timing()
    return 0


if __name__ == "__main__":
    sys.exit(main())
