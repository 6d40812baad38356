"""Property tests (hypothesis): defang/refang, offsets, and the CSV and Markdown escapers."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ttpmap.ingest import from_text  # noqa: E402
from ttpmap.publish.csv import _table as table  # noqa: E402
from ttpmap.publish.indicators import defang, refang  # noqa: E402
from ttpmap.publish.markup import FORMULA_PREFIXES, csv_cell, md_escape, one_line  # noqa: E402
from ttpmap.text import split_sentences  # noqa: E402

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
DOMAIN = st.builds(lambda labels, tld: ".".join([*labels, tld]), st.lists(LABEL, min_size=1, max_size=3),
                   st.sampled_from(["com", "net", "org", "io", "ru"]))  # fmt: skip
IPV4 = st.builds(lambda p: ".".join(map(str, p)), st.lists(st.integers(0, 255), min_size=4, max_size=4))
PATH = st.from_regex(r"(/[A-Za-z0-9_.~%-]{0,12}){0,4}(\?[a-z]=[a-z0-9]{1,5})?", fullmatch=True)
URL = st.builds(lambda scheme, host, path: f"{scheme}://{host}{path}",
                st.sampled_from(["http", "https", "HTTP", "ftp"]), DOMAIN | IPV4, PATH)  # fmt: skip
EMAIL = st.builds(lambda local, domain: f"{local}@{domain}", LABEL, DOMAIN)
INDICATORS = st.one_of(
    st.tuples(st.just("ipv4"), IPV4),
    st.tuples(st.just("domain"), DOMAIN),
    st.tuples(st.just("url"), URL),
    st.tuples(st.just("email"), EMAIL),
)
LIVE = re.compile(r"(?i)\b(?:https?|ftp)://|\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b|@[a-z0-9-]+\.[a-z]")


def _scheme_lower(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    return scheme.lower() + sep + rest if sep else value


@given(INDICATORS)
def test_defang_round_trip_idempotent_and_inert(indicator: tuple[str, str]) -> None:
    kind, value = indicator
    shown = defang(value, kind)
    # URL schemes are case-insensitive (RFC 3986) and the defanger writes them in lower case.
    assert _scheme_lower(refang(shown)) == _scheme_lower(value)
    assert defang(shown, kind) == shown
    assert not LIVE.search(shown), shown


REPORT_TEXT = st.lists(
    st.sampled_from(
        ["The actor used T1059.001 to run scripts.", "See e.g. Fig. 3.", "Mr. Smith saw it!", "1. First",
         "- item", "\n", "\n\n", "Ok?", "  ", "U.S. agencies", "v2.1.3 was used", "C:\\Temp\\a.exe", "…"]
    ),
    max_size=40,
).map(" ".join)  # fmt: skip


@given(REPORT_TEXT | st.text(max_size=400))
def test_sentence_offsets_point_at_their_text(text: str) -> None:
    for sentence in split_sentences(text):
        assert text[sentence.start : sentence.end] == sentence.text


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(REPORT_TEXT)
def test_evidence_offsets_point_at_their_text(kb, text: str) -> None:
    from ttpmap.extract.attack_ids import find_attack_ids

    doc = from_text(text)
    for technique in find_attack_ids(doc, kb):
        for evidence in technique.evidence:
            assert doc.text[evidence.start : evidence.end] == evidence.text


@given(st.text(max_size=200))
def test_csv_cells_never_start_a_formula(value: str) -> None:
    cell = csv_cell(value)
    assert not str(cell).startswith(FORMULA_PREFIXES)
    assert cell == value or cell == "'" + value


@given(st.lists(st.lists(st.text(max_size=40), min_size=2, max_size=2), max_size=5))
def test_csv_table_round_trips_one_line_cells(rows: list[list[str]]) -> None:
    text = table(["a", "b"], rows)
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == ["a", "b"] and len(parsed) == len(rows) + 1
    for written, original in zip(parsed[1:], rows, strict=True):
        assert written == [str(csv_cell(one_line(v))) for v in original]


def _commonmark_unescape(text: str) -> str:
    """What a CommonMark renderer shows for escaped inline text: backslash escapes and entities undone."""
    text = re.sub(r"\\(.)", r"\1", text)
    return re.sub(r"&(#?\w+);", lambda m: html.unescape(m.group(0)), text)


@given(st.text(max_size=300))
def test_markdown_escape_is_inert_and_lossless(text: str) -> None:
    escaped = md_escape(text)
    assert "\n" not in escaped and "<" not in escaped and ">" not in escaped
    assert not re.search(r"(?<!\\)(?:\\\\)*\|", escaped)  # every pipe is escaped: table cells hold
    assert _commonmark_unescape(escaped) == one_line(text)
