"""The CLI: `ttpmap worker`, `ttpmap serve` argument checks and first admin, `ttpmap train --from-store`."""

from __future__ import annotations

import subprocess
import sys

from ttpmap.server import jobs
from ttpmap.server.accounts import list_users


def ttpmap(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ttpmap.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=300,
    )


def test_worker_once_drains_an_empty_queue_and_exits(tmp_path):
    r = ttpmap("worker", "--once", "--store", f"sqlite:///{tmp_path / 's.sqlite'}")
    assert r.returncode == 0, r.stderr


def test_serve_refuses_bad_arguments_in_one_line(tmp_path):
    for args in (["--port", "70000"], ["--workers", "99"], ["--lease", "0"]):
        r = ttpmap("serve", "--store", f"sqlite:///{tmp_path / 's.sqlite'}", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_first_admin_from_the_environment_or_a_prompt(tmp_path, monkeypatch):
    from ttpmap.cli.serve import _first_admin
    from ttpmap.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    _first_admin(store, prompt=False)
    assert list_users(store) == []
    monkeypatch.setenv("TTPMAP_ADMIN_USER", "boss")
    monkeypatch.setenv("TTPMAP_ADMIN_PASSWORD", "a long password")
    _first_admin(store, prompt=False)
    _first_admin(store, prompt=False)  # only while there are no accounts
    assert [(u.username, u.role) for u in list_users(store)] == [("boss", "admin")]
    store.close()


def test_train_from_store_without_reviews_says_so(tmp_path):
    r = ttpmap("train", "--from-store", "--store", f"sqlite:///{tmp_path / 's.sqlite'}")
    assert r.returncode == 2 and "no reviewed sentences" in r.stderr


def test_the_worker_leaves_failed_uploads_with_a_reason(tmp_path):
    from ttpmap.store import open_store

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    store = open_store(url)
    job = jobs.enqueue(store, "analyze", filename="x.pdf", payload=b"%PDF-1.4 not really")
    r = ttpmap("worker", "--once", "--store", url)
    assert r.returncode == 0, r.stderr
    failed = jobs.get(store, job.id)
    assert failed.status == "failed" and failed.error and "\n" not in failed.error
    store.close()
