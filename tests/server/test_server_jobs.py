"""The job queue: exclusive claims, leases taken back from dead workers, backoff, failure, retry, restart."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from workbench_helpers import DEFAULT_VERSION, EXAMPLES

from ttpmap.server import jobs
from ttpmap.server.worker import Worker
from ttpmap.store import open_store
from ttpmap.store.schema import AnalysisRow, DocumentRow, utcnow
from ttpmap.store.workbench import JobRow


@pytest.fixture
def store(workbench):
    return workbench.store


@pytest.fixture
def no_model(monkeypatch):
    """Workers analyse without the technique model (explicit ATT&CK IDs only): fast, and enough here."""
    monkeypatch.setattr(Worker, "model", lambda self, name: None)


def _expire(store, job_id: int) -> None:
    with store.session() as s, s.begin():
        s.execute(
            update(JobRow).where(JobRow.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1))
        )


def test_a_job_is_claimed_by_one_worker_only(store):
    job = jobs.enqueue(store, "analyze", filename="a.txt", payload=b"text")
    first = jobs.claim(store, "w1")
    assert first is not None and first.id == job.id and first.attempts == 1 and first.status == "running"
    assert jobs.claim(store, "w2") is None
    assert jobs.finish(store, job.id, "w2") is False  # not w2's to finish
    assert jobs.finish(store, job.id, "w1") is True
    assert jobs.get(store, job.id).status == "done"
    assert jobs.payload(store, job.id) == b""  # dropped once done


def test_a_dead_workers_job_is_taken_back_after_its_lease(store):
    job = jobs.enqueue(store, "analyze", filename="a.txt", payload=b"text")
    assert jobs.claim(store, "dead", lease=30).id == job.id
    assert jobs.claim(store, "alive") is None  # the lease still runs
    _expire(store, job.id)
    again = jobs.claim(store, "alive")
    assert again.id == job.id and again.attempts == 2
    assert jobs.renew(store, job.id, "dead") is False  # the dead worker lost it
    assert jobs.finish(store, job.id, "dead") is False
    assert jobs.finish(store, job.id, "alive") is True


def test_failures_back_off_then_fail_with_the_reason_and_can_be_retried(store):
    job = jobs.enqueue(store, "analyze", filename="a.txt", payload=b"x", max_attempts=2)
    jobs.claim(store, "w")
    assert jobs.fail(store, job.id, "w", "boom\nwith a second line", retry=True, backoff=60) == "queued"
    assert jobs.claim(store, "w") is None  # backing off
    with store.session() as s, s.begin():
        s.execute(update(JobRow).values(run_after=utcnow()))
    jobs.claim(store, "w")
    assert jobs.fail(store, job.id, "w", "boom again", retry=True) == "failed"
    failed = jobs.get(store, job.id)
    assert failed.status == "failed" and failed.error == "boom again" and failed.attempts == 2
    assert jobs.retry(store, job.id).status == "queued"
    assert jobs.claim(store, "w").attempts == 1
    assert jobs.retry(store, job.id) is None  # only failed jobs are retried


def test_a_job_whose_worker_dies_every_time_fails_with_a_reason(store):
    job = jobs.enqueue(store, "analyze", filename="a.txt", payload=b"x", max_attempts=2)
    for _ in range(2):
        assert jobs.claim(store, "dies").id == job.id
        _expire(store, job.id)
    assert jobs.claim(store, "next") is None
    failed = jobs.get(store, job.id)
    assert failed.status == "failed" and "lease expired" in failed.error


def test_restarting_loses_no_job(workbench):
    ids = [jobs.enqueue(workbench.store, "analyze", filename=f"{i}.txt", payload=b"x").id for i in range(3)]
    jobs.claim(workbench.store, "w")
    url = workbench.store.url.render_as_string(hide_password=False)
    workbench.store.close()
    reopened = open_store(url)
    try:
        assert sorted(j.id for j in jobs.recent(reopened)) == ids
        assert jobs.counts(reopened) == {"queued": 2, "running": 1}
    finally:
        reopened.close()


def test_worker_analyses_uploads_and_records_the_model_version(store, no_model):
    text = (EXAMPLES / "apt-exchange-intrusion.md").read_bytes()
    good = jobs.enqueue(store, "analyze", filename="apt.md", payload=text)
    bad = jobs.enqueue(store, "analyze", filename="bad.pdf", payload=b"%PDF-1.7 broken")
    ran = Worker(store).run(once=True)
    assert ran == 2
    done, failed = jobs.get(store, good.id), jobs.get(store, bad.id)
    assert done.status == "done" and done.document_id is not None
    assert failed.status == "failed" and failed.attempts == 1  # bad input: no pointless retries
    assert failed.error and "\n" not in failed.error
    with store.session() as s:
        versions = list(s.scalars(select(AnalysisRow.model_version)))
    assert versions == [DEFAULT_VERSION]


def test_reanalysis_keeps_one_document_and_adds_the_new_models_analysis(store, no_model):
    from ttpmap.server.training import activate
    from ttpmap.store.workbench import ModelVersionRow

    jobs.enqueue(
        store, "analyze", filename="apt.md", payload=(EXAMPLES / "apt-exchange-intrusion.md").read_bytes()
    )
    Worker(store).run(once=True)
    with store.session() as s, s.begin():
        s.add(
            ModelVersionRow(
                name="reviewed-x",
                version="reviewed-x@abc",
                status="candidate",
                active=False,
                metrics={},
                note="",
                created_by="",
                created_at=utcnow(),
            )
        )
    with store.session() as s:
        vid = s.scalar(select(ModelVersionRow.id).where(ModelVersionRow.name == "reviewed-x"))
        doc_id = s.scalar(select(DocumentRow.id))
    activate(store, vid)
    jobs.enqueue(store, "reanalyze", document_id=doc_id)
    Worker(store).run(once=True)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(DocumentRow)) == 1
        versions = sorted(s.scalars(select(AnalysisRow.model_version)))
    assert versions == [DEFAULT_VERSION, "reviewed-x@abc"]


def test_an_unexpected_error_is_retried_then_failed(store, monkeypatch):
    def explode(self, job):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Worker, "_execute", explode)
    job = jobs.enqueue(store, "analyze", filename="a.txt", payload=b"x", max_attempts=2)
    worker = Worker(store)
    assert worker.process(jobs.claim(store, worker.name)) == "queued"
    with store.session() as s, s.begin():
        s.execute(update(JobRow).values(run_after=utcnow()))
    assert worker.process(jobs.claim(store, worker.name)) == "failed"
    assert jobs.get(store, job.id).error == "RuntimeError: disk on fire"


def test_a_running_job_keeps_its_lease(store, monkeypatch):
    def slow(self, job):
        time.sleep(1.0)
        return None

    monkeypatch.setattr(Worker, "_execute", slow)
    job = jobs.enqueue(store, "analyze", filename="a.txt", payload=b"x")
    worker = Worker(store, lease=0.6)  # renewed every 0.2 s while the job runs for 1 s
    claimed = jobs.claim(store, worker.name, lease=0.6)
    assert worker.process(claimed) == "done"
    assert jobs.get(store, job.id).attempts == 1
