"""Making untrusted report text safe for Markdown, CSV and free-text output."""

from __future__ import annotations

import re

_WS = re.compile(r"\s+")
# characters with a meaning in (GitHub-flavoured) Markdown inline text
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# block syntax only matters at the start of a line: list markers, headings, setext and thematic rules
_MD_LIST = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_MD_BLOCK = re.compile(r"^([#+=-])(?=[\s#=-]|$)")
_ENTITY = re.compile(r"&(?=#?\w+;)")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def one_line(text: str) -> str:
    """Collapse every run of whitespace, newlines included, to one space."""
    return _WS.sub(" ", text or "").strip()


def truncate(text: str, limit: int) -> str:
    """Text cut to at most ``limit`` characters at a word boundary, with an ellipsis when cut."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def md_escape(text: str) -> str:
    """Inline Markdown for untrusted text: one line, no markup, tags or table breaks survive.

    Angle brackets become entities (so no raw HTML reaches a renderer), Markdown punctuation is
    backslash-escaped, pipes cannot end a table cell and newlines cannot end a table row.
    """
    text = one_line(text)
    text = _ENTITY.sub("&amp;", text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_BLOCK.sub(r"\\\1", _MD_LIST.sub(r"\1\\\2", text))
    return text.replace("<", "&lt;").replace(">", "&gt;")


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet will evaluate as a formula (strings only; numbers pass)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
