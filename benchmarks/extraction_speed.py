"""Throughput of the text stages: sentence splitting, IOC extraction, entity extraction.

    python benchmarks/extraction_speed.py [--size 100000] [--repeat 3]

Input: the bundled example reports concatenated (and repeated) to ``--size`` characters. Prints
characters/s and sentences/s per stage (best of ``--repeat``) and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ttpmap.extract.entities import find_entities
from ttpmap.extract.iocs import find_iocs
from ttpmap.ingest import from_text, load
from ttpmap.kb import load_kb
from ttpmap.text import split_sentences

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="characters of text to process")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    reports = [p for p in sorted(EXAMPLES.glob("*.md")) if p.name != "README.md"]
    base = "\n\n".join(load(str(p)).text for p in reports)
    text = (base * (args.size // len(base) + 1))[: args.size]
    kb = load_kb()
    doc = from_text(text, source="bench")
    sentences = doc.sentences
    find_entities(from_text("warm up"), kb)
    results = {
        "chars": len(text),
        "sentences": len(sentences),
        "split_s": _best(lambda: split_sentences(text), args.repeat),
        "iocs_s": _best(lambda: find_iocs(text), args.repeat),
        "entities_s": _best(lambda: find_entities(doc, kb), args.repeat),
    }
    print(f"{len(text):,} chars, {len(sentences):,} sentences (best of {args.repeat})")
    for stage in ("split", "iocs", "entities"):
        secs = results[f"{stage}_s"]
        rate, srate = len(text) / secs, len(sentences) / secs
        print(f"  {stage:<9} {secs:7.3f} s  {rate:>12,.0f} chars/s  {srate:>10,.0f} sent/s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
