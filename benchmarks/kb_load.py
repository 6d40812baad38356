"""How long loading the ATT&CK knowledge base takes, cold (no index cache) and warm, and its peak memory.

Each measurement runs in a fresh Python process with its own ``TTPMAP_CACHE``, so "cold" really parses
the bundle and "warm" pays everything a CLI start pays: interpreter, ``import ttpmap.kb``, finding the
bundle's digest, reading and checking the JSON index.

    python benchmarks/kb_load.py --repeat 3

Prints a table and one JSON line. Targets: warm < 1 s, cold < 5 s, peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

V18_1 = Path("/work/shared/data/mitre-attack/enterprise-attack-18.1.stix20.rebuilt.json.gz")
TARGETS = {"warm_s": 1.0, "cold_s": 5.0, "rss_mb": 300.0}

# runs in the child; everything it reports is measured there
_CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from ttpmap.kb import load_kb
t1 = time.perf_counter()
kb = load_kb(sys.argv[1] or None)
t2 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rss_mb = rss / 2**20 if sys.platform == "darwin" else rss / 1024
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "rss_mb": rss_mb, "version": kb.version,
                  "techniques": len(kb.techniques), "procedures": len(kb.procedures)}))
"""


def run_child(bundle: str, cache: Path) -> dict:
    """Load ``bundle`` (empty: the default) in a new interpreter using ``cache``; wall time included."""
    env = {**os.environ, "TTPMAP_CACHE": str(cache)}
    env.pop("TTPMAP_ATTACK", None)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, bundle], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"child failed for {bundle or 'embedded'}:\n{proc.stderr.strip()}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def interpreter_start(repeat: int) -> float:
    """Median wall time of ``python -c pass``: the part of every CLI start that ttpmap cannot change."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(label: str, bundle: str, repeat: int) -> list[dict]:
    """Cold then warm runs, ``repeat`` times each; returns one summary row per mode."""
    runs: dict[str, list[dict]] = {"cold": [], "warm": []}
    for _ in range(repeat):
        cache = Path(tempfile.mkdtemp(prefix="ttpmap-bench-"))
        try:
            runs["cold"].append(run_child(bundle, cache))
            runs["warm"].append(run_child(bundle, cache))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    rows = []
    for mode, results in runs.items():
        rows.append(
            {
                "bundle": label,
                "mode": mode,
                "version": results[0]["version"],
                "techniques": results[0]["techniques"],
                "wall_s": statistics.median(r["wall_s"] for r in results),
                "wall_s_max": max(r["wall_s"] for r in results),
                "import_s": statistics.median(r["import_s"] for r in results),
                "load_s": statistics.median(r["load_s"] for r in results),
                "rss_mb": max(r["rss_mb"] for r in results),
                "runs": len(results),
            }
        )
    return rows


def within_targets(row: dict) -> bool:
    """Judged on the time spent in ttpmap (import + load), which a busy machine inflates least."""
    limit = TARGETS["warm_s"] if row["mode"] == "warm" else TARGETS["cold_s"]
    return row["import_s"] + row["load_s"] < limit and row["rss_mb"] < TARGETS["rss_mb"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per bundle and mode (median reported)")
    parser.add_argument("--bundle", action="append", default=[], help="extra bundle path to measure")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    bundles = [("embedded enterprise v15.0", "")]
    if V18_1.is_file():
        bundles.append(("enterprise v18.1 (stix20 rebuilt .gz)", str(V18_1)))
    bundles += [(Path(b).name, b) for b in args.bundle]

    repeat = max(1, args.repeat)
    baseline = interpreter_start(repeat)
    rows = [row for label, path in bundles for row in measure(label, path, repeat)]
    columns = ("wall s", "import s", "load s", "RSS MB")
    header = f"{'bundle':38} {'mode':5} {'version':>7} " + " ".join(f"{c:>8}" for c in columns) + "  ok"
    print(header)
    print("-" * len(header))
    for row in rows:
        row["ok"] = within_targets(row)
        print(
            f"{row['bundle']:38} {row['mode']:5} {row['version']:>7} {row['wall_s']:8.3f} "
            f"{row['import_s']:8.3f} {row['load_s']:8.3f} {row['rss_mb']:8.1f}  "
            f"{'yes' if row['ok'] else 'NO'}"
        )
    print(
        f"median of {repeat} fresh processes; wall = whole child process, of which {baseline:.3f} s is "
        "a bare interpreter start; import = `import ttpmap.kb` (with the ttpmap package __init__)"
    )
    print(
        f"targets on import + load: warm < {TARGETS['warm_s']} s, cold < {TARGETS['cold_s']} s; "
        f"peak RSS < {TARGETS['rss_mb']:.0f} MB"
    )
    summary = {
        "benchmark": "kb_load",
        "python": sys.version.split()[0],
        "repeat": repeat,
        "interpreter_start_s": round(baseline, 4),
        "targets": TARGETS,
        "results": [{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()} for row in rows],
    }
    print(json.dumps(summary))
    return 0 if (not args.check or all(row["ok"] for row in rows)) else 1


if __name__ == "__main__":
    sys.exit(main())
