"""HTML reader: the main content via trafilatura (tables and <pre> kept), plain lxml text as fallback.

Nothing in the page is executed or fetched: scripts, styles and embedded objects are removed from
the parsed tree before any text is taken from it.
"""

from __future__ import annotations

import codecs
import copy
import re

import lxml.html
import trafilatura
from lxml import etree

from ttpmap.config import Limits
from ttpmap.errors import InputError
from ttpmap.ingest.text import Extracted, quiet

_NEVER_TEXT = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas")
_BOILERPLATE = ("nav", "header", "footer", "aside", "form", "button", "select", "dialog")
# fmt: off
_BLOCKS = frozenset({
    "address", "article", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p", "pre", "section", "table", "tbody", "thead",
    "tfoot", "tr", "ul", "caption", "details", "summary"
})
# fmt: on
_CELLS = frozenset({"td", "th"})
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)
# lxml refuses control characters that XML does not allow, even in HTML.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]{0,200}\?>")
_TABLE_SEPARATOR = re.compile(r"\|?(?:\s*:?-{2,}:?\s*\|)+\s*:?-*:?\s*")
_LIST_ITEM = re.compile(r"[-*•] ")


def read_html(data: bytes, *, source: str | None = None, limits: Limits | None = None) -> Extracted:
    """Read a web page: title from ``<title>`` (or the first ``<h1>``), text from its main content."""
    markup = _XML_DECLARATION.sub("", _NOT_XML.sub("", decode_html(data)))
    try:
        tree = lxml.html.document_fromstring(markup)
    except (etree.LxmlError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"unreadable HTML ({detail})", source=source) from None
    for element in list(tree.iter(*_NEVER_TEXT, etree.Comment, etree.ProcessingInstruction)):
        if element.getparent() is not None:
            element.drop_tree()
    title = _title(tree)
    text = _main_content(tree)
    extractor = "trafilatura"
    if not text:
        text = _plain_text(tree)
        extractor = "lxml"
    return Extracted(text, title, {"extractor": extractor})


def decode_html(data: bytes) -> str:
    """Decode a page using its BOM, then its ``<meta charset>``, then UTF-8, then cp1252."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        try:
            encoding = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            encoding = ""
        if encoding and not encoding.startswith("utf-16"):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _title(tree: lxml.html.HtmlElement) -> str:
    for path in ("//title", "//h1"):
        found = tree.xpath(path)
        if found:
            title = " ".join(found[0].text_content().split())
            if title:
                return title
    return ""


def _main_content(tree: lxml.html.HtmlElement) -> str:
    # trafilatura prunes the tree it is given, so it works on a copy; the fallback needs the original.
    with quiet("trafilatura"), quiet("htmldate"), quiet("courlan"):
        text = trafilatura.extract(
            copy.deepcopy(tree),
            output_format="txt",
            include_tables=True,
            include_comments=False,
            include_formatting=False,
            include_links=False,
            include_images=False,
            favor_recall=True,
            deduplicate=False,
        )
    return _join_blocks((text or "").split("\n"))


def _plain_text(tree: lxml.html.HtmlElement) -> str:
    """All visible text but navigation and page furniture, one block per line."""
    for element in list(tree.iter(*_BOILERPLATE)):
        if element.getparent() is not None:
            element.drop_tree()
    for element in tree.iter(etree.Element):
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in _BLOCKS:
            element.text = "\n" + (element.text or "")
            element.tail = "\n" + (element.tail or "")
        elif tag in _CELLS:
            element.tail = " | " + (element.tail or "")
        elif tag == "br":
            element.tail = "\n" + (element.tail or "")
    body = tree.find("body")
    root = body if body is not None else tree
    lines = [" ".join(line.split()).strip(" |") for line in root.text_content().split("\n")]
    return _join_blocks(lines)


def _join_blocks(lines: list[str]) -> str:
    """One block per line: blank lines between blocks, but table rows and list items kept together."""
    out: list[str] = []
    previous = ""
    for raw in lines:
        line = raw.strip()
        if not line or _TABLE_SEPARATOR.fullmatch(line):
            continue
        if line.startswith("|") or " | " in line:
            kind = "row"
        else:
            kind = "item" if _LIST_ITEM.match(line) else "block"
        if kind == "row":
            line = " | ".join(cell.strip() for cell in line.strip("|").split("|"))
        if out and not (kind == previous and kind != "block"):
            out.append("")
        out.append(line)
        previous = kind
    return "\n".join(out)
