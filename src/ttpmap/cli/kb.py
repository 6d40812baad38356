"""`ttpmap kb`: inspect and update the ATT&CK knowledge base."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ttpmap.cli.app import AttackOpt, Domain, DomainOpt, TableJson, TableJsonOpt, _load_kb, err, kb_app, out
from ttpmap.cli.views import _label
from ttpmap.errors import UsageError


@kb_app.command("info")
def kb_info(
    attack: AttackOpt = None,
    domain: DomainOpt = Domain.enterprise,
    fmt: TableJsonOpt = TableJson.table,
) -> None:
    """Source, domain, version, sha256 and counts of the knowledge base in use."""
    kb = _load_kb(attack, domain)
    info = kb.info
    if fmt == TableJson.json:
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
    domain: DomainOpt = Domain.enterprise,
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
    domain: DomainOpt = Domain.enterprise,
    fmt: TableJsonOpt = TableJson.table,
) -> None:
    """Details of one ATT&CK object and its relations."""
    from ttpmap.kb.describe import describe

    kb = _load_kb(attack, domain)
    obj = kb.get(attack_id)
    if obj is None:
        raise UsageError(f"{attack_id} is not an active {domain} ATT&CK ID in v{kb.info.version}")
    details = describe(kb, obj)
    if fmt == TableJson.json:
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
    domain: DomainOpt = Domain.enterprise,
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
