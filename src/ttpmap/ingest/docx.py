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
from ttpmap.ingest.bounded import deadline
from ttpmap.ingest.text import Extracted, check_chars

_P, _TBL, _TR = qn("w:p"), qn("w:tbl"), qn("w:tr")
_SDT, _SDT_CONTENT = qn("w:sdt"), qn("w:sdtContent")


def read_docx(data: bytes, *, source: str | None = None, limits: Limits | None = None) -> Extracted:
    """Read a Word document; the title comes from its properties or its first heading."""
    limits = limits or Limits()
    _check_expansion(data, limits, source)
    try:
        document = docx.Document(io.BytesIO(data))
        title = (document.core_properties.title or "").strip()
    except Exception as exc:  # python-docx and lxml raise many types on broken files
        raise InputError(f"corrupt DOCX ({_detail(exc)})", source=source) from None
    body = document.element.body
    elements = sum(1 for _ in body.iter(_P, _TR))
    if elements > limits.max_elements:
        raise InputTooLarge(
            f"DOCX has {elements:,} paragraphs and table rows, over the {limits.max_elements:,} limit "
            "(TTPMAP_MAX_ELEMENTS)",
            source=source,
        )
    blocks = _bounded(_blocks(_body_items(body, document)), limits, source)
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
    """Refuse archives that declare, or actually inflate to, more than the expansion limit.

    Declared sizes are checked first (free); then every member is inflated in 1 MB steps, so a
    member that lies about its size fails its CRC check here instead of inflating in one piece
    inside python-docx.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InputError(f"corrupt DOCX ({exc})", source=source) from None
    declared = sum(info.file_size for info in members)
    if declared > limits.max_expanded_bytes:
        raise _expands(f"{declared / 2**20:,.0f} MB", limits, source)
    inflated = 0
    try:
        for info in members:
            with archive.open(info) as member:
                while chunk := member.read(2**20):
                    inflated += len(chunk)
                    if inflated > limits.max_expanded_bytes:
                        raise _expands("more", limits, source)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise InputError(f"corrupt DOCX ({_detail(exc)})", source=source) from None
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise InputError(f"encrypted DOCX ({_detail(exc)})", source=source) from None


def _expands(size: str, limits: Limits, source: str | None) -> InputTooLarge:
    return InputTooLarge(
        f"DOCX expands to {size}, over the {limits.max_expanded_bytes / 2**20:,.0f} MB limit "
        "(TTPMAP_MAX_EXPANDED_BYTES)",
        source=source,
    )


def _bounded(blocks: Iterator[tuple[str, str]], limits: Limits, source: str | None) -> list[tuple[str, str]]:
    """The blocks, stopping with InputTooLarge past the element, character or time limit."""
    out: list[tuple[str, str]] = []
    chars = 0
    time_up = deadline(limits)
    try:
        for block in blocks:
            out.append(block)
            chars += len(block[1])
            check_chars(chars, limits, source)
            if len(out) % 64 == 0 and time_up():
                raise InputTooLarge(
                    f"DOCX took over {limits.max_seconds:g} s to read (TTPMAP_MAX_SECONDS)", source=source
                )
    except InputError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types on broken files
        raise InputError(f"corrupt DOCX ({_detail(exc)})", source=source) from None
    return out


def _detail(exc: Exception) -> str:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    if "XML_PARSE_HUGE" in detail:
        return "its XML is nested too deeply or has a text block too large to parse"
    return detail


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
    style_names: dict[str | None, str] = {}
    for item in items:
        if isinstance(item, Paragraph):
            text = " ".join(item.text.split())
            if text:
                kind = _paragraph_kind(item, style_names)
                # A list marker lets the sentence splitter see each item as a sentence.
                yield kind, f"- {text}" if kind == "item" else text
        elif isinstance(item, Table):
            for row in item.rows:
                cells = _row_cells(row)
                if any(cells):
                    yield "row", " | ".join(cells)


def _paragraph_kind(paragraph: Paragraph, style_names: dict[str | None, str]) -> str:
    # Resolving a style walks the style sheet; a document has few styles, so names are cached by id.
    style_id = paragraph._p.style
    if style_id not in style_names:
        resolved = paragraph.style
        style_names[style_id] = (resolved.name if resolved is not None else "") or ""
    style = style_names[style_id]
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
