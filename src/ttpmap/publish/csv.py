"""CSV tables of techniques and indicators, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis
from ttpmap.publish.context import best_evidence, tactics_of
from ttpmap.publish.indicators import display, label
from ttpmap.publish.markup import csv_cell, one_line

TECHNIQUE_COLUMNS = ("id", "name", "tactics", "score", "origin", "evidence", "evidence_start", "evidence_end")
IOC_COLUMNS = (
    "type",
    "kind",
    "value",
    "defanged",
    "disposition",
    "role",
    "reason",
    "warninglists",
    "private",
    "count",
    "evidence",
    "evidence_start",
    "evidence_end",
)


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(one_line(v) if isinstance(v, str) else v) for v in row])
    return out.getvalue()


def techniques_csv(analysis: Analysis, kb: KnowledgeBase | None = None) -> str:
    """One row per technique with its tactics and best evidence sentence."""
    rows = []
    for t in analysis.techniques:
        best = best_evidence(t)
        rows.append(
            (
                t.id,
                t.name,
                ";".join(tactics_of(t, kb)),
                round(t.score, 4),
                t.origin,
                best.text if best else "",
                best.start if best else "",
                best.end if best else "",
            )
        )
    return _table(TECHNIQUE_COLUMNS, rows)


def iocs_csv(analysis: Analysis) -> str:
    """One row per indicator: type, refanged value, defanged form, disposition (only ``actor`` rows
    belong in blocklists), role, reason, warning lists hit and the evidence of its first mention."""
    rows = []
    for ioc in analysis.iocs:
        ev = ioc.evidence
        rows.append(
            (
                label(ioc.type),
                str(ioc.type),
                ioc.value,
                display(ioc),
                str(ioc.disposition),
                str(ioc.role or ""),
                ioc.reason,
                ";".join(ioc.warninglists),
                "yes" if ioc.private else "",
                ioc.count,
                ev.text if ev else "",
                ev.start if ev else "",
                ev.end if ev else "",
            )
        )
    return _table(IOC_COLUMNS, rows)
