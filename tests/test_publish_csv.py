"""CSV export and spreadsheet formula-injection protection."""

from __future__ import annotations

import csv
import io

import pytest

from ttpmap.models import Evidence, Indicator, IocEvidence
from ttpmap.publish.csv import iocs_csv, techniques_csv
from ttpmap.publish.markup import csv_cell


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=x", "\r=x", '=HYPERLINK("x")'])
def test_formula_prefixes_are_neutralised(value):
    assert csv_cell(value) == "'" + value


def test_safe_values_and_numbers_pass():
    assert csv_cell("T1190") == "T1190"
    assert csv_cell(-0.5) == -0.5


def test_ioc_table(analysis_apt):
    rows = _rows(iocs_csv(analysis_apt))
    assert len(rows) == len(analysis_apt.iocs)
    formula = next(r for r in rows if r["kind"] == "filename")
    assert formula["value"] == '\'=HYPERLINK("x")'
    url = next(r for r in rows if r["kind"] == "url")
    assert url["defanged"].startswith("hxxps://") and "[.]" in url["defanged"]
    assert next(r for r in rows if r["value"] == "203.0.113.57")["private"] == "yes"


def test_technique_table(kb, analysis_apt):
    rows = _rows(techniques_csv(analysis_apt, kb))
    assert [r["id"] for r in rows] == [t.id for t in analysis_apt.techniques]
    assert rows[0]["tactics"] == "initial-access"
    assert float(rows[0]["score"]) == analysis_apt.techniques[0].score
    assert all("\n" not in r["evidence"] for r in rows)


def test_injected_cells_in_every_column(kb, analysis_apt):
    first = analysis_apt.techniques[0].model_copy(
        update={
            "name": "=cmd|' /C calc'!A0",
            "evidence": [Evidence(text="@SUM(1)\nline two", start=0, end=5, score=1.0)],
        }
    )
    hostile = analysis_apt.model_copy(
        update={
            "techniques": [first, *analysis_apt.techniques[1:]],
            "iocs": [
                Indicator(
                    type="filename",
                    value="+evil",
                    defanged="+evil",
                    reason="-2+3",
                    evidence=IocEvidence(text="=cmd|x", start=0, end=6),
                )
            ],
        }
    )
    tech = _rows(techniques_csv(hostile, kb))[0]
    assert tech["name"].startswith("'=") and tech["evidence"] == "'@SUM(1) line two"
    ioc = _rows(iocs_csv(hostile))[0]
    assert ioc["value"] == "'+evil" and ioc["reason"] == "'-2+3" and ioc["evidence"] == "'=cmd|x"
