"""Where a batch runs: a LocalCluster of worker processes, or an existing Dask scheduler."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ttpmap.batch.worker import AnalysisPlugin
from ttpmap.errors import TtpmapError, UsageError

CONNECT_TIMEOUT = "10s"


class ClusterError(TtpmapError):
    """The Dask scheduler cannot be reached or the workers cannot start."""

    exit_code = 3


@contextmanager
def dask_client(plugin: AnalysisPlugin, *, workers: int = 2, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client with the analysis plugin on every worker; closes what it started."""
    import dask
    from distributed import Client, LocalCluster

    if workers < 1:
        raise UsageError("--workers must be at least 1")
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        else:
            # send each worker its share of the in-flight window at once, so it never waits for the
            # scheduler (which shares a process with the client's store writes) between documents
            with dask.config.set({"distributed.scheduler.worker-saturation": float("inf")}):
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # no fixed port: several runs may share a host
                    silence_logs=logging.CRITICAL,
                    memory_limit=0,
                )
            client = Client(cluster)
    except (OSError, TimeoutError) as exc:
        where = scheduler or "a local cluster"
        raise ClusterError(f"cannot connect to {where}: {' '.join(str(exc).split())[:200]}") from exc
    try:
        try:
            client.register_plugin(plugin)
        except Exception as exc:
            raise ClusterError(f"workers could not load the KB and model: {exc}") from exc
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
