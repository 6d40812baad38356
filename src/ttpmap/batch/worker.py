"""What runs on a Dask worker: a plugin that loads the KB and technique model once, and the task."""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter
from typing import Any

from distributed import WorkerPlugin, get_worker

from ttpmap.errors import TtpmapError
from ttpmap.pipeline import Options

PLUGIN = "ttpmap-analysis"


@dataclass(frozen=True)
class Outcome:
    """One document's result as it travels back to the client: the Analysis JSON or a one-line error."""

    source: str
    sha256: str
    analysis_json: str = ""
    text: str = ""
    seconds: float = 0.0
    error: str = ""
    worker_pid: int = 0


class AnalysisPlugin(WorkerPlugin):
    """Loads the ATT&CK KB, technique model and Attributor when a worker starts; tasks reuse them."""

    name = PLUGIN

    def __init__(
        self, attack: str | None, domain: str, model_name: str | None, options: Options, techniques: bool
    ) -> None:
        self.attack, self.domain, self.model_name = attack, domain, model_name
        self.options, self.techniques = options, techniques
        self.kb: Any = None
        self.model: Any = None
        self.attributor: Any = None

    def setup(self, worker: Any) -> None:
        """Load once per worker process (a restarted worker loads again)."""
        from ttpmap.kb import load_kb
        from ttpmap.learn.artifacts import load_model, load_or_train
        from ttpmap.pipeline import default_attributor

        self.kb = load_kb(self.attack, self.domain)
        self.attributor = default_attributor(self.kb)
        if self.techniques:
            self.model = load_model(self.model_name) if self.model_name else load_or_train(self.kb)


def analyse_bytes(source: str, sha256: str, data: bytes) -> Outcome:
    """Ingest and analyse one report's bytes with the worker's KB and model; errors become one line."""
    import os

    from ttpmap.ingest import load
    from ttpmap.pipeline import analyze_document

    plugin: AnalysisPlugin = get_worker().plugins[PLUGIN]  # type: ignore[assignment]
    start = perf_counter()
    try:
        doc = load(source, data=data, limits=plugin.options.limits)
        analysis = analyze_document(doc, plugin.kb, plugin.model, plugin.options, plugin.attributor)
    except TtpmapError as exc:
        return Outcome(source, sha256, error=str(exc), worker_pid=os.getpid())
    except Exception as exc:  # an unexpected bug must not stop the batch; it is recorded per document
        reason = " ".join(str(exc).split())[:300]
        return Outcome(source, sha256, error=f"{source}: internal error {type(exc).__name__}: {reason}")
    return Outcome(
        source,
        sha256,
        analysis_json=analysis.to_json(indent=None),
        text=doc.text,
        seconds=perf_counter() - start,
        worker_pid=os.getpid(),
    )
