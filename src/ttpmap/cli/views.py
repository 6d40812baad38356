"""Rich views of analyses, attributions and mitigations for the terminal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from ttpmap.cli.app import out
from ttpmap.models import GroupCandidate, MitigationResult, StatedAttribution


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
        actor = sum(1 for i in a.iocs if i.actionable)
        t = Table(title=f"Indicators ({actor} of the actor's, {len(a.iocs)} in all, defanged)", expand=False)
        t.add_column("Type")
        t.add_column("Indicator", overflow="fold", max_width=70)
        t.add_column("Disposition")
        t.add_column("Role")
        for ioc in sorted(a.iocs, key=lambda i: not i.actionable)[:25]:
            t.add_row(str(ioc.type), escape(ioc.defanged), str(ioc.disposition), str(ioc.role or ""))
        if len(a.iocs) > 25:
            t.add_row("…", f"{len(a.iocs) - 25} more in --format json")
        out.print(t)
    render_stated(a.stated_attribution, a.attribution)
    if a.attribution:
        t = Table(title="Attribution: groups whose tradecraft is consistent", expand=False)
        t.add_column("Group", style="bold")
        t.add_column("Score", justify="right")
        t.add_column("Confidence")
        t.add_column("Named")
        t.add_column("Why", max_width=80, overflow="fold")
        for g in a.attribution:
            why = g.explanation.summary
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
        out.print(mitigation_table(a.mitigations, "Mitigations (by coverage of observed techniques)"))


def mitigation_table(mitigations: Iterable[MitigationResult], title: str, covers_width: int = 60) -> Table:
    """Ranked mitigations: ID, name, coverage layer, the share each adds and what it covers."""
    t = Table(title=title, expand=False)
    t.add_column("ID", style="bold green")
    t.add_column("Mitigation")
    t.add_column("Layer", justify="right")
    t.add_column("Adds", justify="right")
    t.add_column("Covers", max_width=covers_width, overflow="fold")
    for m in mitigations:
        t.add_row(m.id, escape(m.name), str(m.layer), f"{m.score:.0%}", ", ".join(m.covers))
    return t


def render_stated(stated: StatedAttribution, attribution: list[GroupCandidate]) -> None:
    """What the report itself says about the actor, then ttpmap's independent check of it."""
    from ttpmap.publish.wording import behavioural_check, stated_lead

    lead = stated_lead(stated)
    if lead is None:
        return
    out.print(f"[bold]The report's attribution:[/bold] {escape(lead)}")
    check = behavioural_check(stated, attribution)
    if check:
        out.print(f"[bold]ttpmap's behavioural check:[/bold] {escape(check)}")
    others = [g for g in stated.groups if g.role != "responsible"]
    if others:
        out.print(
            "[dim]Other groups named: "
            + escape("; ".join(f"{g.name} ({g.role})" for g in others[:6]))
            + "[/dim]"
        )


def _label(value: Any) -> str:
    if isinstance(value, dict):
        ident, name = value.get("id", ""), value.get("name", "")
        return f"{ident} {name}".strip() if name and name != ident else str(ident or name or value)
    return str(value)
