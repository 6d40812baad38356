"""`ttpmap analyze`: reports in, analyses and exports out."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ttpmap.cli.app import (
    EXPORTS,
    FORMATS,
    AttackOpt,
    DomainOpt,
    ModelOpt,
    _load_kb,
    _load_model,
    _parse_formats,
    _stem,
    app,
    err,
)
from ttpmap.cli.views import render_summary
from ttpmap.config import Limits
from ttpmap.errors import TtpmapError, UsageError


@app.command()
def analyze(
    paths: Annotated[
        list[str],
        typer.Argument(help="Report files or folders (PDF, HTML, MD, TXT, DOCX, STIX); - for stdin."),
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Output: table, json or markdown.")] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write one JSON per input (and exports) here.")
    ] = None,
    export: Annotated[
        str | None,
        typer.Option("--export", "-e", help="With -o: all, or a comma list of " + ", ".join(EXPORTS) + "."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Minimum technique score (0-1); lower = more recall.")
    ] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Report at most K techniques.")] = None,
    all_scores: Annotated[
        bool, typer.Option("--all-scores", help="Add below-threshold candidates to JSON.")
    ] = False,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Skip the technique model (explicit IDs only).")
    ] = False,
    model_name: ModelOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """Analyse reports: techniques with evidence, IOCs, entities, attribution, mitigations."""
    from ttpmap.ingest import expand_sources, read_stream
    from ttpmap.pipeline import Options, analyze_many

    limits = Limits.from_env()
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageError("--threshold must be between 0 and 1")
    exports = _parse_formats(export, EXPORTS) if export else []
    if exports and output is None:
        raise UsageError("--export needs --output DIR")
    sources = expand_sources(paths)
    if not sources:
        raise UsageError("no input files found")
    if output:
        _prepare_output(output)
    kb = _load_kb(attack, domain)
    model = None if no_model else _load_model(kb, model_name)
    options = Options(
        threshold=threshold, top_k=top_k, all_scores=all_scores, techniques=not no_model, limits=limits
    )

    failures: list[str] = []
    codes: list[int] = []
    results: Iterable[tuple[str, Any]] = analyze_many(
        sources, kb=kb, model=model, options=options, read_stdin=lambda: read_stream(sys.stdin.buffer, limits)
    )
    used: set[str] = set()
    show_progress = len(sources) > 1 and err.is_terminal
    if show_progress:
        from rich.progress import track

        results = track(results, total=len(sources), description="Analysing", console=err, transient=True)
    for source, result in results:
        if not isinstance(result, TtpmapError):
            from ttpmap.publish.limits import cap_iocs

            result = cap_iocs(result, limits.max_iocs)
            for note in result.notes:
                err.print(f"[yellow]warning:[/yellow] {escape(source)}: {escape(note)}")
            if output:
                try:
                    _write_outputs(result, kb, exports, output, _stem(source, used), failures, limits)
                except TtpmapError as exc:
                    if exc.source is None:
                        exc.source = source
                    result = exc
                if not isinstance(result, TtpmapError) and fmt == "table" and len(sources) > 1:
                    continue
        if isinstance(result, TtpmapError):
            failures.append(str(result))
            codes.append(result.exit_code)
            err.print(f"[red]error:[/red] {escape(str(result))}")
            continue
        _render(result, kb, fmt)
    if output:
        err.print(f"Wrote {len(sources) - len(failures)} analyses to {output}")
    if failures:
        if len(sources) > 1:
            err.print(f"[red]{len(failures)} of {len(sources)} inputs failed[/red]")
        raise typer.Exit(codes[0] if len(sources) == 1 and codes else 1)


def _prepare_output(output: Path) -> None:
    """Create the ``-o`` folder; a path that cannot be a folder is a usage error (exit 2)."""
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output}: exists and is not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot create the folder ({exc.strerror or exc})") from None


def _write_outputs(
    result: Any, kb: Any, exports: list[str], output: Path, stem: str, failures: list[str], limits: Limits
) -> None:
    """Write one input's JSON and exports atomically, printing a line as each file is written."""
    from ttpmap.errors import ExportError
    from ttpmap.publish import export as do_export
    from ttpmap.publish.files import write_atomic

    existing = {p.name for p in output.iterdir()}

    def report(path: Path) -> None:
        verb = "replaced" if path.name in existing else "wrote"
        err.print(f"  {verb} {escape(str(path))}")

    report(write_atomic(output / f"{stem}.json", result.to_json()))
    if not exports:
        return
    try:
        do_export(
            result,
            kb,
            [e for e in exports if e != "json"],
            output,
            stem=stem,
            max_iocs=limits.max_iocs,
            on_written=report,
        )
    except ExportError as exc:
        failures.append(str(exc))
        err.print(f"[red]error:[/red] {escape(str(exc))}")


def _render(result: Any, kb: Any, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(result.to_json() + "\n")
    elif fmt == "markdown":
        from ttpmap.publish.advisory import render

        sys.stdout.write(render(result, kb, "markdown"))
    else:
        render_summary(result)
