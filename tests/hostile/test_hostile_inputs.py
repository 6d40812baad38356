"""Hostile inputs end in bounded time with one honest line (issue #11, defects 1, 4, 5, 9-12).

Each case is a small version of a huge one (benchmarks/hostile.py runs the full sizes). Time bounds
are generous ceilings that catch a hang, not benchmarks.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import hostile_cases as cases
import pytest

from ttpmap.config import Limits
from ttpmap.errors import InputError, InputTooLarge, UsageError
from ttpmap.ingest import load, read_stream

CEILING = 60.0  # seconds: far above the budgets used here, far below "hangs"


def load_error(name: str, data: bytes | None = None, **limits: float) -> tuple[InputError, float]:
    """Load expecting an InputError; return it and the seconds taken; check it is one honest line."""
    started = time.monotonic()
    with pytest.raises(InputError) as raised:
        load(name, data=data, limits=Limits(**limits))  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{name}: ")
    assert "Traceback" not in message and "XML_PARSE_HUGE" not in message
    assert elapsed < CEILING
    return raised.value, elapsed


# --- 1. streams are read with a cap -------------------------------------------------------------


def test_endless_pipe_stops_at_the_byte_limit() -> None:
    read_end, write_end = os.pipe()
    stop = threading.Event()

    def flood() -> None:
        chunk = b"The actor used RDP.\n" * 4096
        try:
            while not stop.is_set():
                os.write(write_end, chunk)
        except OSError:  # the reader closed the pipe
            pass

    writer = threading.Thread(target=flood, daemon=True)
    writer.start()
    try:
        with pytest.raises(InputTooLarge) as raised:
            read_stream(read_end, Limits(max_bytes=2**20, max_seconds=30))
    finally:
        stop.set()
        os.close(read_end)
        writer.join(10)
        os.close(write_end)
    assert str(raised.value) == (
        "-: input is larger than the 1 MB limit and was not read further (TTPMAP_MAX_BYTES)"
    )


def test_stalled_pipe_ends_at_the_time_limit() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"The actor used RDP.\n")  # some data, then silence without end of file
    try:
        started = time.monotonic()
        with pytest.raises(InputTooLarge, match=r"did not end within 1 s \(TTPMAP_MAX_SECONDS\)"):
            read_stream(read_end, Limits(max_seconds=1))
        assert time.monotonic() - started < CEILING
    finally:
        os.close(read_end)
        os.close(write_end)


def test_fifo_without_a_writer_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "report.md"
    os.mkfifo(fifo)
    error, _ = load_error(str(fifo), max_seconds=1)
    assert "TTPMAP_MAX_SECONDS" in str(error)


# --- 4. every reader keeps to the budget --------------------------------------------------------


def test_docx_with_too_many_paragraphs_is_refused_before_reading_them() -> None:
    error, _ = load_error("many.docx", cases.docx_paragraphs(3000), max_elements=1000)
    assert "3,000 paragraphs and table rows, over the 1,000 limit (TTPMAP_MAX_ELEMENTS)" in str(error)


def test_slow_docx_stops_at_the_time_limit() -> None:
    # 60k paragraphs take python-docx well over a second; the budget here is 1 s.
    error, _ = load_error("slow.docx", cases.docx_paragraphs(60_000), max_seconds=1)
    assert isinstance(error, InputTooLarge) and "TTPMAP_MAX_SECONDS" in str(error)


def test_docx_bomb_is_refused_by_its_declared_size() -> None:
    error, _ = load_error("bomb.docx", cases.docx_bomb(3), max_expanded_bytes=2**20)
    assert isinstance(error, InputTooLarge)
    assert "over the 1 MB limit (TTPMAP_MAX_EXPANDED_BYTES)" in str(error)


def test_docx_member_lying_about_its_size_is_caught_while_inflating() -> None:
    # Declares 1,000 bytes, inflates to 40 MB: refused as corrupt before python-docx reads it in one
    # piece, and within a memory budget far below 40 MB.
    error, _ = load_error("liar.docx", cases.docx_lying_size(40), max_memory_mb=32)
    assert str(error).startswith("liar.docx: corrupt DOCX (") and "CRC" in str(error)


def test_html_with_too_many_elements_is_refused_before_parsing() -> None:
    error, _ = load_error("spans.html", cases.html_elements(5000), max_elements=1000)
    assert "over the 1,000 limit (TTPMAP_MAX_ELEMENTS)" in str(error)


def test_html_over_the_character_limit_is_refused_before_parsing() -> None:
    error, _ = load_error("big.html", cases.html_repeated(2000), max_chars=50_000)
    assert "over the 50,000-character limit (TTPMAP_MAX_CHARS)" in str(error)


def test_stix_with_too_many_objects() -> None:
    objects = ",".join(f'{{"type": "note", "id": "note--{i}"}}' for i in range(50))
    bundle = f'{{"type": "bundle", "objects": [{objects}]}}'.encode()
    error, _ = load_error("many.json", bundle, max_elements=10)
    assert "50 objects, over the 10 limit (TTPMAP_MAX_ELEMENTS)" in str(error)


# --- 5. one slow PDF page is interrupted ----------------------------------------------------------


def test_slow_pdf_page_stops_at_the_time_limit() -> None:
    error, _ = load_error("slow.pdf", cases.pdf_repeated_text(60_000), max_seconds=1)
    assert isinstance(error, InputTooLarge) and "TTPMAP_MAX_SECONDS" in str(error)
    assert "corrupt" not in str(error)


# --- 9. limits are validated when read ------------------------------------------------------------


def test_limits_parse_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTPMAP_MAX_SECONDS", "0.5")
    monkeypatch.setenv("TTPMAP_MAX_BYTES", "1_000_000")
    limits = Limits.from_env()
    assert limits.max_seconds == 0.5 and limits.max_bytes == 1_000_000
    for name, value, why in (
        ("TTPMAP_MAX_BYTES", "abc", "is not a whole number"),
        ("TTPMAP_MAX_PAGES", "2.5", "is not a whole number"),
        ("TTPMAP_MAX_SECONDS", "soon", "is not a number of seconds"),
        ("TTPMAP_MAX_SECONDS", "0", "must be greater than zero"),
        ("TTPMAP_MAX_CHARS", "-5", "must be greater than zero"),
        ("TTPMAP_MAX_SECONDS", "nan", "must be greater than zero"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(UsageError) as raised:
            Limits.from_env()
        assert str(raised.value) == f"{name}={value!r} {why}"
        monkeypatch.delenv(name)


# --- 10. HTML content is never lost silently ------------------------------------------------------


def test_repeated_paragraphs_are_kept() -> None:
    doc = load("repeated.html", data=cases.html_repeated(400), limits=Limits())
    assert doc.text.count("second-stage loader") == 400


def test_deep_nesting_is_read_or_reported() -> None:
    doc = load("deep.html", data=cases.html_deep(400), limits=Limits())
    assert doc.text.count("Paragraph") == 200
    error, _ = load_error("deeper.html", cases.html_deep(3000))
    assert "no text could be extracted" in str(error) and "nesting deeper than 2,048 levels" in str(error)


def test_partly_lost_page_carries_a_warning() -> None:
    # Text above the 2,048-level cut survives; the much larger part below it does not.
    page = b"<html><body><p>" + b"The actor used RDP to move laterally. " * 30 + b"</p>"
    page += cases.html_deep(3000, paragraphs=400).removeprefix(b"<html><body>")
    doc = load("partial.html", data=page, limits=Limits())
    assert "RDP" in doc.text
    (warning,) = doc.metadata["warnings"]
    assert warning.startswith("only ") and "characters of the page's text could be extracted" in warning


# --- 11. limits are checked as the work proceeds ------------------------------------------------


def test_pdf_text_is_counted_page_by_page() -> None:
    pdf = cases.pdf_repeated_text(500)
    error, _ = load_error("long.pdf", pdf, max_chars=5000)
    assert "over the 5,000-character limit (TTPMAP_MAX_CHARS)" in str(error)


# --- 12. honest causes ------------------------------------------------------------------------


def test_pdf_parser_safety_limit_is_not_called_corruption() -> None:
    # pypdf refuses arrays of over 100,000 elements: a resource limit, not a corrupt file.
    data = cases.pdf_repeated_text(10, page_extra=b"/X [" + b"0 " * 100_001 + b"]")
    error, _ = load_error("limited.pdf", data)
    assert isinstance(error, InputTooLarge)
    assert "safety limit of the PDF parser" in str(error) and "corrupt" not in str(error)


def test_deep_docx_message_has_no_parser_jargon() -> None:
    body = "<w:p><w:r><w:t>x</w:t></w:r></w:p>"
    nested = "<w:sdt><w:sdtContent>" * 300 + body + "</w:sdtContent></w:sdt>" * 300
    data = cases._docx(cases._DOC_HEAD + nested + cases._DOC_TAIL)
    try:
        load("deep.docx", data=data, limits=Limits())
    except InputError as exc:
        assert "XML_PARSE_HUGE" not in str(exc) and "\n" not in str(exc)


def test_oversized_stdin_is_not_described_by_the_bytes_read() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"x" * 20_000)
    os.close(write_end)
    try:
        with pytest.raises(InputTooLarge) as raised:
            read_stream(read_end, Limits(max_bytes=8192))
    finally:
        os.close(read_end)
    assert "larger than the 8 KB limit" in str(raised.value)


# --- the worker: deadline, memory cap, crashes ----------------------------------------------------


def test_worker_is_killed_at_the_deadline() -> None:
    from ttpmap.ingest.bounded import run_bounded

    started = time.monotonic()
    with pytest.raises(InputTooLarge, match=r"reading took over 1 s and was stopped \(TTPMAP_MAX_SECONDS\)"):
        run_bounded(lambda: {"slept": time.sleep(60)}, Limits(max_seconds=1), "slow")
    assert time.monotonic() - started < CEILING


def test_worker_memory_is_capped() -> None:
    from ttpmap.ingest.bounded import run_bounded

    with pytest.raises(InputTooLarge, match=r"more than 64 MB of memory .*TTPMAP_MAX_MEMORY_MB"):
        run_bounded(lambda: {"size": len(bytearray(512 * 2**20))}, Limits(max_memory_mb=64), "big")


def test_worker_crash_is_this_inputs_error() -> None:
    from ttpmap.ingest.bounded import run_bounded

    with pytest.raises(InputError, match="the reader stopped unexpectedly"):
        run_bounded(lambda: os._exit(7), Limits(), "crash")
    with pytest.raises(InputError, match=r"could not be read \(KeyError: 'x'\)"):
        run_bounded(lambda: {}["x"], Limits(), "bug")
