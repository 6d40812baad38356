"""Corpus runs on Dask distributed: documents shipped to workers, results written to the store."""

from ttpmap.batch.cluster import ClusterError, dask_client
from ttpmap.batch.run import BatchReport, Event, model_version, run_batch
from ttpmap.batch.worker import AnalysisPlugin, Outcome, analyse_bytes

__all__ = [
    "AnalysisPlugin",
    "BatchReport",
    "ClusterError",
    "Event",
    "Outcome",
    "analyse_bytes",
    "dask_client",
    "model_version",
    "run_batch",
]
