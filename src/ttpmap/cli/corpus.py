"""`ttpmap search`, `ttpmap related` and `ttpmap corpus layer|summary`: questions asked of the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ttpmap.cli.app import AttackOpt, DomainOpt, TableJsonOpt, _load_kb, app, err, out
from ttpmap.cli.batch import StoreOpt, open_cli_store
from ttpmap.errors import UsageError

corpus_app = typer.Typer(help="Look at the whole stored corpus.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")

TechOpt = Annotated[
    list[str] | None, typer.Option("--technique", "-t", help="Technique ID (sub-techniques too).")
]
GroupOpt = Annotated[list[str] | None, typer.Option("--group", "-g", help="Group ID, named or attributed.")]
SoftOpt = Annotated[list[str] | None, typer.Option("--software", "-s", help="Software ID named in the text.")]
IocOpt = Annotated[list[str] | None, typer.Option("--ioc", help="Indicator value (fanged or defanged).")]
CveOpt = Annotated[list[str] | None, typer.Option("--cve", help="CVE ID.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Documents added on or after this date.")]


def _filters(
    technique: list[str] | None,
    group: list[str] | None,
    software: list[str] | None,
    ioc: list[str] | None,
    cve: list[str] | None,
    since: str | None,
) -> Any:
    from ttpmap.store.query import Filters, parse_since

    return Filters(
        techniques=tuple(technique or ()),
        groups=tuple(group or ()),
        software=tuple(software or ()),
        iocs=tuple(ioc or ()),
        cves=tuple(cve or ()),
        since=parse_since(since) if since else None,
    )


def _describe(filters: Any) -> str:
    parts = [
        *filters.techniques,
        *filters.groups,
        *filters.software,
        *(f"IOC {v}" for v in filters.iocs),
        *filters.cves,
    ]
    if filters.since:
        parts.append(f"since {filters.since.date().isoformat()}")
    return " AND ".join(parts)


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise UsageError(f"unknown format {fmt!r}; choose table or json")


@app.command()
def search(
    technique: TechOpt = None,
    group: GroupOpt = None,
    software: SoftOpt = None,
    ioc: IocOpt = None,
    cve: CveOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many documents.")] = 50,
    fmt: TableJsonOpt = "table",
    store_url: StoreOpt = None,
) -> None:
    """Stored documents matching every filter, with the evidence that matched."""
    from ttpmap.store.query import search as run_search

    _check_format(fmt)
    filters = _filters(technique, group, software, ioc, cve, since)
    with open_cli_store(store_url) as store:
        matches = run_search(store, filters, limit=limit)
    if fmt == "json":
        rows = [
            {
                "id": m.document_id,
                "sha256": m.sha256,
                "title": m.title,
                "source": m.source,
                "added": m.added_at.isoformat(),
                "evidence": m.evidence,
            }
            for m in matches
        ]
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    if not matches:
        err.print("No stored document matches.")
        return
    table = Table(title=f"Documents ({len(matches)})", expand=False, show_lines=True)
    table.add_column("ID", justify="right")
    table.add_column("sha256", no_wrap=True)
    table.add_column("Title", max_width=40, overflow="fold")
    table.add_column("Matched", max_width=70, overflow="fold")
    for m in matches:
        evidence = "\n".join(f"{e['id']}: {e['text']}" if e["text"] else e["id"] for e in m.evidence)
        table.add_row(str(m.document_id), m.sha256[:12], Text(m.title), Text(evidence))
    out.print(table)


@app.command()
def related(
    doc: Annotated[str, typer.Argument(help="Document ID, sha256 (prefix) or the report file.")],
    limit: Annotated[int, typer.Option("--limit", help="At most this many documents.")] = 10,
    fmt: TableJsonOpt = "table",
    store_url: StoreOpt = None,
) -> None:
    """Stored documents sharing IOCs, software, CVEs or rare techniques with DOC, most similar first."""
    from ttpmap.extract.iocs import defang
    from ttpmap.store.query import related as find_related
    from ttpmap.store.query import resolve_document

    _check_format(fmt)
    with open_cli_store(store_url) as store:
        doc_id = resolve_document(store, doc)
        found = find_related(store, doc_id, limit=limit)
    if fmt == "json":
        rows = [
            {"id": r.document_id, "sha256": r.sha256, "title": r.title, "score": r.score, "shared": r.shared}
            for r in found
        ]
        sys.stdout.write(
            json.dumps({"document": doc_id, "related": rows}, indent=2, ensure_ascii=False) + "\n"
        )
        return
    if not found:
        err.print(
            f"No stored document shares IOCs, software, CVEs or rare techniques with document {doc_id}."
        )
        return
    table = Table(title=f"Related to document {doc_id}", expand=False, show_lines=True)
    table.add_column("ID", justify="right")
    table.add_column("Score", justify="right")
    table.add_column("Title", max_width=40, overflow="fold")
    table.add_column("Shared", max_width=70, overflow="fold")
    for r in found:
        lines = []
        for kind, values in r.shared.items():
            shown = [defang(v, kind[4:]) for v in values] if kind.startswith("ioc:") else values
            more = f" (+{len(shown) - 6})" if len(shown) > 6 else ""
            lines.append(f"{kind}: {', '.join(shown[:6])}{more}")
        table.add_row(str(r.document_id), f"{r.score:.2f}", Text(r.title), Text("\n".join(lines)))
    out.print(table)


@corpus_app.command("layer")
def corpus_layer(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the layer JSON.")],
    technique: TechOpt = None,
    group: GroupOpt = None,
    software: SoftOpt = None,
    ioc: IocOpt = None,
    cve: CveOpt = None,
    since: SinceOpt = None,
    name: Annotated[str, typer.Option("--name", help="Layer name.")] = "",
    store_url: StoreOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """One Navigator layer of technique frequencies over the selected documents."""
    from ttpmap.publish.corpus_layer import corpus_layer as build
    from ttpmap.publish.corpus_layer import to_json
    from ttpmap.store.query import technique_counts

    filters = _filters(technique, group, software, ioc, cve, since)
    with open_cli_store(store_url) as store:
        total, counts = technique_counts(store, filters)
    if total == 0:
        raise UsageError("no stored document matches the filters; nothing to draw")
    kb = _load_kb(attack, domain)
    layer = build(total, counts, kb, name=name, selection=_describe(filters))
    output.write_text(to_json(layer), encoding="utf-8")
    err.print(f"Wrote {output} ({len(counts)} techniques over {total} documents)")


@corpus_app.command("summary")
def corpus_summary(
    technique: TechOpt = None,
    group: GroupOpt = None,
    software: SoftOpt = None,
    ioc: IocOpt = None,
    cve: CveOpt = None,
    since: SinceOpt = None,
    top: Annotated[int, typer.Option("--top", help="Rows per table.")] = 10,
    fmt: TableJsonOpt = "table",
    store_url: StoreOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """Top techniques, groups, software and mitigations across the selected documents."""
    from dataclasses import asdict

    from ttpmap.store.query import summary

    _check_format(fmt)
    filters = _filters(technique, group, software, ioc, cve, since)
    with open_cli_store(store_url) as store:
        result = summary(store, filters, top=top)
    if fmt == "json":
        sys.stdout.write(json.dumps(asdict(result), indent=2, ensure_ascii=False) + "\n")
        return
    out.print(f"{result.documents} documents" + (f" ({_describe(filters)})" if _describe(filters) else ""))
    kb = _load_kb(attack, domain)
    names = {t: kb.techniques[t].name for t, _ in result.techniques if t in kb.techniques}
    sections = (
        ("Techniques", [(t, names.get(t, ""), n) for t, n in result.techniques]),
        ("Groups named in the text", result.groups_named),
        ("Groups attributed first (behaviour)", result.groups_attributed),
        ("Software", result.software),
        ("Mitigations", result.mitigations),
    )
    for title, rows in sections:
        if not rows:
            continue
        table = Table(title=title, expand=False)
        table.add_column("ID")
        table.add_column("Name", max_width=50, overflow="fold")
        table.add_column("Documents", justify="right")
        for ident, label, n in rows:
            table.add_row(ident, Text(label), str(n))
        out.print(table)


@app.command()
def hunt(
    doc: Annotated[
        str | None, typer.Argument(help="Stored document (ID, sha256 prefix or file); or use --techniques.")
    ] = None,
    techniques: Annotated[
        str | None, typer.Option("--techniques", help="Comma list of observed technique IDs instead of DOC.")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="How many suggestions.")] = 10,
    no_store: Annotated[bool, typer.Option("--no-store", help="Use ATT&CK co-occurrence only.")] = False,
    fmt: TableJsonOpt = "table",
    store_url: StoreOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = "enterprise",
) -> None:
    """Techniques to hunt for: those that usually accompany the observed ones (ATT&CK + the store)."""
    from ttpmap.hunt import default_hunt
    from ttpmap.store.query import resolve_document, technique_sets

    _check_format(fmt)
    if (doc is None) == (techniques is None):
        raise UsageError("give either DOC or --techniques")
    kb = _load_kb(attack, domain)
    baskets: dict[int, set[str]] = {}
    doc_id = None
    if doc is not None or not no_store:
        with open_cli_store(store_url) as store:
            doc_id = resolve_document(store, doc) if doc is not None else None
            baskets = technique_sets(store)
    if techniques is not None:
        observed = set()
        for raw in techniques.split(","):
            if raw.strip():
                tid = kb.resolve(raw.strip())
                if tid is None or tid not in kb.techniques:
                    raise UsageError(f"unknown or deprecated technique ID {raw.strip()!r}")
                observed.add(tid)
    else:
        observed = baskets.get(doc_id, set()) if doc_id is not None else set()
    if not observed:
        raise UsageError("no observed techniques to start from")
    stored = [] if no_store else [b for d, b in baskets.items() if d != doc_id]
    suggestions = default_hunt(kb, stored).suggest(observed, top)
    if fmt == "json":
        rows = [{"id": s.id, "score": s.score, "because": list(s.because)} for s in suggestions]
        sys.stdout.write(json.dumps({"observed": sorted(observed), "hunt_for": rows}, indent=2) + "\n")
        return
    table = Table(title=f"Hunt for (not observed; usually seen with these {len(observed)} techniques)")
    table.add_column("ID", style="bold cyan")
    table.add_column("Technique", max_width=40, overflow="fold")
    table.add_column("Score", justify="right")
    table.add_column("Usually seen with", max_width=40, overflow="fold")
    for s in suggestions:
        name = kb.techniques[s.id].name if s.id in kb.techniques else ""
        table.add_row(s.id, Text(name), f"{s.score:.2f}", ", ".join(s.because))
    out.print(table)
