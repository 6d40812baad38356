"""The full-size hostile inputs of issue #11, run through the real CLI: seconds, peak memory, outcome.

    python benchmarks/hostile.py [CASE ...] [--keep DIR]

Inputs are generated in a temporary folder (tests/hostile/hostile_cases.py; nothing is committed).
Peak memory is the largest resident set of the CLI process or its reader worker (Linux ``wait4``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

import hostile_cases as cases  # noqa: E402

STDIN_GB = 3


def run_cli(
    args: list[str], env: dict[str, str], stdin: int | None = None
) -> tuple[int, float, float, float, str]:
    """(exit code, wall seconds, CPU seconds, peak RSS in MB, last stderr line) of one ``ttpmap`` run."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ttpmap.cli", *args],
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300", **env},
            cwd=ROOT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        err.seek(0)
        lines = [ln for ln in err.read().decode(errors="replace").splitlines() if ln.strip()]
    cpu = usage.ru_utime + usage.ru_stime
    return proc.returncode, seconds, cpu, usage.ru_maxrss / 1024, lines[-1] if lines else ""


def stdin_stream(folder: Path) -> tuple[list[str], dict[str, str], int | None]:
    """3 GB of text on stdin from a writer process (it stops when ttpmap closes the pipe)."""
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"""
import sys
chunk = b"The actor used RDP to move laterally. " * 27000  # ~1 MB
out = sys.stdout.buffer
try:
    for _ in range({STDIN_GB} * 1024):
        out.write(chunk)
except BrokenPipeError:
    pass
""",
        ],
        stdout=subprocess.PIPE,
    )
    assert writer.stdout is not None
    return ["analyze", "-", "--no-model"], {}, writer.stdout.fileno()


def write_case(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def build(folder: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Every case but stdin: (CLI arguments, extra environment)."""
    out = str(folder / "out")
    t = time.monotonic()
    built = {
        "docx-bomb-900mb": (
            ["analyze", write_case(folder, "bomb.docx", cases.docx_bomb(900)), "--no-model"],
            {},
        ),
        "docx-300k-paragraphs": (
            ["analyze", write_case(folder, "many.docx", cases.docx_paragraphs(300_000)), "--no-model"],
            {},
        ),
        "docx-300k-paragraphs-5s": (
            ["analyze", str(folder / "many.docx"), "--no-model"],
            {"TTPMAP_MAX_ELEMENTS": "1000000", "TTPMAP_MAX_SECONDS": "5"},
        ),
        "pdf-one-page-190k-blocks-5s": (
            ["analyze", write_case(folder, "slow.pdf", cases.pdf_repeated_text(190_000)), "--no-model"],
            {"TTPMAP_MAX_SECONDS": "5"},
        ),
        "html-45mb": (
            [
                "analyze",
                write_case(folder, "big.html", cases.html_repeated(500_000)[: 45 * 2**20]),
                "--no-model",
            ],
            {},
        ),
        "html-45mb-text": (
            ["analyze", write_case(folder, "text.html", cases.html_text(45)), "--no-model"],
            {},
        ),
        "text-200k-iocs-all-exports": (
            ["analyze", write_case(folder, "iocs.txt", cases.ioc_text(200_000)), "-o", out, "-e", "all"],
            {},
        ),
    }
    print(f"(inputs built in {time.monotonic() - t:.0f} s)", flush=True)
    return built


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--keep", type=Path, help="build the inputs here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="ttpmap-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    built = build(folder)
    names = ["stdin-3gb", *built]
    print(f"{'case':30} {'exit':>4} {'wall s':>7} {'CPU s':>6} {'peak MB':>7}  last stderr line")
    for name in args.cases or names:
        if name == "stdin-3gb":
            argv, env, stdin = stdin_stream(folder)
        else:
            (argv, env), stdin = built[name], None
        code, seconds, cpu, rss, last = run_cli(argv, env, stdin)
        print(f"{name:30} {code:>4} {seconds:>7.1f} {cpu:>6.1f} {rss:>7.0f}  {last[:150]}", flush=True)
        if name.startswith("text-200k"):
            sizes = {p.name: p.stat().st_size for p in (folder / "out").iterdir()}
            print("    outputs (MB): " + ", ".join(f"{k} {v / 2**20:.1f}" for k, v in sorted(sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
