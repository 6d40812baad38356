"""Run the atheris fuzz targets: ``python fuzz/run.py [TARGET ...] [--seconds N]``.

Each target runs in its own process for N seconds (default 60) on a corpus seeded at run time from
examples/; a crash leaves its input under fuzz/crashes/ and makes the run fail. Nothing touches the
network. ``python fuzz/run.py --list`` names the targets.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from targets import READERS, SEEDS  # noqa: E402

TARGETS = [*READERS, "detect", "export"]


def seed_corpus(name: str, folder: Path) -> None:
    """Copy the examples that suit ``name`` into ``folder`` (the fuzzer mutates from there)."""
    for path in sorted((ROOT / "examples").iterdir()):
        if path.suffix in SEEDS[name] and path.stat().st_size <= 2**20:
            shutil.copy(path, folder / path.name)
            if path.suffix == ".docx":  # the body XML alone, for the structure-aware DOCX target
                with zipfile.ZipFile(path) as archive:
                    (folder / f"{path.stem}.xml").write_bytes(archive.read("word/document.xml"))


def fuzz_one(name: str, argv: list[str]) -> None:
    """Inside the child process: instrument ttpmap and the parsers, then fuzz ``name``."""
    import atheris

    with atheris.instrument_imports(include=["ttpmap", "pypdf", "docx", "trafilatura", "lxml"]):
        from targets import target

        function = target(name)
        # Readers import their parsers lazily: one call here makes those imports instrumented too.
        for seed in (b"", b"The actor used http://evil-cdn.com/a.exe on 203.0.113.7."):
            function(seed)
    atheris.Setup([sys.argv[0], *argv], function)
    atheris.Fuzz()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    parser.add_argument("--seconds", type=int, default=60, help="time per target")
    parser.add_argument("--list", action="store_true", help="list the targets")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args, extra = parser.parse_known_args()
    if args.child:
        fuzz_one(args.child, extra)
        return 0
    if args.list:
        print("\n".join(TARGETS))
        return 0
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    crashes = HERE / "crashes"
    failed = []
    for name in args.targets or TARGETS:
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as corpus:
            seed_corpus(name, Path(corpus))
            (crashes / name).mkdir(parents=True, exist_ok=True)
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                name,
                f"-max_total_time={args.seconds}",
                "-rss_limit_mb=2048",
                "-timeout=30",
                "-max_len=1048576",
                f"-artifact_prefix={crashes / name}/",
                "-print_final_stats=1",
                corpus,
            ]
            print(f"fuzz {name}: {args.seconds} s", flush=True)
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            tail = [line for line in result.stderr.splitlines() if line.startswith(("stat::", "Done", "=="))]
            print("\n".join(f"  {line}" for line in tail[-4:]), flush=True)
            if result.returncode != 0:
                failed.append(name)
                print(result.stderr[-3000:], file=sys.stderr)
    if failed:
        print(f"fuzzing found crashes in: {', '.join(failed)} (inputs under {crashes})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
