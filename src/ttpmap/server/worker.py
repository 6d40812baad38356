"""``ttpmap worker``: take jobs from the store and run them outside the request path.

One worker process loads the KB once and each model version once. While a job runs, a thread renews
its lease; if the process dies the lease runs out and another worker takes the job back.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ttpmap.errors import TtpmapError
from ttpmap.server import jobs
from ttpmap.store import RunKey, Store, save_analysis

POLL_SECONDS = 0.5


class Worker:
    """Runs jobs one at a time; ``run()`` loops until ``stop()`` (or ``once`` runs out of work)."""

    def __init__(
        self,
        store: Store,
        *,
        attack: str | None = None,
        domain: str = "enterprise",
        lease: float = jobs.LEASE_SECONDS,
    ) -> None:
        self.store, self.attack, self.domain, self.lease = store, attack, domain, lease
        self.name = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._kb: Any = None
        self._attributor: Any = None
        self._models: dict[str, Any] = {}

    @property
    def kb(self) -> Any:
        if self._kb is None:
            from ttpmap.kb import load_kb

            self._kb = load_kb(self.attack, self.domain)
        return self._kb

    @property
    def attributor(self) -> Any:
        """The KB's fitted Attributor, loaded once per process (not once per job)."""
        if self._attributor is None:
            from ttpmap.pipeline import default_attributor

            self._attributor = default_attributor(self.kb)
        return self._attributor

    def model(self, name: str) -> Any:
        """A model version, loaded once per process."""
        from ttpmap.server.training import load

        if name not in self._models:
            self._models[name] = load(self.kb, name)
        return self._models[name]

    def stop(self) -> None:
        self._stop.set()

    def run(self, *, once: bool = False, on_job: Callable[[jobs.Job, str], None] | None = None) -> int:
        """Process jobs until stopped (or, with ``once``, until the queue is empty); returns jobs run."""
        done = 0
        while not self._stop.is_set():
            job = jobs.claim(self.store, self.name, lease=self.lease)
            if job is None:
                if once:
                    return done
                self._stop.wait(POLL_SECONDS)
                continue
            state = self.process(job)
            done += 1
            if on_job is not None:
                on_job(job, state)
        return done

    def process(self, job: jobs.Job) -> str:
        """Run one claimed job, renewing its lease meanwhile; returns its new state."""
        halt = threading.Event()
        keeper = threading.Thread(target=self._keep_lease, args=(job.id, halt), daemon=True)
        keeper.start()
        try:
            document_id = self._execute(job)
        except TtpmapError as exc:  # bad input or a refused request: retrying will not help
            return jobs.fail(self.store, job.id, self.name, str(exc), retry=False)
        except Exception as exc:  # unexpected: retried with backoff, then failed with the reason
            return jobs.fail(self.store, job.id, self.name, f"{type(exc).__name__}: {exc}", retry=True)
        finally:
            halt.set()
            keeper.join()
        return "done" if jobs.finish(self.store, job.id, self.name, document_id=document_id) else "lost"

    def _keep_lease(self, job_id: int, halt: threading.Event) -> None:
        while not halt.wait(self.lease / 3):
            if not jobs.renew(self.store, job_id, self.name, lease=self.lease):
                return

    def _execute(self, job: jobs.Job) -> int | None:
        if job.kind == "retrain":
            from ttpmap.server.training import retrain

            retrain(
                self.store, self.kb, by=str(job.params.get("by", "")), force=bool(job.params.get("force"))
            )
            return None
        return self._analyse(job)

    def _analyse(self, job: jobs.Job) -> int:
        from sqlalchemy import select

        from ttpmap.ingest import load as ingest
        from ttpmap.models import Document
        from ttpmap.pipeline import Options, analyze_document
        from ttpmap.server.training import active_model
        from ttpmap.store.schema import AnalysisRow, DocumentRow
        from ttpmap.text import split_sentences

        name, version = active_model(self.store)
        model = self.model(name)
        options = Options()
        start = time.perf_counter()
        if job.kind == "reanalyze":
            with self.store.session() as s:
                row = s.get(DocumentRow, job.document_id)
                if row is None:
                    raise TtpmapError(f"report {job.document_id} no longer exists")
                doc = Document(
                    text=row.text,
                    title=row.title,
                    source=row.source,
                    sha256=row.sha256,
                    media_type=row.media_type,
                    sentences=split_sentences(row.text),
                )
        else:
            doc = ingest(
                job.filename or "upload", data=jobs.payload(self.store, job.id), limits=options.limits
            )
        analysis = analyze_document(doc, self.kb, model, options, self.attributor)
        save_analysis(
            self.store,
            analysis,
            doc.text,
            RunKey(version, self.kb.info.sha256),
            seconds=time.perf_counter() - start,
        )
        with self.store.session() as s:
            return s.scalar(select(DocumentRow.id).where(DocumentRow.sha256 == doc.sha256).join(AnalysisRow))  # type: ignore[return-value]
