"""`ttpmap analyze`: reports in, analyses and exports out."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from ttpmap.cli.app import (
    EXPORTS,
    AttackOpt,
    Domain,
    DomainOpt,
    Format,
    ModelOpt,
    _load_kb,
    _load_model,
    _parse_formats,
    _stem,
    app,
    err,
)
from ttpmap.cli.views import render_summary
from ttpmap.errors import TtpmapError, UsageError

if TYPE_CHECKING:
    from ttpmap.models import Analysis


@app.command()
def analyze(
    paths: Annotated[
        list[str],
        typer.Argument(help="Report files or folders (PDF, HTML, MD, TXT, DOCX, STIX); - for stdin."),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output on stdout.")] = Format.table,
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
    domain: DomainOpt = Domain.enterprise,
) -> None:
    """Analyse reports: techniques with evidence, IOCs, entities, attribution, mitigations."""
    from ttpmap.ingest import expand_sources
    from ttpmap.pipeline import Options, analyze_many

    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageError("--threshold must be between 0 and 1")
    exports = _parse_formats(export, EXPORTS) if export else []
    if exports and output is None:
        raise UsageError("--export needs --output DIR")
    sources = expand_sources(paths)
    if not sources:
        raise UsageError("no input files found")
    kb = _load_kb(attack, domain)
    model = None if no_model else _load_model(kb, model_name)
    options = Options(threshold=threshold, top_k=top_k, all_scores=all_scores, techniques=not no_model)
    if output:
        output.mkdir(parents=True, exist_ok=True)

    failures: list[str] = []
    codes: list[int] = []
    results: Iterable[tuple[str, Analysis | TtpmapError]] = analyze_many(
        sources, kb=kb, model=model, options=options, read_stdin=sys.stdin.buffer.read
    )
    used: set[str] = set()
    show_progress = len(sources) > 1 and err.is_terminal
    if show_progress:
        from rich.progress import track

        results = track(results, total=len(sources), description="Analysing", console=err, transient=True)
    for source, result in results:
        if isinstance(result, TtpmapError):
            failures.append(str(result))
            codes.append(result.exit_code)
            err.print(f"[red]error:[/red] {escape(str(result))}")
            continue
        if output:
            stem = _stem(source, used)
            (output / f"{stem}.json").write_text(result.to_json(), encoding="utf-8")
            if exports:
                _write_exports(result, kb, exports, output, stem, failures)
            if fmt == "table" and len(sources) > 1:
                continue
        _render(result, kb, fmt)
    if output:
        err.print(f"Wrote {len(sources) - len(failures)} analyses to {output}")
    if failures:
        if len(sources) > 1:
            err.print(f"[red]{len(failures)} of {len(sources)} inputs failed[/red]")
        raise typer.Exit(codes[0] if len(sources) == 1 and codes else 1)


def _write_exports(
    result: Any, kb: Any, exports: list[str], output: Path, stem: str, failures: list[str]
) -> None:
    from ttpmap.errors import ExportError
    from ttpmap.publish import export as do_export

    try:
        written = do_export(result, kb, [e for e in exports if e != "json"], output, stem=stem)
        for path in written:
            err.print(f"  wrote {path}")
    except ExportError as exc:
        for path in getattr(exc, "written", ()):
            err.print(f"  wrote {path}")
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
