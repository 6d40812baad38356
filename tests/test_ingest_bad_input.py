"""Untrusted input: every bad file fails with a one-line InputError naming the file, or reads sensibly."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import pytest

from ttpmap.config import Limits
from ttpmap.errors import InputError, InputTooLarge, UnsupportedInput
from ttpmap.ingest import load

LIMITS = Limits()


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def load_error(path: Path, *, limits: Limits = LIMITS, kind: type[InputError] = InputError) -> InputError:
    """Load ``path`` expecting ``kind``; check the message is one line and names the file."""
    with pytest.raises(kind) as raised:
        load(path, limits=limits)
    error = raised.value
    assert error.source == str(path)
    assert "\n" not in str(error) and str(error).startswith(f"{path}: ")
    return error


def make_pdf(lines: list[str], pages: int = 1) -> bytes:
    pytest.importorskip("reportlab")
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for _ in range(pages):
        for i, line in enumerate(lines):
            pdf.drawString(72, 760 - 14 * i, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.mark.parametrize("content", [b"", b"   \n\t\r\n  ", b"\xef\xbb\xbf\n"])
def test_empty_input(tmp_path: Path, content: bytes) -> None:
    assert str(load_error(write(tmp_path, "empty.txt", content))).endswith(": empty input")


def test_random_bytes_are_rejected_as_not_text(tmp_path: Path) -> None:
    junk = random.Random(0).randbytes(4096)
    error = load_error(write(tmp_path, "junk.bin", junk), kind=UnsupportedInput)
    assert "not text" in str(error)


def test_nul_bytes_and_control_characters_are_binary(tmp_path: Path) -> None:
    assert "binary data" in str(load_error(write(tmp_path, "nul.txt", b"report\x00\x00text")))
    controls = bytes(range(1, 9)) * 200 + b"some words"
    assert "binary data" in str(load_error(write(tmp_path, "ctl.txt", controls), kind=UnsupportedInput))


def test_truncated_pdf(tmp_path: Path) -> None:
    pdf = make_pdf(["The actor used RDP to move laterally."])
    error = load_error(write(tmp_path, "cut.pdf", pdf[: len(pdf) // 2]))
    assert "corrupt or truncated PDF" in str(error)


def test_pdf_with_a_user_password_is_refused(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret report text."]))))
    writer.encrypt(user_password="s3cret")
    buffer = io.BytesIO()
    writer.write(buffer)
    error = load_error(write(tmp_path, "locked.pdf", buffer.getvalue()))
    assert "encrypted PDF" in str(error)


def test_pdf_without_text_looks_scanned(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "scan.pdf", make_pdf([], pages=2)))
    assert str(error).endswith("no extractable text (scanned PDF?)")


def test_pdf_page_and_time_limits(tmp_path: Path) -> None:
    path = write(tmp_path, "long.pdf", make_pdf(["Some text on every page."], pages=3))
    error = load_error(path, limits=Limits(max_pdf_pages=2), kind=InputTooLarge)
    assert "3 pages, over the 2-page limit (TTPMAP_MAX_PAGES)" in str(error)
    error = load_error(path, limits=Limits(max_seconds=0), kind=InputTooLarge)
    assert "TTPMAP_MAX_SECONDS" in str(error)


SCRIPTED_HTML = """<html><head><title>t</title>
<script>window.LEAK_HEAD = 1;</script><script type="text/template"><p>LEAK_TEMPLATE paragraph</p></script>
</head><body onload="LEAK_ONLOAD()"><article>
<p>The actor abused a web shell on an exposed server to run commands and to upload tools.</p>
<script>document.write("<p>LEAK_WRITE appears as a paragraph once executed</p>")</script>
<noscript><p>LEAK_NOSCRIPT enable javascript to see this page</p></noscript>
<template><p>LEAK_TPL hidden template text</p></template>
<p>It then dumped credentials with a renamed copy of a well known tool.</p>
<style>p::before { content: "LEAK_CSS" }</style>
</article></body></html>"""


@pytest.mark.parametrize("extractor", ["trafilatura", "lxml"])
def test_html_script_content_never_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extractor: str
) -> None:
    if extractor == "lxml":
        monkeypatch.setattr("trafilatura.extract", lambda *args, **kwargs: None)
    doc = load(write(tmp_path, "scripted.html", SCRIPTED_HTML))
    assert doc.metadata["extractor"] == extractor
    assert "web shell" in doc.text and "dumped credentials" in doc.text
    assert "LEAK" not in doc.text


def test_html_with_control_characters_and_old_mac_line_ends(tmp_path: Path) -> None:
    page = "<html><body><p>The actor\x0b used\x01 RDP to move laterally between hosts.</p></body></html>"
    assert "used RDP" in load(write(tmp_path, "ctl.html", page)).text
    doc = load(write(tmp_path, "mac.txt", b"First line.\rSecond line.\r"))
    assert [s.text for s in doc.sentences] == ["First line.", "Second line."]


def test_cp1252_text_decodes(tmp_path: Path) -> None:
    raw = "Résumé of the “Café” campaign – the actor’s implant beaconed to café[.]example.\n".encode("cp1252")
    doc = load(write(tmp_path, "western.txt", raw))
    assert doc.metadata["encoding"] == "cp1252"
    assert "“Café” campaign – the actor’s implant" in doc.text


@pytest.mark.parametrize(
    "raw",
    [
        "攻撃者はスピアフィッシングメールを送信し、マルウェアを実行させた。".encode("shift_jis") * 20,
        bytes(random.Random(1).randrange(0x80, 0x100) for _ in range(2000)),
    ],
    ids=["shift-jis", "random-high-bytes"],
)
def test_other_encodings_give_text_or_a_clear_error(tmp_path: Path, raw: bytes) -> None:
    path = write(tmp_path, "foreign.txt", raw)
    try:
        doc = load(path)
    except UnsupportedInput as error:
        assert str(error) == f"{path}: not text: undecodable bytes"
    else:
        assert doc.text and "\x00" not in doc.text and len(doc.sentences) >= 1


def test_stray_bytes_in_utf8_are_replaced(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "stray.txt", b"The actor used RDP. " * 50 + b"\x81\x82 end."))
    assert doc.text.count("\ufffd") == 2 and doc.metadata["encoding"].startswith("utf-8")


def test_one_line_of_10_mb_is_not_a_report(tmp_path: Path) -> None:
    path = write(tmp_path, "minified.txt", b"a" * (10 * 2**20))
    error = load_error(path)
    assert str(error).endswith(f"not a report: one line of {10 * 2**20:,} characters")


def test_malformed_stix_json(tmp_path: Path) -> None:
    bundle = json.dumps({"type": "bundle", "id": "bundle--1", "objects": [{"type": "report", "name": "x"}]})
    error = load_error(write(tmp_path, "broken.json", bundle[:-10]))
    assert str(error).startswith(f"{tmp_path / 'broken.json'}: malformed STIX JSON: ")
    assert "line 1 column" in str(error)


def test_stix_bundle_without_report(tmp_path: Path) -> None:
    bundle = {
        "type": "bundle",
        "id": "bundle--1",
        "objects": [{"type": "malware", "id": "malware--1", "name": "X"}],
    }
    error = load_error(write(tmp_path, "noreport.json", json.dumps(bundle)))
    assert str(error).endswith("STIX bundle has no report object")


def test_json_that_is_not_stix(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "data.json", '{"hello": "world"}'))
    assert "not a STIX bundle" in str(error)


def test_file_over_the_byte_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", b"The actor used RDP.\n" * 200)  # 4,000 bytes
    error = load_error(path, limits=Limits(max_bytes=1024), kind=InputTooLarge)
    assert str(error) == f"{path}: file is 3.9 KB, over the 1 KB limit (TTPMAP_MAX_BYTES)"
    with pytest.raises(InputTooLarge, match="over the 1 KB limit"):
        load("-", data=path.read_bytes(), limits=Limits(max_bytes=1024))


def test_size_message_in_megabytes(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", b"x\n" * (3 * 2**19))  # 3 MB
    error = load_error(path, limits=Limits(max_bytes=2 * 2**20), kind=InputTooLarge)
    assert str(error).endswith("file is 3 MB, over the 2 MB limit (TTPMAP_MAX_BYTES)")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert str(load_error(tmp_path / "missing.pdf")).endswith("no such file")
    folder = tmp_path / "folder"
    folder.mkdir()
    assert str(load_error(folder)).endswith("is a directory")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "a PNG image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "legacy Office file"),
        (b"{\\rtf1\\ansi hello}", "RTF document"),
    ],
)
def test_known_binary_formats_are_named(tmp_path: Path, content: bytes, expected: str) -> None:
    error = load_error(write(tmp_path, "report.dat", content), kind=UnsupportedInput)
    assert expected in str(error)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_that_is_not_docx(tmp_path: Path) -> None:
    error = load_error(write(tmp_path, "x.zip", zip_bytes({"a.txt": b"hello"})), kind=UnsupportedInput)
    assert "ZIP archive" in str(error)


def test_corrupt_docx(tmp_path: Path) -> None:
    broken = zip_bytes({"word/document.xml": b"<w:document", "[Content_Types].xml": b"<nope"})
    assert "corrupt DOCX" in str(load_error(write(tmp_path, "broken.docx", broken)))


def test_truncated_docx(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("The actor used RDP.")
    buffer = io.BytesIO()
    document.save(buffer)
    error = load_error(write(tmp_path, "cut.docx", buffer.getvalue()[:5000]))
    assert "corrupt" in str(error)


def test_html_without_text(tmp_path: Path) -> None:
    page = "<html><head><title>x</title><script>var a = 'only code';</script></head><body></body></html>"
    assert str(load_error(write(tmp_path, "blank.html", page))).endswith("no text found")
