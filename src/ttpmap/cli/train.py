"""`ttpmap train` and `ttpmap eval`: fit technique models and measure them."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ttpmap.cli.app import AttackOpt, Domain, DomainOpt, _load_kb, app, err, out
from ttpmap.errors import UsageError


class Dataset(StrEnum):
    """Formats `ttpmap eval` reads (``ttpmap.evaluate.runner.DATASETS``)."""

    tram = "tram"
    annoctr = "annoctr"
    jsonl = "jsonl"


class Task(StrEnum):
    """What `ttpmap eval` measures."""

    techniques = "techniques"
    attribution = "attribution"


@app.command()
def train(
    corpus: Annotated[
        list[Path] | None,
        typer.Option("--corpus", "-c", help="Labelled corpus: TRAM2, AnnoCTR or ttpmap JSONL."),
    ] = None,
    name: Annotated[str, typer.Option(help="Name to save the model under.")] = "custom",
    set_default: Annotated[bool, typer.Option("--set-default", help="Use this model by default.")] = False,
    from_store: Annotated[
        bool,
        typer.Option("--from-store", help="Train on the workbench's reviews (activated if not worse)."),
    ] = False,
    store_url: Annotated[str | None, typer.Option("--store", help="Store URL for --from-store.")] = None,
    force: Annotated[bool, typer.Option("--force", help="--from-store: activate even if worse.")] = False,
    attack: AttackOpt = None,
    domain: DomainOpt = Domain.enterprise,
) -> None:
    """Train a technique model from ATT&CK plus your labelled reports (or the workbench's reviews)."""
    from ttpmap.learn.artifacts import save_model, set_default_model
    from ttpmap.learn.artifacts import train as train_model

    if from_store:
        from ttpmap.cli.serve import train_from_store

        train_from_store(store_url, attack, domain, force)
        return
    corpus = corpus or []
    if not corpus:
        raise UsageError("give labelled corpora with --corpus, or --from-store")
    for path in corpus:
        if not path.is_file():
            raise UsageError(f"corpus not found: {path}")
    kb = _load_kb(attack, domain)
    with err.status("Training…", spinner="dots") as status:
        model = train_model(kb, [str(p) for p in corpus], progress=lambda msg: status.update(msg))
        path = save_model(model, name, kb=kb)
    if set_default:
        set_default_model(name)
    out.print(f"Saved model {escape(name)} to {escape(str(path))}" + (" (default)" if set_default else ""))


@app.command("eval")
def evaluate(
    path: Annotated[
        Path | None, typer.Argument(help="Dataset file (TRAM2 JSONL, AnnoCTR linking JSONL, ttpmap JSONL).")
    ] = None,
    dataset: Annotated[Dataset, typer.Option(help="Dataset format.")] = Dataset.tram,
    task: Annotated[Task, typer.Option(help="What to measure.")] = Task.techniques,
    folds: Annotated[int, typer.Option(help="Cross-validate by document with K folds (0 = zero-shot).")] = 0,
    labels: Annotated[
        Path | None, typer.Option(help="Restrict to the technique IDs listed in this file.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N documents.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the results JSON here.")
    ] = None,
    attack: AttackOpt = None,
    domain: DomainOpt = Domain.enterprise,
) -> None:
    """Measure technique mapping (or attribution) accuracy on a labelled dataset."""
    from ttpmap.evaluate.runner import run_eval

    kb = _load_kb(attack, domain)
    with err.status("Evaluating…", spinner="dots"):
        result, table = run_eval(
            kb, task=task.value, dataset=dataset.value, path=path, folds=folds, labels=labels, limit=limit
        )
    out.print(table)
    if output:
        output.write_text(json.dumps(result, indent=2), encoding="utf-8")
        err.print(f"Wrote {output}")
