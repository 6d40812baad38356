"""Drive a corpus run: read bytes, skip what the store already holds, analyse on Dask, store each result.

The client is the only writer: workers return results, and each document is written in one
transaction keyed by (sha256, model version, KB sha256). A task lost with a killed worker is rerun by
Dask on another worker; its result is written once, so nothing is lost or duplicated.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from ttpmap.batch.worker import Outcome, analyse_bytes
from ttpmap.config import Limits
from ttpmap.models import Analysis
from ttpmap.store import RunKey, Store, analysed, record_failure, save_analysis

WINDOW_PER_WORKER = 4
"""Documents in flight per worker thread: keeps workers busy while bounding client memory."""
LOOKUP_BATCH = 16
"""Inputs read ahead and looked up in the store together."""


@dataclass
class BatchReport:
    """What happened to each input of a run."""

    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    """One finished input, for progress display: status is done, skipped or failed."""

    source: str
    status: str
    detail: str = ""
    analysis: Analysis | None = None


def model_version(model_name: str | None) -> str:
    """The technique model's identity in run keys: the default model's version, or a named model's hash."""
    from ttpmap.learn.artifacts import MODEL_VERSION, models_dir

    if not model_name:
        return f"default-v{MODEL_VERSION}"
    path = Path(model_name)
    if not path.is_file():
        path = models_dir() / f"{model_name}.pkl"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "missing"
    return f"{path.stem}@{digest}"


def _read(source: str, limits: Limits) -> bytes:
    size = os.stat(source).st_size
    if size > limits.max_bytes:
        raise ValueError(f"{size:,} bytes, over the {limits.max_bytes:,}-byte limit")
    return Path(source).read_bytes()


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _inputs(sources: Iterable[str], limits: Limits) -> Iterator[tuple[str, str, bytes | None, str]]:
    """(source, sha256, bytes, error) for each input, read lazily so memory stays bounded."""
    for source in sources:
        try:
            data = _read(source, limits)
        except (OSError, ValueError) as exc:
            yield source, "", None, f"{source}: cannot read ({getattr(exc, 'strerror', None) or exc})"
            continue
        yield source, hashlib.sha256(data).hexdigest(), data, ""


def run_batch(
    sources: Iterable[str],
    store: Store,
    client: Any,
    key: RunKey,
    *,
    force: bool = False,
    limits: Limits | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> BatchReport:
    """Analyse ``sources`` on the Dask ``client`` (with the analysis plugin registered) into ``store``."""
    from distributed import as_completed

    limits = limits or Limits.from_env()
    report = BatchReport()
    seen: dict[str, str] = {}
    window = WINDOW_PER_WORKER * max(1, sum(client.nthreads().values()))
    pending = as_completed()
    inputs: dict[str, tuple[str, str]] = {}

    def emit(event: Event) -> None:
        if on_event is not None:
            on_event(event)

    def finish(outcome: Outcome) -> None:
        if outcome.error:
            record_failure(store, outcome.sha256, outcome.source, outcome.error, key)
            report.failed.append((outcome.source, outcome.error))
            emit(Event(outcome.source, "failed", outcome.error))
            return
        analysis = Analysis.model_validate_json(outcome.analysis_json)
        save_analysis(store, analysis, outcome.text, key, seconds=outcome.seconds)
        report.done.append(outcome.source)
        emit(Event(outcome.source, "done", analysis=analysis))

    def collect() -> None:
        future = next(pending)
        source, sha = inputs.pop(future.key)
        try:
            outcome = future.result()
        except Exception as exc:  # e.g. KilledWorker after repeated worker deaths
            reason = " ".join(str(exc).split())[:300]
            outcome = Outcome(source, sha, error=f"{source}: {type(exc).__name__}: {reason}")
        finish(outcome)

    try:
        for chunk in _chunks(_inputs(sources, limits), LOOKUP_BATCH):
            done = set() if force else analysed(store, [sha for _, sha, _, error in chunk if not error], key)
            for source, sha, data, error in chunk:
                if error:
                    report.failed.append((source, error))
                    emit(Event(source, "failed", error))
                    continue
                if sha in seen:
                    report.skipped.append(source)
                    emit(Event(source, "skipped", f"same bytes as {seen[sha]}"))
                    continue
                seen[sha] = source
                if sha in done:
                    report.skipped.append(source)
                    emit(Event(source, "skipped", "already analysed"))
                    continue
                future = client.submit(analyse_bytes, source, sha, data, pure=False)
                inputs[future.key] = (source, sha)
                pending.add(future)
                while len(inputs) >= window:
                    collect()
        while inputs:
            collect()
    finally:
        for future in list(pending.futures):
            future.cancel()
    return report
