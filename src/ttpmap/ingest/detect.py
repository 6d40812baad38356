"""Recognise what kind of report a byte string is, from its content first and its name second."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import PurePath

from ttpmap.errors import InputError, UnsupportedInput

MEDIA_TYPES = ("pdf", "html", "markdown", "text", "docx", "stix")
SUPPORTED = "ttpmap reads PDF, HTML, Markdown, plain text, DOCX and STIX 2 bundles"

_SAMPLE_BYTES = 64 * 1024
_HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml", ".shtml", ".mht"})
_MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown", ".mdown", ".mkd", ".mkdn"})

# Formats people are likely to feed in by mistake, so the error can say what the file is.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x7fELF", "an ELF executable"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.doc/.xls/.msg); save it as DOCX or PDF"),
    (b"{\\rtf", "an RTF document; save it as DOCX or PDF"),
)
_STIX_BUNDLE = re.compile(rb'"type"\s*:\s*"bundle"')
_STIX_BUNDLE_TEXT = re.compile(r'"type"\s*:\s*"bundle"')
_HTML_START = re.compile(
    r"(?:<!--.*?-->\s*|<\?xml[^>]*>\s*)*<(?:!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL
)
_HTML_TAG = re.compile(
    r"</?(?:p|div|span|a|br|hr|img|table|thead|tbody|tr|td|th|h[1-6]|ul|ol|li|body|head|meta|link|"
    r"title|script|style|pre|code|article|section|nav|header|footer|main|strong|em|b|i|form|input)\b[^<>]*>",
    re.IGNORECASE,
)
_MARKDOWN_SIGNALS = (
    re.compile(r"^ {0,3}```", re.MULTILINE),  # fenced code
    re.compile(r"\[[^\]\n]+\]\([^)\s]+\)"),  # inline link
    re.compile(r"^\|?[ \t]*:?-{3,}:?[ \t]*\|", re.MULTILINE),  # table separator
    re.compile(r"(?<!\w)\*\*\S[^*\n]*\*\*(?!\w)"),  # bold
)
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)


def detect_media_type(data: bytes, name: str = "", *, source: str | None = None) -> str:
    """Return one of MEDIA_TYPES for ``data``; the file ``name`` only breaks ties.

    Raises UnsupportedInput for recognisable formats ttpmap does not read (images, archives...).
    Undecodable or binary bytes come back as "text" and are rejected by the text reader.
    """
    head = data[:1024]
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-") or (
        b"%PDF-" in head and b" obj" in data[:_SAMPLE_BYTES]
    ):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_media_type(data, source)
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise UnsupportedInput(f"unsupported input: {what} ({SUPPORTED})", source=source)
    if data.startswith(b"MZ") and b"\x00" in data[:64]:
        raise UnsupportedInput(f"unsupported input: a Windows executable ({SUPPORTED})", source=source)

    extension = PurePath(name).suffix.lower() if name else ""
    sample = _sample_text(data)
    start = sample.lstrip()[:1]
    if start in ("{", "[") and (
        extension == ".json" or _STIX_BUNDLE.search(data) or _STIX_BUNDLE_TEXT.search(sample)
    ):
        return "stix"
    if _looks_like_html(sample, extension):
        return "html"
    if _markdown_score(sample) >= 2 or extension in _MARKDOWN_EXTENSIONS:
        return "markdown"
    return "text"


def _zip_media_type(data: bytes, source: str | None) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(f"corrupt or truncated ZIP/DOCX file: {exc}", source=source) from None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        what = "an Excel workbook (XLSX)"
    elif "ppt/presentation.xml" in names:
        what = "a PowerPoint file (PPTX)"
    elif "mimetype" in names and "content.xml" in names:
        what = "an OpenDocument file; save it as DOCX or PDF"
    else:
        what = "a ZIP archive; extract the reports first"
    raise UnsupportedInput(f"unsupported input: {what} ({SUPPORTED})", source=source)


def _sample_text(data: bytes) -> str:
    """The first 64 KiB as text, good enough for pattern tests (never raises)."""
    head = data[:_SAMPLE_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    return head.decode("utf-8", errors="replace")


def _looks_like_html(sample: str, extension: str) -> bool:
    if _HTML_START.match(sample.lstrip()[:4096]):
        return True
    tags = _HTML_TAG.findall(sample)
    if not tags:
        return False
    if extension in _HTML_EXTENSIONS:
        return True
    # An HTML fragment without <html>: many tags, either leading the text or dense in it.
    if len(tags) >= 5 and sample.lstrip().startswith("<") and _markdown_score(sample) == 0:
        return True
    return len(tags) >= 10 and sum(map(len, tags)) >= 0.1 * len(sample)


def _markdown_score(sample: str) -> int:
    headings = len(_ATX_HEADING.findall(sample))
    score = min(headings, 2)
    return score + sum(1 for signal in _MARKDOWN_SIGNALS if signal.search(sample))
