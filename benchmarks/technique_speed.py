"""Speed of the technique mapper: a 10,000-word report, batch sentences/s, warm load, RSS, training.

    python benchmarks/technique_speed.py [--train]

``--train`` also times training the default model from scratch (in a temporary cache).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time


def _report(words: int, seed: int = 0) -> str:
    from ttpmap.kb import load_kb
    from ttpmap.learn.corpus import masked_text

    kb = load_kb()
    rng = random.Random(seed)
    procedures = [masked_text(p.text, p.mentions, "The actor") for p in kb.procedures if p.text]
    out, n = [], 0
    while n < words:
        sentence = rng.choice(procedures)
        out.append(sentence if sentence.endswith(".") else sentence + ".")
        n += len(sentence.split())
        if rng.random() < 0.15:
            out.append("\n")
    return " ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="also time training from scratch")
    args = parser.parse_args()

    from ttpmap.extract.techniques import map_techniques
    from ttpmap.ingest import from_text
    from ttpmap.kb import load_kb
    from ttpmap.learn.artifacts import load_model, load_or_train, models_dir

    kb = load_kb()
    load_or_train(kb)  # make sure the cache is warm
    cached = max(models_dir().glob("auto-*.npz"), key=os.path.getmtime)
    t0 = time.perf_counter()
    model = load_model(cached)
    load_s = time.perf_counter() - t0

    text = _report(10_000)
    t0 = time.perf_counter()
    doc = from_text(text, source="bench")  # sentence splitting counts as part of the report's time
    decisions, _ = map_techniques(doc, kb, model)
    report_s = time.perf_counter() - t0

    sentences = [s.text for s in doc.sentences] * 5
    t0 = time.perf_counter()
    model.sentences.decision_function(sentences)
    batch_rate = len(sentences) / (time.perf_counter() - t0)

    print(f"warm model load          {load_s:8.3f} s")
    found = f"({len(doc.sentences)} sentences, {len(decisions)} techniques)"
    print(f"10,000-word report       {report_s:8.3f} s  {found}")
    print(f"batch scoring            {batch_rate:8.0f} sentences/s")
    if args.train:
        from ttpmap.learn.mapper import fit_mapper

        with tempfile.TemporaryDirectory():
            t0 = time.perf_counter()
            fit_mapper(kb)
            print(f"training (default mapper: 3 sentence + 3 role fits) {time.perf_counter() - t0:8.1f} s")
    print(f"peak RSS                 {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.0f} MB")


if __name__ == "__main__":
    main()
