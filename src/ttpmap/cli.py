"""The ``ttpmap`` command: parse arguments, call the pipeline, render. No analysis logic lives here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ttpmap import __version__
from ttpmap.errors import TtpmapError, UsageError

app = typer.Typer(
    name="ttpmap",
    help="Turn threat reports into ATT&CK-mapped tradecraft, attribution, mitigations and advisories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
kb_app = typer.Typer(help="Inspect and update the ATT&CK knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

# piped output is 140 columns wide unless COLUMNS says otherwise
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 140
out = Console(highlight=False, soft_wrap=False, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)

AttackOpt = Annotated[
    str | None,
    typer.Option(
        "--attack", help="ATT&CK bundle path or URL (.json/.json.gz; default: TTPMAP_ATTACK or v15.0)."
    ),
]
DomainOpt = Annotated[str, typer.Option("--domain", help="ATT&CK domain: enterprise, mobile or ics.")]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Name or path of a model from `ttpmap train`.")]
TableJsonOpt = Annotated[str, typer.Option("--format", "-f", help="table or json.")]
FORMATS = ("table", "json", "markdown")
EXPORTS = ("advisory", "brief", "navigator", "stix", "misp", "csv", "json")


def _version(value: bool) -> None:
    if value:
        out.print(f"ttpmap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """ttpmap: threat report → ATT&CK techniques, IOCs, attribution, mitigations, advisories (offline)."""


def _load_kb(attack: str | None, domain: str) -> Any:
    from ttpmap.kb import load_kb

    with err.status("Loading ATT&CK knowledge base…", spinner="dots"):
        return load_kb(attack or os.environ.get("TTPMAP_ATTACK") or None, domain)


def _load_model(kb: Any, model_name: str | None) -> Any:
    from ttpmap.learn.artifacts import load_model, load_or_train

    if model_name:
        return load_model(model_name)
    with err.status("Loading technique model (first run trains it from ATT&CK)…", spinner="dots") as status:
        return load_or_train(kb, progress=lambda msg: status.update(msg))


def _parse_formats(value: str, allowed: tuple[str, ...]) -> list[str]:
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    if "all" in items:
        return list(allowed)
    bad = [v for v in items if v not in allowed]
    if bad:
        raise UsageError(f"unknown export format {', '.join(bad)}; choose from all, {', '.join(allowed)}")
    return items


def _stem(source: str, used: set[str]) -> str:
    base = "stdin" if source == "-" else Path(source).stem
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in base)[:80] or "report"
    candidate, n = stem, 2
    while candidate in used:
        candidate, n = f"{stem}-{n}", n + 1
    used.add(candidate)
    return candidate


# ---- analyze --------------------------------------------------------------------------------------


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
    from ttpmap.ingest import expand_sources
    from ttpmap.pipeline import Options, analyze_many

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
    kb = _load_kb(attack, domain)
    model = None if no_model else _load_model(kb, model_name)
    options = Options(threshold=threshold, top_k=top_k, all_scores=all_scores, techniques=not no_model)
    if output:
        output.mkdir(parents=True, exist_ok=True)

    failures: list[str] = []
    codes: list[int] = []
    results = analyze_many(sources, kb=kb, model=model, options=options, read_stdin=sys.stdin.buffer.read)
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


def render_summary(a: Any) -> None:
    """A human summary of one Analysis on the terminal."""
    d = a.document
    out.print(
        Panel(
            f"[bold]{escape(d.title)}[/bold]\n{escape(d.source)} · {d.media_type} · {d.chars:,} chars · "
            f"{d.sentences} sentences · ATT&CK {a.attack.domain} v{a.attack.version}",
            title="ttpmap analysis",
            expand=False,
        )
    )
    if a.techniques:
        t = Table(title=f"Techniques ({len(a.techniques)})", show_lines=False, expand=False)
        t.add_column("ID", style="bold cyan", no_wrap=True)
        t.add_column("Technique", max_width=30, overflow="fold")
        t.add_column("Tactic", max_width=22, overflow="fold")
        t.add_column("Score", justify="right")
        t.add_column("Best evidence", ratio=2, max_width=80, overflow="fold")
        for tech in a.techniques:
            ev = tech.evidence[0].text if tech.evidence else ""
            ev = ev if len(ev) <= 160 else ev[:157] + "…"
            t.add_row(
                tech.id, escape(tech.name), escape(", ".join(tech.tactics)), f"{tech.score:.2f}", escape(ev)
            )
        out.print(t)
    else:
        out.print("[yellow]No techniques found.[/yellow]")
    ents = a.entities
    lines = []
    for label, items in (("Groups", ents.groups), ("Software", ents.software), ("Campaigns", ents.campaigns)):
        if items:
            names = (
                f"{e.mention} = {e.name}" if e.mention.lower() != e.name.lower() else e.name for e in items
            )
            refs = (f"{n} ({e.id})" for n, e in zip(names, items, strict=True))
            lines.append(f"[bold]{label}:[/bold] " + ", ".join(escape(r) for r in refs))
    if ents.cves:
        lines.append("[bold]CVEs:[/bold] " + ", ".join(c.id for c in ents.cves))
    if lines:
        out.print(Panel("\n".join(lines), title="Named in the report", expand=False))
    if a.iocs:
        t = Table(title=f"Indicators ({len(a.iocs)}, defanged)", expand=False)
        t.add_column("Type")
        t.add_column("Indicator", overflow="fold", max_width=90)
        for ioc in a.iocs[:25]:
            t.add_row(ioc.type, escape(ioc.defanged))
        if len(a.iocs) > 25:
            t.add_row("…", f"{len(a.iocs) - 25} more in --format json")
        out.print(t)
    if a.attribution:
        t = Table(title="Attribution: groups whose tradecraft is consistent", expand=False)
        t.add_column("Group", style="bold")
        t.add_column("Score", justify="right")
        t.add_column("Confidence")
        t.add_column("Named")
        t.add_column("Why", max_width=80, overflow="fold")
        for g in a.attribution:
            why = str(g.explanation.get("summary", "")) if isinstance(g.explanation, dict) else ""
            t.add_row(
                escape(f"{g.name} ({g.id})"),
                f"{g.score:.2f}",
                g.confidence,
                "yes" if g.named_in_text else "",
                escape(why),
            )
        out.print(t)
    elif a.techniques:
        out.print("[dim]Attribution: no confident match.[/dim]")
    if a.mitigations:
        t = Table(title="Mitigations (by coverage of observed techniques)", expand=False)
        t.add_column("ID", style="bold green")
        t.add_column("Mitigation")
        t.add_column("Layer", justify="right")
        t.add_column("Adds", justify="right")
        t.add_column("Covers", max_width=60, overflow="fold")
        for m in a.mitigations:
            layer = str((m.model_extra or {}).get("layer", ""))
            t.add_row(m.id, escape(m.name), layer, f"{m.score:.0%}", ", ".join(m.covers))
        out.print(t)


# ---- attribute / mitigate -------------------------------------------------------------------------


def _split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _findings_for(path: str, kb: Any, model_name: str | None) -> Any:
    """Findings from a saved analysis JSON, or by extracting them from a report."""
    from ttpmap.models import Analysis
    from ttpmap.pipeline import findings_from_analysis

    p = Path(path)
    if p.suffix == ".json" and p.is_file():
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raw = None
        if isinstance(raw, dict) and str(raw.get("schema", "")).startswith("ttpmap.analysis/"):
            return findings_from_analysis(Analysis.model_validate(raw))
    from ttpmap.ingest import load
    from ttpmap.pipeline import Options, extract

    doc = load(path, data=sys.stdin.buffer.read() if path == "-" else None)
    return extract(doc, kb, _load_model(kb, model_name), Options())


@app.command()
def attribute(
    report: Annotated[
        str | None, typer.Argument(help="A report, or an analysis JSON from `analyze`.")
    ] = None,
    techniques: Annotated[
        str | None, typer.Option(help="Comma list of technique IDs, e.g. T1190,T1505.003.")
    ] = None,
    software: Annotated[
        str | None, typer.Option(help='Comma list of software names or IDs, e.g. "China Chopper".')
    ] = None,
    cve: Annotated[str | None, typer.Option("--cve", help="Comma list of CVE IDs.")] = None,
    top: Annotated[int, typer.Option(help="Number of candidate groups.")] = 5,
    fmt: TableJsonOpt = "table",
    model_name: ModelOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """Rank threat groups whose tradecraft is consistent with a report or explicit evidence."""
    from ttpmap.attribute import rank_campaigns, rank_groups
    from ttpmap.pipeline import findings_from_evidence

    kb = _load_kb(attack, domain)
    if report:
        findings = _findings_for(report, kb, model_name)
    elif techniques or software or cve:
        findings = findings_from_evidence(
            kb, _split_list(techniques), _split_list(software), _split_list(cve)
        )
    else:
        raise UsageError("give a report, an analysis JSON, or --techniques/--software/--cve")
    groups = rank_groups(findings, kb, top=top, include_weak=True)
    campaigns = rank_campaigns(findings, kb)
    if fmt == "json":
        payload = {
            "attribution": [g.model_dump() for g in groups],
            "campaigns": [c.model_dump() for c in campaigns],
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    if not groups:
        out.print("No confident match: the evidence is too weak or too generic to point at a known group.")
        return
    t = Table(title="Groups whose tradecraft is consistent with the evidence", expand=False)
    t.add_column("#", justify="right")
    t.add_column("Group", style="bold")
    t.add_column("Score", justify="right")
    t.add_column("Confidence")
    t.add_column("Explanation", max_width=90, overflow="fold")
    for i, g in enumerate(groups, 1):
        ex = g.explanation if isinstance(g.explanation, dict) else {}
        parts = [str(ex.get("summary", ""))]
        for key in ("shared_software", "distinctive_techniques", "shared_cves"):
            vals = ex.get(key)
            if vals:
                parts.append(f"{key.replace('_', ' ')}: " + ", ".join(_label(v) for v in vals[:6]))
        t.add_row(
            str(i),
            escape(f"{g.name} ({g.id})"),
            f"{g.score:.2f}",
            g.confidence,
            escape("\n".join(p for p in parts if p)),
        )
    out.print(t)
    if campaigns:
        out.print(
            "Closest known campaigns: "
            + ", ".join(escape(f"{c.name} ({c.id}) {c.score:.2f}") for c in campaigns)
        )


def _label(value: Any) -> str:
    if isinstance(value, dict):
        ident, name = value.get("id", ""), value.get("name", "")
        return f"{ident} {name}".strip() if name and name != ident else str(ident or name or value)
    return str(value)


@app.command()
def mitigate(
    items: Annotated[
        list[str], typer.Argument(help="Technique IDs (T1190 T1505.003 …), a report, or an analysis JSON.")
    ],
    limit: Annotated[int, typer.Option(help="How many mitigations and detections to list.")] = 10,
    fmt: TableJsonOpt = "table",
    model_name: ModelOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """Recommend mitigations and detections for observed techniques."""
    from ttpmap.defend import rank_detections, rank_mitigations
    from ttpmap.pipeline import findings_from_evidence

    kb = _load_kb(attack, domain)
    if all(kb.is_attack_id(i) for i in items):
        techniques = findings_from_evidence(kb, items).techniques
    elif len(items) == 1:
        techniques = _findings_for(items[0], kb, model_name).techniques
    else:
        raise UsageError("give technique IDs, or one report / analysis JSON")
    mitigations = rank_mitigations(techniques, kb, limit=limit)
    detections = rank_detections(techniques, kb, limit=limit)
    if fmt == "json":
        payload = {
            "mitigations": [m.model_dump() for m in mitigations],
            "detections": [d.model_dump() for d in detections],
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return
    t = Table(title=f"Mitigations for {len(techniques)} techniques", expand=False)
    t.add_column("ID", style="bold green")
    t.add_column("Mitigation")
    t.add_column("Layer", justify="right")
    t.add_column("Adds", justify="right")
    t.add_column("Covers", max_width=50, overflow="fold")
    for m in mitigations:
        layer = str((m.model_extra or {}).get("layer", ""))
        t.add_row(m.id, escape(m.name), layer, f"{m.score:.0%}", ", ".join(m.covers))
    out.print(t)
    t = Table(title="Detections (data components to watch)", expand=False)
    t.add_column("Data component", style="bold")
    t.add_column("Covers", max_width=40, overflow="fold")
    t.add_column("Log sources", max_width=60, overflow="fold")
    for d in detections:
        name = f"{d.data_source}: {d.name}" if d.data_source else d.name
        t.add_row(escape(name), ", ".join(d.covers), escape("; ".join(d.log_sources[:4])))
    out.print(t)


# ---- kb -------------------------------------------------------------------------------------------


@kb_app.command("info")
def kb_info(
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
    fmt: TableJsonOpt = "table",
) -> None:
    """Source, domain, version, sha256 and counts of the knowledge base in use."""
    kb = _load_kb(attack, domain)
    info = kb.info
    if fmt == "json":
        sys.stdout.write(json.dumps(info.__dict__, indent=2) + "\n")
        return
    t = Table(show_header=False, expand=False, title="ATT&CK knowledge base")
    t.add_row("source", escape(info.source))
    t.add_row("domain", info.domain)
    t.add_row("version", info.version)
    t.add_row("STIX", info.spec_version)
    t.add_row("sha256", info.sha256)
    for key, value in info.counts.items():
        t.add_row(key, f"{value:,}")
    out.print(t)


@kb_app.command("search")
def kb_search(
    text: Annotated[str, typer.Argument(help="Words to look for in IDs, names, aliases and descriptions.")],
    limit: Annotated[int, typer.Option(help="Maximum results.")] = 20,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """Find techniques, groups, software, campaigns and mitigations."""
    kb = _load_kb(attack, domain)
    hits = kb.search(text, limit=limit)
    if not hits:
        out.print(f"Nothing matches {escape(text)!r}.")
        raise typer.Exit(1)
    t = Table(expand=False)
    t.add_column("ID", style="bold cyan", no_wrap=True)
    t.add_column("Type", no_wrap=True)
    t.add_column("Name", no_wrap=True)
    t.add_column("Summary", max_width=80, overflow="ellipsis")
    for obj in hits:
        summary = getattr(obj, "description", "").split("\n")[0]
        t.add_row(obj.id, type(obj).__name__, escape(obj.name), escape(summary[:160]))
    out.print(t)


@kb_app.command("show")
def kb_show(
    attack_id: Annotated[
        str, typer.Argument(help="An ATT&CK ID: T1190, G0065, S0002, M1051, C0049, TA0001…")
    ],
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
    fmt: TableJsonOpt = "table",
) -> None:
    """Details of one ATT&CK object and its relations."""
    from ttpmap.kb.describe import describe

    kb = _load_kb(attack, domain)
    obj = kb.get(attack_id)
    if obj is None:
        raise UsageError(f"{attack_id} is not an active {domain} ATT&CK ID in v{kb.info.version}")
    details = describe(kb, obj)
    if fmt == "json":
        sys.stdout.write(json.dumps(details, indent=2, default=str) + "\n")
        return
    resolved = "" if obj.id == attack_id.upper() else f" (revoked {attack_id.upper()} → {obj.id})"
    out.print(
        Panel(
            escape(details.get("description", "")[:1500]),
            title=escape(f"{obj.id} {obj.name}{resolved}"),
            expand=False,
        )
    )
    for key, value in details.items():
        if key in ("id", "name", "description") or not value:
            continue
        if isinstance(value, list):
            shown = ", ".join(_label(v) for v in value[:40]) + (
                f" … (+{len(value) - 40})" if len(value) > 40 else ""
            )
            out.print(f"[bold]{key.replace('_', ' ')}[/bold] ({len(value)}): {escape(shown)}")
        else:
            out.print(f"[bold]{key.replace('_', ' ')}[/bold]: {escape(str(value))}")


@kb_app.command("update")
def kb_update(
    version: Annotated[
        str | None, typer.Option(help="Release to fetch, e.g. 18.1 (default: newest).")
    ] = None,
    domain: DomainOpt = "enterprise",
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the embedded ATT&CK v15.0.")] = False,
) -> None:
    """Download an official ATT&CK release from MITRE into the cache and make it the default."""
    from ttpmap.kb.update import reset_default, update

    if reset:
        reset_default(domain)
        out.print(f"Default {domain} knowledge base reset to the embedded ATT&CK v15.0.")
        return
    with err.status(f"Downloading ATT&CK {version or '(newest)'}…", spinner="dots"):
        kb = update(version, domain)
    out.print(f"ATT&CK {domain} v{kb.info.version} is now the default ({escape(kb.info.source)}).")


# ---- train / eval -----------------------------------------------------------------------------------


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
    with err.status("Training…", spinner="dots"):
        model = train_model(kb, [str(p) for p in corpus])
        path = save_model(model, name)
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


def main() -> None:
    """Console entry point: one-line errors and DESIGN.md's exit codes, never a traceback."""
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except TtpmapError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # usage errors from the argument parser, and the unexpected
        show = getattr(exc, "show", None)
        code = getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        if os.environ.get("TTPMAP_DEBUG"):
            raise
        detail = escape(str(exc))[:300]
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {detail} (TTPMAP_DEBUG=1 for details)")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
