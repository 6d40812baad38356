"""The job queue in the store: enqueue, claim under a lease, finish, fail with backoff, retry.

Claims are compare-and-set updates, so two workers never hold one job, on SQLite and PostgreSQL
alike. A worker that dies stops renewing its lease; once the lease runs out the job is claimed again,
and after ``max_attempts`` claims it fails with its reason. Nothing lives in memory, so restarting the
server or the workers loses no job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, or_, select, update

from ttpmap.store import Store
from ttpmap.store.schema import utcnow
from ttpmap.store.workbench import JobRow

LEASE_SECONDS = 60.0
MAX_ATTEMPTS = 3
BACKOFF_SECONDS = 5.0
KINDS = ("analyze", "reanalyze", "retrain")


@dataclass(frozen=True)
class Job:
    """A job as workers and routes see it (the payload stays in the store)."""

    id: int
    kind: str
    status: str
    filename: str
    sha256: str
    params: dict[str, Any]
    attempts: int
    max_attempts: int
    error: str
    document_id: int | None
    created_at: datetime
    finished_at: datetime | None

    def public(self) -> dict[str, Any]:
        """The JSON form of the API."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "filename": self.filename,
            "sha256": self.sha256,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "error": self.error,
            "document_id": self.document_id,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def _rows(result: object) -> int:
    """Rows an UPDATE matched (the compare-and-set of a claim)."""
    assert isinstance(result, CursorResult)
    return result.rowcount


def _job(row: JobRow) -> Job:
    return Job(
        row.id,
        row.kind,
        row.status,
        row.filename,
        row.sha256,
        dict(row.params or {}),
        row.attempts,
        row.max_attempts,
        row.error,
        row.document_id,
        row.created_at,
        row.finished_at,
    )


def enqueue(
    store: Store,
    kind: str,
    *,
    filename: str = "",
    payload: bytes | None = None,
    params: dict[str, Any] | None = None,
    document_id: int | None = None,
    user_id: int | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> Job:
    """Queue a job (in one transaction) and return it."""
    assert kind in KINDS
    now = utcnow()
    row = JobRow(
        kind=kind,
        status="queued",
        filename=filename,
        sha256=hashlib.sha256(payload).hexdigest() if payload is not None else "",
        payload=payload,
        params=params or {},
        attempts=0,
        max_attempts=max_attempts,
        run_after=now,
        worker="",
        error="",
        document_id=document_id,
        created_by=user_id,
        created_at=now,
    )
    with store.session() as s, s.begin():
        s.add(row)
        s.flush()
        return _job(row)


def _claimable(now: datetime):
    return or_(
        and_(JobRow.status == "queued", JobRow.run_after <= now),
        and_(JobRow.status == "running", JobRow.lease_until < now),
    )


def fail_exhausted(store: Store) -> int:
    """Fail running jobs whose lease ran out after their last allowed attempt; returns how many."""
    now = utcnow()
    exhausted = (
        JobRow.status == "running",
        JobRow.lease_until < now,
        JobRow.attempts >= JobRow.max_attempts,
    )
    with store.session() as s:  # a read first, so idle polling never takes SQLite's write lock
        if s.scalar(select(JobRow.id).where(*exhausted).limit(1)) is None:
            return 0
    with store.session() as s, s.begin():
        result = s.execute(
            update(JobRow)
            .where(*exhausted)
            .values(
                status="failed",
                error="the worker stopped (lease expired) on every attempt",
                finished_at=now,
                lease_until=None,
            )
        )
        return _rows(result)


def claim(
    store: Store, worker: str, *, lease: float = LEASE_SECONDS, kinds: tuple[str, ...] = KINDS
) -> Job | None:
    """Take the oldest runnable job under a lease, or None when there is nothing to do."""
    fail_exhausted(store)
    for _ in range(5):
        now = utcnow()
        with store.session() as s:
            candidate = s.scalar(
                select(JobRow.id)
                .where(_claimable(now), JobRow.kind.in_(kinds), JobRow.attempts < JobRow.max_attempts)
                .order_by(JobRow.run_after, JobRow.id)
                .limit(1)
            )
        if candidate is None:
            return None
        with store.session() as s, s.begin():
            result = s.execute(
                update(JobRow)
                .where(JobRow.id == candidate, _claimable(now), JobRow.attempts < JobRow.max_attempts)
                .values(
                    status="running",
                    worker=worker[:128],
                    attempts=JobRow.attempts + 1,
                    lease_until=now + timedelta(seconds=lease),
                )
            )
            if _rows(result) == 1:
                return _job(s.get_one(JobRow, candidate, populate_existing=True))
    return None


def renew(store: Store, job_id: int, worker: str, *, lease: float = LEASE_SECONDS) -> bool:
    """Extend a held lease; False if the job is no longer this worker's."""
    with store.session() as s, s.begin():
        result = s.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status == "running", JobRow.worker == worker)
            .values(lease_until=utcnow() + timedelta(seconds=lease))
        )
        return _rows(result) == 1


def payload(store: Store, job_id: int) -> bytes:
    """The bytes uploaded with a job."""
    with store.session() as s:
        return s.scalar(select(JobRow.payload).where(JobRow.id == job_id)) or b""


def finish(store: Store, job_id: int, worker: str, *, document_id: int | None = None) -> bool:
    """Mark a held job done (dropping its payload); False if another worker has taken it over."""
    with store.session() as s, s.begin():
        result = s.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status == "running", JobRow.worker == worker)
            .values(
                status="done",
                document_id=document_id,
                payload=None,
                error="",
                finished_at=utcnow(),
                lease_until=None,
            )
        )
        return _rows(result) == 1


def fail(
    store: Store, job_id: int, worker: str, reason: str, *, retry: bool, backoff: float = BACKOFF_SECONDS
) -> str:
    """Record a failure: queued again after a backoff if ``retry`` and attempts remain, else failed."""
    reason = " ".join(reason.split())[:500]
    now = utcnow()
    with store.session() as s, s.begin():
        row = s.get(JobRow, job_id, with_for_update=True)
        if row is None or row.status != "running" or row.worker != worker:
            return "lost"
        row.error = reason
        row.lease_until = None
        if retry and row.attempts < row.max_attempts:
            row.status = "queued"
            row.run_after = now + timedelta(seconds=backoff * 2 ** (row.attempts - 1))
        else:
            row.status = "failed"
            row.finished_at = now
        return row.status


def retry(store: Store, job_id: int) -> Job | None:
    """Queue a failed job again with fresh attempts (the retry button); None if it is not failed."""
    with store.session() as s, s.begin():
        row = s.get(JobRow, job_id, with_for_update=True)
        if row is None or row.status != "failed":
            return None
        if row.kind == "analyze" and not row.payload:
            return None
        row.status, row.attempts, row.run_after, row.finished_at = "queued", 0, utcnow(), None
        s.flush()
        return _job(row)


def get(store: Store, job_id: int) -> Job | None:
    """One job by id."""
    with store.session() as s:
        row = s.get(JobRow, job_id)
        return _job(row) if row else None


def recent(
    store: Store, *, limit: int = 100, ids: list[int] | None = None, status: str | None = None
) -> list[Job]:
    """Newest jobs first, optionally only some ids or one status."""
    query = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
    if ids:
        query = query.where(JobRow.id.in_(ids))
    if status:
        query = query.where(JobRow.status == status)
    with store.session() as s:
        return [_job(r) for r in s.scalars(query)]


def counts(store: Store) -> dict[str, int]:
    """How many jobs are in each state."""
    from sqlalchemy import func

    with store.session() as s:
        rows = s.execute(select(JobRow.status, func.count()).group_by(JobRow.status)).all()
    return {state: n for state, n in rows}
