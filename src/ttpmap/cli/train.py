"""`ttpmap train` and `ttpmap eval`: fit technique models and measure them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ttpmap.cli.app import AttackOpt, DomainOpt, _load_kb, app, err, out
from ttpmap.errors import UsageError


@app.command()
def train(
    corpus: Annotated[
        list[Path], typer.Option("--corpus", "-c", help="Labelled corpus: TRAM2, AnnoCTR or ttpmap JSONL.")
    ],
    name: Annotated[str, typer.Option(help="Name to save the model under.")] = "custom",
    set_default: Annotated[bool, typer.Option("--set-default", help="Use this model by default.")] = False,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """Train a technique model from ATT&CK plus your labelled reports."""
    from ttpmap.learn.artifacts import save_model, set_default_model
    from ttpmap.learn.artifacts import train as train_model

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
    dataset: Annotated[str, typer.Option(help="tram, annoctr or jsonl.")] = "tram",
    task: Annotated[str, typer.Option(help="techniques or attribution.")] = "techniques",
    folds: Annotated[int, typer.Option(help="Cross-validate by document with K folds (0 = zero-shot).")] = 0,
    labels: Annotated[
        Path | None, typer.Option(help="Restrict to the technique IDs listed in this file.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N documents.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the results JSON here.")
    ] = None,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """Measure technique mapping (or attribution) accuracy on a labelled dataset."""
    from ttpmap.evaluate.runner import run_eval

    kb = _load_kb(attack, domain)
    with err.status("Evaluating…", spinner="dots"):
        result, table = run_eval(
            kb, task=task, dataset=dataset, path=path, folds=folds, labels=labels, limit=limit
        )
    out.print(table)
    if output:
        output.write_text(json.dumps(result, indent=2), encoding="utf-8")
        err.print(f"Wrote {output}")
