"""Fuzz targets: each takes raw bytes and must end in a result or an InputError, never anything else.

Readers run in-process (no worker, so the fuzzer sees their coverage) with a small budget. The
export target builds an Analysis from the bytes and checks that every output renders and stays inert.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from ttpmap.config import Limits
from ttpmap.errors import InputError

LIMITS = Limits(max_bytes=2**20, max_chars=200_000, max_seconds=10, max_elements=20_000, max_pdf_pages=20)
READERS = {
    "pdf": ("ttpmap.ingest.pdf", "read_pdf"),
    "html": ("ttpmap.ingest.html", "read_html"),
    "markdown": ("ttpmap.ingest.text", "read_markdown"),
    "text": ("ttpmap.ingest.text", "read_text"),
    "docx": ("ttpmap.ingest.docx", "read_docx"),
    "stix": ("ttpmap.ingest.stix", "read_stix"),
}
# Which example files seed which target.
SEEDS = {
    "pdf": (".pdf",),
    "html": (".html",),
    "markdown": (".md",),
    "text": (".md",),
    "docx": (".docx",),
    "stix": (".json",),
    "detect": (".pdf", ".html", ".md", ".docx", ".json"),
    "export": (".md",),
}
_LIVE_URL = re.compile(r"\b(?:https?|ftp)://", re.IGNORECASE)


def reader_target(kind: str) -> Callable[[bytes], None]:
    """A target feeding bytes to one reader, then through the shared clean-up."""
    from importlib import import_module

    module, function = READERS[kind]
    reader = getattr(import_module(module), function)

    def target(data: bytes) -> None:
        from ttpmap.ingest.text import check_line_length, tidy

        if kind == "docx" and not data.startswith(b"PK"):
            data = wrap_docx(data)  # structure-aware: the bytes are the body XML
        try:
            extracted = reader(data, source="fuzz", limits=LIMITS)
            check_line_length(tidy(extracted.text), "fuzz")
        except InputError:
            pass

    return target


def wrap_docx(document_xml: bytes) -> bytes:
    """A minimal DOCX package around ``document_xml`` (so mutations reach the XML, not the ZIP)."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document_xml)
    return buffer.getvalue()


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)


def detect_target(data: bytes) -> None:
    """Type detection and the whole in-process extraction, as ``ttpmap analyze`` runs it."""
    from ttpmap.ingest import extract

    with contextlib.suppress(InputError):
        extract(data, "fuzz", LIMITS)


def export_target(data: bytes) -> None:
    """Untrusted text as title, evidence and indicators: every output renders and nothing links."""
    from ttpmap.models import Analysis, AttackInfo, DocumentInfo, Evidence, Indicator, TechniqueResult
    from ttpmap.publish import advisory, brief, export
    from ttpmap.publish import csv as csv_export

    text = data.decode("utf-8", errors="replace")
    third = max(len(text) // 3, 1)
    title, quote, value = text[:third], text[third : 2 * third], text[2 * third :]
    analysis = Analysis(
        document=DocumentInfo(title=title, source="fuzz.md", sha256="0" * 64, chars=len(text), sentences=1),
        attack=AttackInfo(domain="enterprise", version="15.0"),
        techniques=[
            TechniqueResult(
                id="T1059.001",
                name="PowerShell",
                score=0.9,
                origin="model",
                tactics=["execution"],
                evidence=[Evidence(text=quote, start=0, end=len(quote), score=0.9)],
            )
        ],
        iocs=[Indicator(type="url", value=value, defanged=value)] if value.strip() else [],
    )
    for module in (advisory, brief):
        for fmt in ("markdown", "html"):
            module.render(analysis, None, fmt)
    rendered = advisory.render(analysis, None, "markdown")
    heading = rendered.split("\n# ", 1)[1].split("\n", 1)[0]
    assert not _LIVE_URL.search(heading), heading
    for row in csv.reader(io.StringIO(csv_export.iocs_csv(analysis))):
        assert not any(cell.startswith(("=", "+", "@")) for cell in row), row
    with tempfile.TemporaryDirectory() as folder:
        export(analysis, None, ["navigator", "stix", "csv", "json"], Path(folder), stem="fuzz")


def target(name: str) -> Callable[[bytes], None]:
    """The target function called ``name`` (a reader kind, ``detect`` or ``export``)."""
    if name == "detect":
        return detect_target
    if name == "export":
        return export_target
    return reader_target(name)
