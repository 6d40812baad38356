"""End-to-end tests: the real `ttpmap` command on the bundled examples and on bad input."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from contract import assert_valid

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXPECTED = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8"))


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess, as a user would (same cache as the session)."""
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ttpmap.cli", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=cwd or ROOT,
        timeout=600,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, proc.stderr.decode()
    err = proc.stderr.decode().strip()
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert lines, err
    return lines[0]


@pytest.fixture(scope="module")
def trained(kb) -> None:
    """Make sure the default model exists in the session cache before the CLI runs."""
    from ttpmap.pipeline import default_model

    default_model(kb)


def test_help_works_offline_for_every_command() -> None:
    for args in (
        ["--help"],
        ["analyze", "--help"],
        ["attribute", "--help"],
        ["mitigate", "--help"],
        ["kb", "--help"],
        ["kb", "update", "--help"],
        ["train", "--help"],
        ["eval", "--help"],
    ):
        proc = run(*args)
        assert proc.returncode == 0, proc.stderr.decode()
        assert "Usage" in proc.stdout.decode()


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0
    assert proc.stdout.decode().startswith("ttpmap ")


@pytest.mark.parametrize(
    "name",
    [
        "apt-exchange-intrusion.md",
        "apt-exchange-intrusion.pdf",
        "apt-exchange-intrusion.html",
        "apt-exchange-intrusion.docx",
    ],
)
def test_analyze_json_contract_on_every_format(name: str, trained: None) -> None:
    proc = run("analyze", str(EXAMPLES / name), "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert data["schema"] == "ttpmap.analysis/1"
    assert_valid(data)
    assert set(data) >= {"document", "attack", "techniques", "iocs", "entities", "attribution", "mitigations"}
    assert data["attack"] == {"domain": "enterprise", "version": "15.0"}
    assert data["document"]["sentences"] > 50
    ids = {t["id"] for t in data["techniques"]}
    assert {"T1190", "T1505.003"} & ids, ids
    for tech in data["techniques"]:
        assert 0.0 <= tech["score"] <= 1.0
        for ev in tech["evidence"]:
            assert ev["end"] > ev["start"]
    assert [g["id"] for g in data["entities"]["groups"]] == ["G0065"]
    assert "S0020" in {s["id"] for s in data["entities"]["software"]}
    cves = {c["id"] for c in data["entities"]["cves"]}
    assert {"CVE-2021-26855", "CVE-2021-27065"} <= cves
    iocs = {i["value"] for i in data["iocs"]}
    assert "45.77.10.22" in iocs  # refanged from 45.77.10[.]22
    assert all("[.]" in i["defanged"] or i["type"] not in ("domain", "ipv4") for i in data["iocs"])


def test_evidence_offsets_point_into_the_document(trained: None, tmp_path: Path) -> None:
    from ttpmap.ingest import load

    src = EXAMPLES / "ransomware-healthcare.md"
    proc = run("analyze", str(src), "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert_valid(data)
    text = load(str(src)).text
    assert data["techniques"], "no techniques found in the ransomware example"
    for tech in data["techniques"]:
        for ev in tech["evidence"]:
            assert text[ev["start"] : ev["end"]] == ev["text"]
    assert "T1486" in {t["id"] for t in data["techniques"]}


def test_analyze_table_is_readable(trained: None) -> None:
    proc = run("analyze", str(EXAMPLES / "apt-exchange-intrusion.md"))
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "Techniques" in out and "Best evidence" in out
    assert "China Chopper" in out
    assert "45.77.10[.]22" in out and "45.77.10.22" not in out


def test_stix_input_explicit_ids(trained: None) -> None:
    proc = run("analyze", str(EXAMPLES / "phishing-campaign.stix.json"), "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert_valid(data)
    assert data["document"]["media_type"] == "stix"
    assert data["techniques"]


def test_stdin_input(trained: None) -> None:
    text = (EXAMPLES / "phishing-campaign.md").read_bytes()
    proc = run("analyze", "-", "-f", "json", stdin=text)
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["document"]["source"] == "-"
    assert_valid(json.loads(proc.stdout))


def test_batch_writes_one_json_per_input_and_exports(trained: None, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run(
        "analyze",
        str(EXAMPLES / "apt-exchange-intrusion.md"),
        str(EXAMPLES / "phishing-campaign.md"),
        "-o",
        str(out),
        "--export",
        "navigator,stix,csv",
    )
    assert proc.returncode == 0, proc.stderr.decode()
    names = sorted(p.name for p in out.iterdir())
    assert "apt-exchange-intrusion.json" in names and "phishing-campaign.json" in names
    for name in ("apt-exchange-intrusion.json", "phishing-campaign.json"):
        assert_valid(json.loads((out / name).read_text(encoding="utf-8")))
    assert any(n.endswith("-layer.json") for n in names)
    assert any(n.endswith("-stix.json") for n in names)
    assert any(n.endswith("-iocs.csv") for n in names)


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    files = {
        "empty": tmp / "empty.txt",
        "random": tmp / "random.bin",
        "truncated_pdf": tmp / "truncated.pdf",
        "one_line": tmp / "oneline.txt",
        "bad_stix": tmp / "bad.json",
        "non_utf8": tmp / "sjis.txt",
    }
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(random.Random(0).randbytes(4096))
    pdf = (EXAMPLES / "phishing-campaign.pdf").read_bytes()
    files["truncated_pdf"].write_bytes(pdf[: len(pdf) // 3])
    files["one_line"].write_bytes(b"A" * (10 * 1024 * 1024))
    files["bad_stix"].write_bytes(b'{"type": "bundle", "objects": [ {"type": "report", ')
    files["non_utf8"].write_bytes(bytes(random.Random(1).randrange(0x80, 0x100) for _ in range(2000)))
    return files


def test_bad_inputs_one_line_error_exit_3(tmp_path: Path) -> None:
    for name, path in _bad_inputs(tmp_path).items():
        proc = run("analyze", str(path), "--no-model")
        line = assert_one_line_error(proc, 3)
        assert str(path) in line, (name, line)


def test_encrypted_pdf_and_html_with_script(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(EXAMPLES / "phishing-campaign.pdf").pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    enc = tmp_path / "enc.pdf"
    with enc.open("wb") as fh:
        writer.write(fh)
    line = assert_one_line_error(run("analyze", str(enc), "--no-model"), 3)
    assert "encrypted" in line.lower()

    html = tmp_path / "x.html"
    html.write_text(
        "<html><head><title>t</title><script>alert('pwned-by-script')</script></head><body>"
        "<p>The actors used PowerShell to download a second stage from hxxp://evil[.]example/a.ps1 today.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    proc = run("analyze", str(html), "--no-model", "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "pwned-by-script" not in proc.stdout.decode()


def test_batch_keeps_going_past_bad_inputs(tmp_path: Path, trained: None) -> None:
    bad = _bad_inputs(tmp_path)
    out = tmp_path / "out"
    proc = run(
        "analyze",
        str(bad["empty"]),
        str(EXAMPLES / "phishing-campaign.md"),
        str(bad["random"]),
        "-o",
        str(out),
    )
    assert proc.returncode == 1
    assert (out / "phishing-campaign.json").is_file()
    err = proc.stderr.decode()
    assert "2 of 3 inputs failed" in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("analyze", str(EXAMPLES / "phishing-campaign.md"), "--format", "yaml").returncode == 2
    assert run("analyze", str(EXAMPLES / "phishing-campaign.md"), "--export", "all").returncode == 2
    assert run("kb", "show", "T9999").returncode == 2
    assert run("analyze", str(tmp_path / "missing.md")).returncode == 3


def test_kb_commands() -> None:
    info = run("kb", "info", "-f", "json")
    assert info.returncode == 0
    assert json.loads(info.stdout)["version"] == "15.0"
    show = run("kb", "show", "G0065")
    assert show.returncode == 0 and "APT40" in show.stdout.decode()
    revoked = run("kb", "show", "T1086")
    assert "T1059.001" in revoked.stdout.decode()
    search = run("kb", "search", "china chopper")
    assert "S0020" in search.stdout.decode()


def test_kb_update_offline_fails_cleanly(tmp_path: Path) -> None:
    env_base = os.environ.get("TTPMAP_ATTACK_BASE_URL")
    os.environ["TTPMAP_ATTACK_BASE_URL"] = "http://127.0.0.1:9"
    try:
        proc = run("kb", "update", "--version", "18.1")
    finally:
        if env_base is None:
            os.environ.pop("TTPMAP_ATTACK_BASE_URL")
        else:
            os.environ["TTPMAP_ATTACK_BASE_URL"] = env_base
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr.decode()
    assert run("kb", "info", "-f", "json").returncode == 0


def test_mitigate_and_attribute_from_flags() -> None:
    proc = run("mitigate", "T1190", "T1505.003", "T1003.001", "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert_valid(data)
    assert data["schema"] == "ttpmap.mitigation/1"
    assert data["mitigations"] and data["detections"]
    covered = {t for m in data["mitigations"] for t in m["covers"]}
    assert {"T1190", "T1003.001"} <= covered
    proc = run(
        "attribute",
        "--techniques",
        "T1190,T1505.003,T1003.001",
        "--software",
        "China Chopper",
        "--cve",
        "CVE-2021-26855",
        "-f",
        "json",
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert_valid(json.loads(proc.stdout))
    assert json.loads(proc.stdout)["schema"] == "ttpmap.attribution/1"
    names = [g["id"] for g in json.loads(proc.stdout)["attribution"]]
    assert names, "no candidates"
    assert set(names[:5]) & {"G0125", "G0065", "G0027", "G0096", "G0093"}


def test_attribute_and_mitigate_read_a_saved_analysis(tmp_path: Path) -> None:
    """A saved analysis JSON is validated on load: the fixture works, other versions fail in one line."""
    fixture = ROOT / "tests" / "fixtures" / "analysis_apt.json"
    proc = run("attribute", str(fixture), "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert_valid(json.loads(proc.stdout))
    proc = run("mitigate", str(fixture), "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert_valid(data)
    assert {t for m in data["mitigations"] for t in m["covers"]} & {"T1190", "T1505.003"}
    future = json.loads(fixture.read_text(encoding="utf-8"))
    future["schema"] = "ttpmap.analysis/999"
    (tmp_path / "future.json").write_text(json.dumps(future), encoding="utf-8")
    line = assert_one_line_error(run("attribute", str(tmp_path / "future.json")), 3)
    assert "ttpmap.analysis/999" in line and "future.json" in line
    future["schema"] = "ttpmap.analysis/1"
    future["document"]["extra_field"] = 1
    (tmp_path / "extra.json").write_text(json.dumps(future), encoding="utf-8")
    line = assert_one_line_error(run("mitigate", str(tmp_path / "extra.json")), 3)
    assert "document.extra_field" in line


def test_choice_options_are_checked_by_the_parser() -> None:
    bad = (["kb", "info", "-f", "yaml"], ["kb", "info", "--domain", "mars"], ["mitigate", "T1190", "-f", "x"])
    for args in bad:
        proc = run(*args)
        assert proc.returncode == 2
        assert "Invalid value" in proc.stderr.decode() and "Traceback" not in proc.stderr.decode()


def test_output_names_are_unique_per_batch() -> None:
    from ttpmap.cli import _stem

    used: set[str] = set()
    assert _stem("examples/apt-exchange-intrusion.md", used) == "apt-exchange-intrusion"
    assert _stem("examples/apt-exchange-intrusion.pdf", used) == "apt-exchange-intrusion-2"
    assert _stem("-", used) == "stdin"
    assert _stem("weird name;rm -rf.txt", used) == "weird_name_rm_-rf"


def test_eval_train_and_attribution_eval(tmp_path: Path, trained: None) -> None:
    data = tmp_path / "mini.jsonl"
    ransomware = (EXAMPLES / "ransomware-healthcare.md").read_text(encoding="utf-8")
    phishing = (EXAMPLES / "phishing-campaign.md").read_text(encoding="utf-8")
    rows = [
        {"text": ransomware, "techniques": EXPECTED["ransomware-healthcare"]["techniques"]},
        {"text": phishing, "techniques": EXPECTED["phishing-campaign"]["techniques"]},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    result = tmp_path / "eval.json"
    proc = run("eval", str(data), "--dataset", "jsonl", "-o", str(result))
    assert proc.returncode == 0, proc.stderr.decode()
    scores = json.loads(result.read_text())
    assert json.dumps(scores).count("f1") >= 2
    assert run("eval", str(data), "--dataset", "nope").returncode == 2

    proc = run("eval", "--task", "attribution")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "top1" in proc.stdout.decode()
