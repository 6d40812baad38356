"""`ttpmap batch`: analyse folders of reports on Dask into the store, resumably."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ttpmap.cli.app import (
    EXPORTS,
    AttackOpt,
    Domain,
    DomainOpt,
    ModelOpt,
    _load_kb,
    _parse_formats,
    _stem,
    app,
    err,
    out,
)
from ttpmap.errors import TtpmapError, UsageError

StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store", help="Store URL (sqlite:///FILE or postgresql+psycopg://...; default TTPMAP_STORE)."
    ),
]


class _Rate(ProgressColumn):
    """Documents per second (skipped ones included, as they finish too)."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} docs/s" if speed else "– docs/s", style="progress.data.speed")


def open_cli_store(url: str | None) -> Any:
    """Open the store named by ``--store`` / ``TTPMAP_STORE`` (one-line error if it cannot be)."""
    from ttpmap.store import open_store

    with err.status("Opening the store…", spinner="dots"):
        return open_store(url)


@app.command()
def batch(
    paths: Annotated[list[str], typer.Argument(help="Report files or folders.")],
    store_url: StoreOpt = None,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Local worker processes.")] = 2,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Use a running Dask scheduler (tcp://host:8786).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-analyse documents already in the store.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write one JSON per analysed input here.")
    ] = None,
    export: Annotated[
        str | None,
        typer.Option("--export", "-e", help="With -o: all, or a comma list of " + ", ".join(EXPORTS) + "."),
    ] = None,
    model_name: ModelOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = Domain.enterprise,
) -> None:
    """Analyse a corpus on Dask into the store; already analysed documents are skipped."""
    from ttpmap.batch import AnalysisPlugin, dask_client, model_version, run_batch
    from ttpmap.ingest import expand_sources
    from ttpmap.pipeline import Options
    from ttpmap.store import RunKey

    if "-" in paths:
        raise UsageError("batch reads files and folders, not stdin")
    exports = _parse_formats(export, EXPORTS) if export else []
    if exports and output is None:
        raise UsageError("--export needs --output DIR")
    sources = expand_sources(paths)
    if not sources:
        raise UsageError("no input files found")
    store = open_cli_store(store_url)
    attack = attack or os.environ.get("TTPMAP_ATTACK") or None
    kb = _load_kb(attack, domain)
    if not model_name:
        from ttpmap.cli.app import _load_model

        _load_model(kb, None)  # trains once here, so workers only load the cached model
    key = RunKey(model_version(model_name), kb.info.sha256)
    plugin = AnalysisPlugin(attack, domain, model_name, Options(), techniques=True)
    if output:
        output.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    export_failures: list[str] = []

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeRemainingColumn(),
    )
    with store, Progress(*columns, console=err, transient=False, disable=not err.is_terminal) as progress:
        task = progress.add_task("Starting workers", total=len(sources))
        with dask_client(plugin, workers=workers, scheduler=scheduler) as client:
            progress.update(task, description="Analysing")

            def on_event(event: Any) -> None:
                progress.advance(task)
                if event.status == "failed":
                    progress.console.print(f"[red]failed:[/red] {escape(event.detail)}")
                if output and event.analysis is not None:
                    from ttpmap.cli.analyze import _write_outputs
                    from ttpmap.config import Limits

                    stem = _stem(event.source, used)
                    try:
                        _write_outputs(
                            event.analysis, kb, exports, output, stem, export_failures, Limits.from_env()
                        )
                    except TtpmapError as exc:
                        export_failures.append(f"{event.source}: {exc}")
                        progress.console.print(f"[red]error:[/red] {escape(str(exc))}")

            report = run_batch(sources, store, client, key, force=force, on_event=on_event)
    _render_report(report)
    if report.failed or export_failures:
        raise typer.Exit(1)


def _render_report(report: Any) -> None:
    table = Table(title="Batch", expand=False)
    table.add_column("Status")
    table.add_column("Documents", justify="right")
    table.add_row("[green]done[/green]", str(len(report.done)))
    table.add_row("skipped", str(len(report.skipped)))
    table.add_row("[red]failed[/red]" if report.failed else "failed", str(len(report.failed)))
    out.print(table)
    if report.failed:
        failed = Table(title="Failed", expand=False)
        failed.add_column("Reason", overflow="fold", max_width=130)
        for _source, reason in report.failed:
            failed.add_row(Text(" ".join(reason.split())))
        out.print(failed)
