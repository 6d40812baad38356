"""Corpus runs on a real Dask LocalCluster (2 worker processes): resumable, fault-tolerant, clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store_backends import BACKENDS, backend_url
from ttpmap.batch import AnalysisPlugin, dask_client, model_version, run_batch
from ttpmap.pipeline import Options
from ttpmap.store import RunKey, open_store
from ttpmap.store.schema import AnalysisRow, DocumentRow, FailureRow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SOURCES = ("apt-exchange-intrusion.md", "phishing-campaign.md", "ransomware-healthcare.md")


@pytest.fixture(scope="module")
def trained(kb) -> None:
    """The default model exists in the session cache, so workers load rather than train it."""
    from ttpmap.pipeline import default_model

    default_model(kb)


def make_corpus(folder: Path, copies: int) -> list[Path]:
    """``copies`` distinct reports per example (a case line makes each one's bytes unique)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in SOURCES:
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        for i in range(copies):
            path = folder / f"{Path(name).stem}-{i:03d}.md"
            path.write_text(f"{text}\n\nCase reference {i:05d}.\n", encoding="utf-8")
            paths.append(path)
    return paths


def _plugin() -> AnalysisPlugin:
    return AnalysisPlugin(None, "enterprise", None, Options(), techniques=True)


def _counts(store) -> tuple[int, int, int]:
    with store.session() as s:
        return (
            s.scalar(select(func.count()).select_from(DocumentRow)),
            s.scalar(select(func.count()).select_from(AnalysisRow)),
            s.scalar(select(func.count(func.distinct(AnalysisRow.document_id)))),
        )


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_store_skip_and_force(backend, tmp_path, kb, trained):
    gen = backend_url(backend, tmp_path)
    store = open_store(next(gen))
    good = [str(p) for p in make_corpus(tmp_path / "corpus", 2)]
    (tmp_path / "corpus" / "junk.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "corpus" / "copy.md").write_bytes(Path(good[0]).read_bytes())
    sources = [*good, str(tmp_path / "corpus" / "junk.bin"), str(tmp_path / "corpus" / "copy.md")]
    key = RunKey(model_version(None), kb.info.sha256)
    with dask_client(_plugin(), workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        first = run_batch(sources, store, client, key)
        again = run_batch(sources, store, client, key)
        forced = run_batch(good[:2], store, client, key, force=True)
    assert sorted(first.done) == sorted(good)
    assert [s for s, _ in first.failed] == [sources[-2]]
    reason = first.failed[0][1]
    assert "junk.bin" in reason and "\n" not in reason
    assert first.skipped == [sources[-1]]  # same bytes as a file already in this run
    assert again.done == [] and len(again.skipped) == len(good) + 1 and len(again.failed) == 1
    assert sorted(forced.done) == sorted(good[:2])
    docs, analyses, distinct = _counts(store)
    assert docs == analyses == distinct == len(good)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(FailureRow)) == 1
        row = s.scalars(select(AnalysisRow)).first()
        assert row.result["techniques"] and row.model_version == key.model_version
    store.close()
    gen.close()


@pytest.mark.slow
def test_killed_worker_loses_and_duplicates_nothing(tmp_path, kb, trained):
    store = open_store(f"sqlite:///{tmp_path / 'kill.sqlite'}")
    sources = [str(p) for p in make_corpus(tmp_path / "corpus", 8)]
    key = RunKey(model_version(None), kb.info.sha256)
    killed: list[int] = []
    with dask_client(_plugin(), workers=2) as client:
        pids = client.run(os.getpid)

        def kill_one(event) -> None:
            if not killed:
                # the worker that did not just finish is busy with a task: kill it mid-analysis
                busy = [w for w, tasks in client.processing().items() if tasks]
                target = busy[0] if busy else next(iter(pids))
                killed.append(pids[target])
                os.kill(pids[target], signal.SIGKILL)

        report = run_batch(sources, store, client, key, on_event=kill_one)
    assert killed and killed[0] in pids.values()
    assert report.failed == [] and report.skipped == []
    assert sorted(report.done) == sorted(sources)
    docs, analyses, distinct = _counts(store)
    assert docs == analyses == distinct == len(sources)
    store.close()


def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ttpmap.cli", *args], capture_output=True, env=env, cwd=ROOT, timeout=timeout
    )


@pytest.mark.slow
def test_cli_batch_then_query_the_corpus(tmp_path, trained):
    from mitreattack.navlayers import Layer

    make_corpus(tmp_path / "corpus", 1)
    (tmp_path / "corpus" / "empty.txt").write_text("")
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    out = str(tmp_path / "out")
    proc = cli("batch", str(tmp_path / "corpus"), "--store", url, "-w", "2", "-o", out, "-e", "navigator")
    assert proc.returncode == 1, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "done" in text and "failed" in text and "empty.txt: empty input" in text
    assert "Traceback" not in proc.stderr.decode()
    assert len(list((tmp_path / "out").glob("*-layer.json"))) == 3
    assert len(list((tmp_path / "out").glob("*.json"))) == 6
    again = cli("batch", str(tmp_path / "corpus" / "phishing-campaign-000.md"), "--store", url)
    assert again.returncode == 0 and "skipped" in again.stdout.decode()

    hits = json.loads(
        cli("search", "-t", "T1190", "--software", "S0020", "-f", "json", "--store", url).stdout
    )
    assert [Path(h["source"]).name for h in hits] == ["apt-exchange-intrusion-000.md"]
    assert {e["kind"] for e in hits[0]["evidence"]} == {"technique", "software"}
    table = cli("search", "--cve", "CVE-2021-26855", "--store", url)
    assert table.returncode == 0 and "apt-exchange" not in table.stderr.decode()

    rel = cli("related", hits[0]["sha256"][:12], "-f", "json", "--store", url)
    assert rel.returncode == 0, rel.stderr.decode()
    assert "related" in json.loads(rel.stdout)

    layer_path = tmp_path / "layer.json"
    lay = cli("corpus", "layer", "-o", str(layer_path), "--store", url)
    assert lay.returncode == 0, lay.stderr.decode()
    layer = json.loads(layer_path.read_text())
    Layer().from_dict(layer)
    assert all("of 3 documents" in e["comment"] for e in layer["techniques"] if "score" in e)
    summ = cli("corpus", "summary", "--store", url)
    assert summ.returncode == 0 and "3 documents" in summ.stdout.decode()


def test_cli_unreachable_store_and_scheduler_fail_fast_with_one_line(tmp_path):
    proc = cli(
        "batch", str(EXAMPLES / "phishing-campaign.md"), "--store", "postgresql+psycopg://x@127.0.0.1:1/none"
    )
    assert proc.returncode == 3
    lines = proc.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("error: cannot open store") and "Traceback" not in proc.stderr.decode()
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    proc = cli("search", "--since", "yesterday", "--store", url)
    assert proc.returncode == 2 and "--since" in proc.stderr.decode()
    proc = cli("related", "deadbeef00", "--store", url)
    assert proc.returncode == 2 and "no document" in proc.stderr.decode()


@pytest.mark.slow
def test_cli_unreachable_scheduler_fails_with_one_line(tmp_path, trained):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    proc = cli(
        "batch", str(EXAMPLES / "phishing-campaign.md"), "--store", url, "--scheduler", "tcp://127.0.0.1:1"
    )
    assert proc.returncode == 3, proc.stderr.decode()
    err = proc.stderr.decode()
    assert "error: cannot connect to tcp://127.0.0.1:1" in err and "Traceback" not in err
