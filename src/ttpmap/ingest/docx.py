"""DOCX reader: body paragraphs and table rows (cells joined with " | ") in document order."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from ttpmap.config import Limits
from ttpmap.errors import InputError, InputTooLarge
from ttpmap.ingest.text import Extracted

# XML compresses about tenfold; refuse archives that would expand far beyond the byte limit.
_EXPANSION = 20
_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")


def read_docx(data: bytes, *, source: str | None = None, limits: Limits | None = None) -> Extracted:
    """Read a Word document; the title comes from its properties or its first heading."""
    limits = limits or Limits()
    _check_expansion(data, limits, source)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_blocks(_body_items(document.element.body, document)))
        title = (document.core_properties.title or "").strip()
    except Exception as exc:  # python-docx and lxml raise many types on broken files
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"corrupt DOCX ({detail})", source=source) from None
    heading = next((text for kind, text in blocks if kind == "heading"), "")
    out: list[str] = []
    previous = ""
    for kind, text in blocks:
        if out:
            out.append("\n" if kind == previous and kind in ("row", "item") else "\n\n")
        out.append(text)
        previous = kind
    metadata: dict[str, Any] = {"paragraphs": sum(1 for kind, _ in blocks if kind != "row")}
    return Extracted("".join(out), " ".join((title or heading).split()), metadata)


def _check_expansion(data: bytes, limits: Limits, source: str | None) -> None:
    try:
        expanded = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(f"corrupt DOCX ({exc})", source=source) from None
    if expanded > _EXPANSION * limits.max_bytes:
        raise InputTooLarge(
            f"DOCX expands to {expanded / 2**20:,.0f} MB, over {_EXPANSION} times the byte limit "
            "(TTPMAP_MAX_BYTES)",
            source=source,
        )


def _body_items(element: Any, parent: Any) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables in document order, including those inside content controls (w:sdt)."""
    for child in element.iterchildren():
        if child.tag == _P:
            yield Paragraph(child, parent)
        elif child.tag == _TBL:
            yield Table(child, parent)
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _body_items(content, parent)


def _blocks(items: Iterable[Paragraph | Table]) -> Iterator[tuple[str, str]]:
    """Yield ``(kind, text)`` for each non-empty paragraph ("heading", "item", "para") and table row."""
    for item in items:
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            if text:
                kind = _paragraph_kind(item)
                # A list marker lets the sentence splitter see each item as a sentence.
                yield kind, f"- {text}" if kind == "item" else text
        elif isinstance(item, Table):
            for row in item.rows:
                cells = _row_cells(row)
                if any(cells):
                    yield "row", " | ".join(cells)


def _paragraph_kind(paragraph: Paragraph) -> str:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style == "Title" or style.startswith("Heading"):
        return "heading"
    properties = paragraph._p.pPr
    if style.startswith("List") or (properties is not None and properties.numPr is not None):
        return "item"
    return "para"


def _row_cells(row: Any) -> list[str]:
    """The text of each distinct cell; merged cells appear once, not once per grid column."""
    cells: list[str] = []
    seen: set[int] = set()
    for cell in row.cells:
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        cells.append(" ".join(cell.text.split()))
    return cells
