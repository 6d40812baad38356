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
from ttpmap.errors import InputError, InputTooLarge
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
_HIDDEN_START = re.compile(r"<(script|style|template|noscript)\b|<!--")
_ANY_TAG = re.compile(r"<[^<>]*>")
_ENTITY = re.compile(r"&#?\w{1,10};")
# The main-content extractor may drop boilerplate, but when it keeps less than this share of the
# page's visible text it has lost content (repeated paragraphs, odd nesting): fall back to all text.
_MAIN_SHARE = 0.2
# When even all text is less than this share of the visible text, the parser itself lost content.
_LOST_SHARE = 0.5
_CHECK_FROM = 2000  # pages with fewer visible characters are too small to judge


def read_html(data: bytes, *, source: str | None = None, limits: Limits | None = None) -> Extracted:
    """Read a web page: title from ``<title>`` (or the first ``<h1>``), text from its main content.

    Limits are checked before parsing (elements, characters); when the extractors lose most of the
    page's visible text, the metadata carries a warning.
    """
    limits = limits or Limits()
    markup = _XML_DECLARATION.sub("", _NOT_XML.sub("", decode_html(data)))
    elements = markup.count("<") - markup.count("</")
    if elements > limits.max_elements:
        raise InputTooLarge(
            f"HTML has {elements:,} elements, over the {limits.max_elements:,} limit (TTPMAP_MAX_ELEMENTS)",
            source=source,
        )
    visible = _visible_estimate(markup)
    if visible > limits.max_chars:
        raise InputTooLarge(
            f"HTML holds about {visible:,} characters of text, over the {limits.max_chars:,}-character "
            "limit (TTPMAP_MAX_CHARS)",
            source=source,
        )
    tree = _parse(markup, source)
    title = _title(tree)
    text = _main_content(tree)
    extractor = "trafilatura"
    if not text or (visible >= _CHECK_FROM and _chars(text) < _MAIN_SHARE * visible):
        text = _plain_text(tree)
        extractor = "lxml"
    metadata: dict[str, object] = {"extractor": extractor}
    if visible >= _CHECK_FROM and _chars(text) < _LOST_SHARE * visible:
        # libxml2 stops at 256 levels of nesting; its "huge" mode allows 2,048. The deep tree is only
        # read by lxml's own (iterative) code, never by the content extractor.
        deep = _plain_text(_parse(markup, source, huge=True))
        if _chars(deep) > _chars(text):
            text, metadata["extractor"] = deep, "lxml (deep)"
        kept = _chars(text)
        if kept == 0:
            raise InputError(
                f"no text could be extracted from about {visible:,} characters of page text "
                "(nesting deeper than 2,048 levels or malformed markup)",
                source=source,
            )
        if kept < _LOST_SHARE * visible:
            metadata["warnings"] = [
                f"only {kept:,} of about {visible:,} characters of the page's text could be extracted "
                "(very deep nesting or malformed markup)"
            ]
    return Extracted(text, title, metadata)


def _parse(markup: str, source: str | None, *, huge: bool = False) -> lxml.html.HtmlElement:
    """Parse and strip scripts, styles, embedded objects, comments and processing instructions."""
    try:
        parser = lxml.html.HTMLParser(huge_tree=huge) if huge else None
        tree = lxml.html.document_fromstring(markup, parser=parser)
    except (etree.LxmlError, ValueError) as exc:
        raise InputError(f"unreadable HTML ({_detail(exc)})", source=source) from None
    for element in list(tree.iter(*_NEVER_TEXT, etree.Comment, etree.ProcessingInstruction)):
        if element.getparent() is not None:
            element.drop_tree()
    return tree


def _visible_estimate(markup: str) -> int:
    """Non-space characters of text outside tags, scripts, styles and comments (entities count one)."""
    text = _ANY_TAG.sub(" ", _strip_hidden(markup))
    return _chars(_ENTITY.sub("&", text))


def _strip_hidden(markup: str) -> str:
    """The markup without script, style, template and noscript blocks and comments (one linear pass)."""
    lower = markup.lower()
    parts: list[str] = []
    pos = 0
    while (found := _HIDDEN_START.search(lower, pos)) is not None:
        parts.append(markup[pos : found.start()])
        closing = "-->" if found.group(1) is None else f"</{found.group(1)}"
        end = lower.find(closing, found.end())
        if end < 0:
            return "".join(parts)
        pos = end + len(closing)
    parts.append(markup[pos:])
    return "".join(parts)


def _chars(text: str) -> int:
    return len(text) - sum(text.count(c) for c in " \t\n\r\f\v")


def _detail(exc: Exception) -> str:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    if "XML_PARSE_HUGE" in detail or "Huge input" in detail:
        return "nested too deeply or with a text block too large to parse"
    return detail


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
