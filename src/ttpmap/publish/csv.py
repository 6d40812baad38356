"""CSV tables of techniques and indicators, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis
from ttpmap.publish.context import best_evidence, tactics_of
from ttpmap.publish.indicators import display, is_private_ip, kind_of, label
from ttpmap.publish.markup import csv_cell, one_line

TECHNIQUE_COLUMNS = ("id", "name", "tactics", "score", "origin", "evidence", "evidence_start", "evidence_end")
IOC_COLUMNS = ("type", "kind", "value", "defanged", "private")


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
    """One row per indicator: its type, refanged value and defanged form."""
    rows = []
    for ioc in analysis.iocs:
        kind = kind_of(ioc.type)
        private = kind in ("ipv4", "ipv6", "socket-address") and is_private_ip(ioc.value)
        rows.append(
            (
                label(ioc.type),
                kind,
                ioc.value,
                display(ioc.type, ioc.value, ioc.defanged),
                "yes" if private else "",
            )
        )
    return _table(IOC_COLUMNS, rows)
