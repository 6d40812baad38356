"""`ttpmap attribute` and `ttpmap mitigate`: groups and defences for a report or explicit evidence."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ttpmap.cli.app import (
    AttackOpt,
    Domain,
    DomainOpt,
    ModelOpt,
    TableJson,
    TableJsonOpt,
    _load_kb,
    _load_model,
    app,
    out,
)
from ttpmap.cli.views import mitigation_table
from ttpmap.errors import UsageError
from ttpmap.models import AttributionReport, MitigationReport


def _split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _findings_for(path: str, kb: Any, model_name: str | None, attributor: Any = None) -> Any:
    """Findings from a saved analysis JSON or a report (``-`` reads stdin)."""
    from ttpmap.pipeline import load_findings

    data = sys.stdin.buffer.read() if path == "-" else None
    return load_findings(path, kb, lambda: _load_model(kb, model_name), data=data, attributor=attributor)


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
    fmt: TableJsonOpt = TableJson.table,
    model_name: ModelOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = Domain.enterprise,
) -> None:
    """Rank threat groups whose tradecraft is consistent with a report or explicit evidence."""
    from ttpmap.pipeline import default_attributor, findings_from_evidence

    kb = _load_kb(attack, domain)
    attributor = default_attributor(kb)
    if report:
        findings = _findings_for(report, kb, model_name, attributor)
    elif techniques or software or cve:
        findings = findings_from_evidence(
            kb, _split_list(techniques), _split_list(software), _split_list(cve)
        )
    else:
        raise UsageError("give a report, an analysis JSON, or --techniques/--software/--cve")
    groups = attributor.rank(findings, kb, top=top, include_weak=True)
    campaigns = attributor.rank_campaigns(findings, kb)
    if fmt == TableJson.json:
        payload = AttributionReport(
            stated_attribution=findings.stated, attribution=groups, campaigns=campaigns
        )
        sys.stdout.write(payload.to_json() + "\n")
        return
    if findings.stated.groups:
        from ttpmap.cli.views import render_stated

        render_stated(findings.stated, groups)
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
        ex = g.explanation
        parts = [ex.summary]
        for key, vals in (
            ("shared software", [f"{s.id} {s.name}" if s.name != s.id else s.id for s in ex.shared_software]),
            ("distinctive techniques", ex.distinctive_techniques),
            ("shared cves", ex.shared_cves),
        ):
            if vals:
                parts.append(f"{key}: " + ", ".join(vals[:6]))
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


@app.command()
def mitigate(
    items: Annotated[
        list[str], typer.Argument(help="Technique IDs (T1190 T1505.003 …), a report, or an analysis JSON.")
    ],
    limit: Annotated[int, typer.Option(help="How many mitigations and detections to list.")] = 10,
    fmt: TableJsonOpt = TableJson.table,
    model_name: ModelOpt = None,
    attack: AttackOpt = None,
    domain: DomainOpt = Domain.enterprise,
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
    if fmt == TableJson.json:
        sys.stdout.write(MitigationReport(mitigations=mitigations, detections=detections).to_json() + "\n")
        return
    out.print(mitigation_table(mitigations, f"Mitigations for {len(techniques)} techniques", covers_width=50))
    t = Table(title="Detections (data components to watch)", expand=False)
    t.add_column("Data component", style="bold")
    t.add_column("Covers", max_width=40, overflow="fold")
    t.add_column("Log sources", max_width=60, overflow="fold")
    for d in detections:
        name = f"{d.data_source}: {d.name}" if d.data_source else d.name
        t.add_row(escape(name), ", ".join(d.covers), escape("; ".join(d.log_sources[:4])))
    out.print(t)
