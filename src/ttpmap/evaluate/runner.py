"""`ttpmap eval`: pick the dataset reader and the task's evaluator, return results and a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ttpmap.errors import UsageError
from ttpmap.kb import KnowledgeBase

DATASETS = ("tram", "annoctr", "jsonl")


def read_labels(path: Path | None) -> set[str] | None:
    """Technique IDs listed in a label file (JSON list, TRAM single_label.json, or one per line)."""
    if path is None:
        return None
    from ttpmap.evaluate.techniques import read_label_set

    if not path.is_file():
        raise UsageError(f"label file not found: {path}")
    try:
        labels = read_label_set(path)
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not a label file ({exc})") from exc
    if not labels:
        raise UsageError(f"no technique IDs in {path}")
    return labels


def read_dataset(dataset: str, path: Path) -> list[Any]:
    """Labelled documents from a TRAM2, AnnoCTR or ttpmap JSONL file."""
    from ttpmap.learn.corpus import read_annoctr, read_jsonl, read_tram

    if dataset not in DATASETS:
        raise UsageError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    if not path.is_file():
        raise UsageError(f"dataset file not found: {path}")
    try:
        if dataset == "tram":
            return read_tram(path)
        if dataset == "annoctr":
            return read_annoctr(path)
        docs, _ = read_jsonl(path)
        return docs
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not a {dataset} dataset ({type(exc).__name__}: {exc})") from exc


def run_eval(
    kb: KnowledgeBase,
    *,
    task: str,
    dataset: str,
    path: Path | None,
    folds: int = 0,
    labels: Path | None = None,
    limit: int | None = None,
) -> tuple[dict[str, Any], str]:
    """Run one evaluation; returns the JSON-able result and a printable table."""
    if task == "techniques":
        from ttpmap.evaluate.techniques import default_factory, evaluate_techniques, format_table

        if path is None:
            raise UsageError("technique evaluation needs a dataset PATH")
        docs = read_dataset(dataset, path)[:limit]
        label_set = read_labels(labels)
        result = evaluate_techniques(docs, kb, default_factory(kb), folds=folds, labels=label_set)
        result.setdefault("dataset", {"name": dataset, "path": str(path), "documents": len(docs)})
        return result, format_table(result)
    if task == "attribution":
        from ttpmap.evaluate.attribution import evaluate_loco, format_attribution_table

        if path is not None:
            raise UsageError(
                "attribution evaluation runs leave-one-campaign-out on the loaded KB; give no PATH"
            )
        result = evaluate_loco(kb, with_context=True, with_text=True)
        return result, format_attribution_table(result)
    raise UsageError(f"unknown task {task!r}; choose techniques or attribution")
