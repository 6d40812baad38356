"""Corpus throughput of `ttpmap batch` on Dask: 1 vs 2 local workers, SQLite and PostgreSQL stores.

Builds a corpus of distinct reports from the bundled examples (paragraphs of each example resampled
with a seeded RNG, plus a unique case line, so every document's bytes, techniques and IOCs differ a
little), then analyses it into a fresh store with 1 and with 2 worker processes and prints documents/s,
the speed-up, peak RSS per worker, time to first result, store size and a 10,000-report extrapolation.
Another process's load on the machine shows up directly in these figures.

    python benchmarks/batch_throughput.py --docs 500 [--postgres postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path

from ttpmap.batch import AnalysisPlugin, dask_client, model_version, run_batch
from ttpmap.kb import load_kb
from ttpmap.pipeline import Options, default_model
from ttpmap.store import RunKey, open_store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("apt-exchange-intrusion.md", "phishing-campaign.md", "ransomware-healthcare.md")


def make_corpus(folder: Path, n: int, seed: int = 0) -> list[str]:
    """``n`` distinct Markdown reports resampled from the example reports."""
    rng = random.Random(seed)
    texts = [(ROOT / "examples" / name).read_text(encoding="utf-8") for name in EXAMPLES]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        paras = texts[i % len(texts)].split("\n\n")
        head, body = paras[:2], paras[2:]
        keep = [p for p in body if rng.random() < 0.85]
        path = folder / f"report-{i:05d}.md"
        path.write_text(
            "\n\n".join([*head, *keep, f"Case reference {seed}-{i:05d}."]) + "\n", encoding="utf-8"
        )
        paths.append(str(path))
    return paths


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _store_bytes(store) -> int:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    if store.backend == "sqlite":
        base = Path(store.url.database)
        return sum(p.stat().st_size for p in base.parent.glob(base.name + "*"))
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                )
            ).scalar()
        )


def run(sources: list[str], url: str, workers: int, key: RunKey) -> dict[str, float]:
    store = open_store(url)
    plugin = AnalysisPlugin(None, "enterprise", None, Options(), techniques=True)
    start = time.perf_counter()
    first: list[float] = []
    client_cpu = _cpu_seconds()
    with dask_client(plugin, workers=workers) as client:
        ready = time.perf_counter()
        cpu_before = sum(client.run(_cpu_seconds).values())

        def on_event(_event) -> None:  # type: ignore[no-untyped-def]
            if not first:
                first.append(time.perf_counter() - ready)

        report = run_batch(sources, store, client, key, on_event=on_event)
        done = time.perf_counter()
        rss = client.run(_peak_rss_mb)
        cpu = sum(client.run(_cpu_seconds).values()) - cpu_before
        client_cpu = _cpu_seconds() - client_cpu
    size = _store_bytes(store)
    store.close()
    assert len(report.done) == len(sources), report.failed[:3]
    return {
        "startup_s": ready - start,
        "seconds": done - ready,
        "docs_per_s": len(sources) / (done - ready),
        "first_result_s": first[0] if first else float("nan"),
        "peak_rss_mb": max(rss.values()),
        "store_mb": size / 1e6,
        "cpu_s_per_doc": cpu / len(sources),
        "client_cpu_s_per_doc": client_cpu / len(sources),
    }


def _pg_url(base: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    schema = f"ttpmap_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--postgres", default=os.environ.get("TTPMAP_TEST_POSTGRES_URL"))
    parser.add_argument("--workers", default="1,2", help="comma list of worker counts")
    args = parser.parse_args()
    kb = load_kb()
    default_model(kb)  # train once up front, so workers only load
    key = RunKey(model_version(None), kb.info.sha256)
    with tempfile.TemporaryDirectory() as tmp:
        sources = make_corpus(Path(tmp) / "corpus", args.docs)
        chars = sum(Path(s).stat().st_size for s in sources) / len(sources)
        print(
            f"{len(sources)} reports, mean {chars:,.0f} bytes; {os.cpu_count()} CPUs; load {os.getloadavg()}"
        )
        rows = {}
        for n in (int(w) for w in args.workers.split(",")):
            rows[f"sqlite, {n} worker(s)"] = run(sources, f"sqlite:///{tmp}/bench-{n}.sqlite", n, key)
        if args.postgres:
            n = max(int(w) for w in args.workers.split(","))
            url, schema = _pg_url(args.postgres)
            try:
                rows[f"postgresql, {n} worker(s)"] = run(sources, url, n, key)
            finally:
                _drop_schema(args.postgres, schema)
    head = f"{'run':<26} {'docs/s':>7} {'CPU s/doc':>9} {'client CPU':>10} {'first (s)':>9} {'start (s)':>9}"
    print(f"\n{head} {'RSS/worker':>10} {'store MB':>9}")
    for name, r in rows.items():
        print(
            f"{name:<26} {r['docs_per_s']:>7.2f} {r['cpu_s_per_doc']:>9.3f} "
            f"{r['client_cpu_s_per_doc']:>10.3f} {r['first_result_s']:>9.2f} "
            f"{r['startup_s']:>9.1f} {r['peak_rss_mb']:>8.0f}MB {r['store_mb']:>9.1f}"
        )
    print(f"load average at the end: {os.getloadavg()}")
    one, two = rows.get("sqlite, 1 worker(s)"), rows.get("sqlite, 2 worker(s)")
    if one and two:
        print(f"\nspeed-up 1 -> 2 workers: {two['docs_per_s'] / one['docs_per_s']:.2f}x (target >= 1.7x)")
    if one:
        cpu_hours = 10_000 * one["cpu_s_per_doc"] / 3600
        wall_hours = 10_000 / one["docs_per_s"] / 3600
        per_doc = one["store_mb"] / args.docs
        print(
            f"10,000 reports: {cpu_hours:.1f} worker CPU-hours ({wall_hours:.1f} h wall at the measured "
            f"1-worker rate); SQLite store ~{per_doc * 10_000 / 1000:.1f} GB"
        )
        pg = next((r for k, r in rows.items() if k.startswith("postgresql")), None)
        if pg:
            print(f"PostgreSQL store ~{pg['store_mb'] / args.docs * 10_000 / 1000:.1f} GB for 10,000 reports")


if __name__ == "__main__":
    main()
