"""Outputs stay inert, bounded and whole; batches survive awkward names (issue #11, defects 1-3, 6-9)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ttpmap.errors import ExportError
from ttpmap.models import Indicator
from ttpmap.publish import export
from ttpmap.publish.files import safe_stem, unique_stem, write_atomic
from ttpmap.publish.limits import cap_iocs

ROOT = Path(__file__).resolve().parents[2]
REPORT = (ROOT / "examples" / "phishing-campaign.md").read_bytes()
HOSTILE_TITLE = "Loader at http://evil-cdn.com/a.exe from 203.0.113.7, mail ops@evil-mail.net"
LIVE = ("http://evil-cdn", "evil-cdn.com/a.exe", "203.0.113.7", "ops@evil-mail.net")


def run(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ttpmap.cli", *args],
        input=stdin,
        capture_output=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})},
        cwd=ROOT,
        timeout=600,
    )


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    err = proc.stderr.decode()
    assert "Traceback" not in err and "internal error" not in err, err
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def warm(kb) -> None:
    """The KB index exists in the session cache before the CLI runs (the model is never needed)."""


# --- 1. stdin is capped in the CLI --------------------------------------------------------------


def test_cli_stdin_over_the_byte_limit(warm: None) -> None:
    proc = run("analyze", "-", "--no-model", stdin=REPORT * 40, env={"TTPMAP_MAX_BYTES": "65536"})
    assert proc.returncode == 3
    (line,) = error_lines(proc)
    assert (
        line == "error: -: input is larger than the 64 KB limit and was not read further (TTPMAP_MAX_BYTES)"
    )


# --- 2. awkward names are that input's business ------------------------------------------------


def test_batch_with_awkward_names(warm: None, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    names = ["_draft.md", "rapport-été.md", "Report.md", "report.txt", "-dash.md", "a b;c.md"]
    for name in names:
        (inputs / name).write_bytes(REPORT)
    out = tmp_path / "out"
    proc = run("analyze", str(inputs), "--no-model", "-o", str(out), "-e", "csv")
    assert proc.returncode == 0, proc.stderr.decode()
    assert error_lines(proc) == []
    written = sorted(p.name for p in out.glob("*.json"))
    assert written == sorted(
        [
            "dash.json",  # a leading "-" would read as an option
            "_draft.json",
            "a_b_c.json",
            "rapport-été.json",
            "Report.json",
            "report-2.json",
        ]
    )
    # one progress line per file, as it is written
    assert proc.stderr.decode().count("  wrote ") == len(written) * 3


def test_safe_and_unique_stems() -> None:
    assert safe_stem("rapport-été") == "rapport-été"
    assert safe_stem("../../etc/passwd") == "_.._etc_passwd"
    assert safe_stem("..") == "report" and safe_stem("") == "report"
    assert safe_stem("x" * 500) == "x" * 80
    assert len(safe_stem("é" * 200).encode()) <= 160
    used: set[str] = set()
    assert [unique_stem(n, used) for n in ("a", "A", "a", "b")] == ["a", "A-2", "a-3", "b"]


# --- 3. titles are defanged in every human-facing output -----------------------------------------


@pytest.mark.parametrize("kind", ["advisory", "brief"])
@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_title_is_defanged(analysis_apt, kind: str, fmt: str) -> None:
    from importlib import import_module

    document = analysis_apt.document.model_copy(update={"title": HOSTILE_TITLE})
    analysis = analysis_apt.model_copy(update={"document": document})
    text = import_module(f"ttpmap.publish.{kind}").render(analysis, None, fmt)
    for live in LIVE:
        assert live not in text, (kind, fmt, live)
    assert "hxxp" in text


# --- 6. exported indicators are capped, with a note ----------------------------------------------


def many_iocs(analysis_apt, count: int):
    iocs = [
        Indicator(type="ipv4", value=f"45.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", defanged="")
        for i in range(count)
    ]
    return analysis_apt.model_copy(update={"iocs": iocs})


def test_cap_iocs_keeps_the_first_and_notes_the_rest(analysis_apt) -> None:
    analysis = many_iocs(analysis_apt, 1000)
    capped = cap_iocs(analysis, 100)
    assert len(capped.iocs) == 100 and capped.iocs == analysis.iocs[:100]
    assert capped.notes == [
        "Only the first 100 of 1,000 indicators are included; the rest were left out (TTPMAP_MAX_IOCS)."
    ]
    assert len(analysis.iocs) == 1000 and analysis.notes == []
    assert cap_iocs(capped, 100) is capped


def test_exports_are_capped_and_say_so(analysis_apt, tmp_path: Path) -> None:
    analysis = many_iocs(analysis_apt, 3000)
    written: list[Path] = []
    export(analysis, None, ["stix", "csv", "json", "advisory"], tmp_path, stem="r", max_iocs=50,
           on_written=written.append)  # fmt: skip
    assert {p.name for p in written} >= {"r-stix.json", "r-iocs.csv", "r.json", "r-advisory.md"}
    saved = json.loads((tmp_path / "r.json").read_text())
    assert len(saved["iocs"]) == 50 and "TTPMAP_MAX_IOCS" in saved["notes"][0]
    assert len((tmp_path / "r-iocs.csv").read_text().splitlines()) == 51
    stix = json.loads((tmp_path / "r-stix.json").read_text())
    assert sum(o["type"] == "indicator" for o in stix["objects"]) <= 50
    assert "Only the first 50 of 3,000 indicators" in (tmp_path / "r-advisory.md").read_text()


def test_cli_caps_indicators_and_warns(warm: None, tmp_path: Path) -> None:
    import hostile_cases as cases

    report = tmp_path / "iocs.txt"
    report.write_bytes(cases.ioc_text(60))
    proc = run(
        "analyze", str(report), "--no-model", "-o", str(tmp_path / "out"), env={"TTPMAP_MAX_IOCS": "7"}
    )
    assert proc.returncode == 0, proc.stderr.decode()
    saved = json.loads((tmp_path / "out" / "iocs.json").read_text())
    assert len(saved["iocs"]) == 7
    (note,) = saved["notes"]
    assert note.startswith("Only the first 7 of ") and f"warning: {report}: {note}" in proc.stderr.decode()


# --- 7. atomic, never through a symlink, never outside -o -----------------------------------------


def test_symlink_in_the_output_folder_is_replaced_not_followed(analysis_apt, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "r-iocs.csv").symlink_to(victim)
    export(analysis_apt, None, ["csv"], out, stem="r")
    assert victim.read_text() == "precious"
    assert not (out / "r-iocs.csv").is_symlink() and "type,kind,value" in (out / "r-iocs.csv").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "victim.txt"]


def test_failed_write_leaves_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r-stix.json"
    target.write_text('{"previous": true}')

    def crash(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(ExportError, match="No space left on device"):
        write_atomic(target, "x" * 100_000)
    assert target.read_text() == '{"previous": true}'
    assert [p.name for p in tmp_path.iterdir()] == ["r-stix.json"]  # no temporary file left behind


def test_atomic_files_get_ordinary_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "r.json", "{}")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_export_refuses_unsafe_stems(analysis_apt, tmp_path: Path) -> None:
    from ttpmap.errors import UsageError

    for stem in ("../escape", "-rf", "a/b"):
        with pytest.raises(UsageError, match="invalid output name"):
            export(analysis_apt, None, ["csv"], tmp_path, stem=stem)
    assert list(tmp_path.iterdir()) == []


# --- 8. bad -o paths are usage errors -------------------------------------------------------------


def test_bad_output_paths_are_usage_errors(warm: None, tmp_path: Path) -> None:
    existing = tmp_path / "file.txt"
    existing.write_text("x")
    report = tmp_path / "r.md"
    report.write_bytes(REPORT)
    for output, why in ((existing, "exists and is not a folder"), (Path("/dev/null/x"), "cannot create")):
        proc = run("analyze", str(report), "--no-model", "-o", str(output))
        assert proc.returncode == 2, proc.stderr.decode()
        (line,) = error_lines(proc)
        assert why in line


# --- 9. malformed limits are usage errors in the CLI ----------------------------------------------


def test_cli_malformed_limit(tmp_path: Path) -> None:
    report = tmp_path / "r.md"
    report.write_bytes(REPORT)
    proc = run("analyze", str(report), "--no-model", env={"TTPMAP_MAX_SECONDS": "abc"})
    assert proc.returncode == 2
    assert error_lines(proc) == ["error: TTPMAP_MAX_SECONDS='abc' is not a number of seconds"]
