"""Plain-text and Markdown readers, plus the decoding and clean-up every reader shares."""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from ttpmap.config import Limits
from ttpmap.errors import InputError, InputTooLarge, UnsupportedInput

MAX_LINE_CHARS = 1_000_000
"""A longer line is minified data or junk, not a report."""


class Extracted(NamedTuple):
    """What a reader got out of one input: clean text, a title ("" when unknown) and metadata."""

    text: str
    title: str
    metadata: dict[str, Any]


# --- decoding ---------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{3,}")


def decode_text(data: bytes, source: str | None = None) -> tuple[str, str]:
    """Decode ``data`` and return ``(text, encoding)``; binary or undecodable bytes raise UnsupportedInput.

    UTF-8 (with or without BOM) and UTF-16/32 with BOM are exact; cp1252 is used only when the result
    reads like text, and UTF-8 with a handful of stray bytes is accepted with replacement characters.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _reject_binary(data.decode(encoding), source), encoding
            except UnicodeDecodeError:
                raise UnsupportedInput(
                    f"not text: undecodable bytes (invalid {encoding.upper()})", source=source
                ) from None
    if b"\x00" in data:
        raise UnsupportedInput("not text: binary data (NUL bytes)", source=source)
    try:
        return _reject_binary(data.decode("utf-8"), source), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if text and _plausible_single_byte(text):
        return _reject_binary(text, source), "cp1252"
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(1, len(text) // 100):
        return _reject_binary(text, source), "utf-8 (with replacements)"
    raise UnsupportedInput("not text: undecodable bytes", source=source)


def _plausible_single_byte(text: str) -> bool:
    """Whether a cp1252 decoding reads like Western text rather than mojibake of a multibyte encoding."""
    non_ascii = len(_NON_ASCII.findall(text))
    if non_ascii == 0:
        return True
    runs = len(_NON_ASCII_RUN.findall(text))
    return non_ascii <= 0.3 * len(text) and runs <= max(2, non_ascii // 20)


def _reject_binary(text: str, source: str | None) -> str:
    if "\x00" in text:
        raise UnsupportedInput("not text: binary data (NUL characters)", source=source)
    controls = len(_CONTROL.findall(text))
    if controls > max(2, len(text) // 100):
        raise UnsupportedInput("not text: binary data (control characters)", source=source)
    return text


# --- clean-up shared by every reader ----------------------------------------------------------

_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u200b\u200c\u200e\u200f\u2060\ufeff\u00ad]")
_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Normalise line breaks and spaces, drop invisible characters, trailing spaces and extra blank lines."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _ODD_SPACES.sub(" ", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def check_line_length(text: str, source: str | None = None) -> None:
    """Raise InputError when one line is longer than a report line can be (minified data, junk)."""
    if len(text) <= MAX_LINE_CHARS:
        return
    pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        if end < 0:
            end = len(text)
        if end - pos > MAX_LINE_CHARS:
            raise InputError(f"not a report: one line of {end - pos:,} characters", source=source)
        pos = end + 1


def check_chars(count: int, limits: Limits, source: str | None = None) -> None:
    """Raise InputTooLarge when ``count`` characters of text are over the character limit."""
    if count > limits.max_chars:
        raise InputTooLarge(
            f"text is {count:,} characters, over the {limits.max_chars:,}-character limit (TTPMAP_MAX_CHARS)",
            source=source,
        )


@contextmanager
def quiet(logger_name: str) -> Iterator[None]:
    """Silence a parser library's warnings (pypdf, trafilatura) while it reads untrusted input."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of ``text``, shortened to ``limit`` characters."""
    for line in text.split("\n", 50):
        line = " ".join(line.split())
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


# --- readers ------------------------------------------------------------------------------------


def read_text(data: bytes, *, source: str | None = None, limits: Limits | None = None) -> Extracted:
    """Read a plain-text report."""
    text, encoding = decode_text(data, source)
    text = _LINE_BREAKS.sub("\n", text)
    check_line_length(text, source)
    check_chars(len(text), limits or Limits(), source)
    return Extracted(text, "", {"encoding": encoding})


def read_markdown(data: bytes, *, source: str | None = None, limits: Limits | None = None) -> Extracted:
    """Read a Markdown report, stripping its syntax lightly; the title is the first heading."""
    text, encoding = decode_text(data, source)
    text = _LINE_BREAKS.sub("\n", text)
    check_line_length(text, source)
    check_chars(len(text), limits or Limits(), source)
    clean, title = markdown_to_text(text)
    return Extracted(clean, title, {"encoding": encoding})


# --- Markdown ------------------------------------------------------------------------------------

_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]|\Z)")
_SETEXT = re.compile(r" {0,3}(?:=+|-+)[ \t]*\Z")
_RULE = re.compile(r" {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})\Z")
_TABLE_SEPARATOR_CHARS = frozenset("|:- \t")
_REFERENCE = re.compile(r" {0,3}\[[^\]\n]{1,200}\]:[ \t]*\S+")
_QUOTE = re.compile(r" {0,3}(?:>[ \t]?)+")
_FRONT_TITLE = re.compile(r"title:\s*(.+)", re.IGNORECASE)
_COMMENT = re.compile(r"<!--[\s\S]{0,20000}?-->")
_MARKUP = re.compile(r"[\[<*_~\\]")
# Longer lines are data, not prose; inline rules are skipped there to keep the cost linear.
_MAX_INLINE_CHARS = 20_000

_CODE_SPAN = re.compile(r"(`+)([^`\n][^\n]{0,2000}?)\1(?!`)")
# Every rule's inner text excludes its own delimiter, so a failed match stops at the next delimiter.
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[ \t]?!\[[^\]\n]{0,500}\]\([^)\n]{0,2000}\)"), ""),  # images
    (re.compile(r"\[([^\]\n]{0,500})\]\([^)\s]{0,2000}(?:[ \t]+\"[^\"\n]{0,500}\")?\)"), r"\1"),  # links
    (re.compile(r"\[([^\]\[\n.]{1,500})\]\[[\w .-]{0,100}\]"), r"\1"),  # reference links
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]{1,2000})>"), r"\1"),  # autolinks
    (re.compile(r"<br\s*/?>", re.IGNORECASE), " "),
    (re.compile(r"</?(?:b|i|u|em|strong|sup|sub|span|kbd|mark|small|code|a)\b[^>\n]{0,500}>", re.I), ""),
    (re.compile(r"(?<![\\\w*])\*\*(?=[^\s*])([^\n*]{1,500}?)(?<=[^\s\\])\*\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\\\w])__(?=[^\s_])([^\n_]{1,500}?)(?<=[^\s\\])__(?!\w)"), r"\1"),
    (re.compile(r"(?<![\\\w*])\*(?=[^\s*])([^\n*]{1,500}?)(?<=[^\s\\])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\\\w])_(?=[^\s_])([^\n_]{1,500}?)(?<=[^\s\\])_(?!\w)"), r"\1"),
    (re.compile(r"~~(?=[^\s~])([^\n~]{1,500}?)(?<=\S)~~"), r"\1"),
    # Backslash escapes; "\\", "\{" and "\(" are left alone because Windows paths and registry
    # keys (\\host\share, CLSID\{...}) are common in reports.
    (re.compile(r"\\([*_\[\]`#|<>!~])"), r"\1"),
)


def markdown_to_text(markdown: str) -> tuple[str, str]:
    """Strip Markdown syntax lightly and return ``(text, title)``.

    Headings, emphasis, links and images lose their markup; code blocks, list items and table rows
    stay as lines so the sentence splitter can treat each as its own sentence.
    """
    lines = _COMMENT.sub("", _LINE_BREAKS.sub("\n", markdown)).split("\n")
    lines, title = _front_matter(lines)
    out: list[str] = []
    fence = ""
    for line in lines:
        if fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
                out.append("")
            else:
                out.append(line)
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
            out.append("")
            continue
        heading = _ATX.match(line)
        if heading:
            text = _inline(_heading_text(line[heading.end() :]))
            title = title or text
            out.extend(("", text, ""))
        elif _SETEXT.match(line) and out and out[-1].strip():
            # "Title\n=====": the line above was a heading.
            title = title or out[-1].strip()
            out.append("")
        elif _RULE.match(line) or _REFERENCE.match(line):
            out.append("")
        elif "|" in line:
            if not ("--" in line and _TABLE_SEPARATOR_CHARS.issuperset(line)):
                out.append(_table_row(line))
        else:
            quote = _QUOTE.match(line)
            out.append(_inline(line[quote.end() :] if quote else line))
    return "\n".join(out), title


def _front_matter(lines: list[str]) -> tuple[list[str], str]:
    """Drop a YAML front-matter block, returning its ``title`` if it has one."""
    if not lines or lines[0].strip() != "---":
        return lines, ""
    for i, line in enumerate(lines[1:60], start=1):
        if line.strip() in ("---", "..."):
            title = ""
            for entry in lines[1:i]:
                m = _FRONT_TITLE.match(entry)
                if m:
                    title = m.group(1).strip().strip("\"'")
                    break
            return lines[i + 1 :], title
    return lines, ""


def _heading_text(text: str) -> str:
    """An ATX heading's text without its optional closing hashes ("## Title ##")."""
    text = text.strip()
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1] in " \t"):
        text = bare.rstrip()
    return text


def _table_row(line: str) -> str:
    row = line.strip()
    cells = row.strip("|").split("|")
    if len(cells) < 2:
        return _inline(row)
    return " | ".join(_inline(cell.strip()) for cell in cells)


def _inline(line: str) -> str:
    """Remove inline Markdown from one line, leaving code spans' contents untouched."""
    if "`" not in line:
        return _inline_plain(line)
    parts: list[str] = []
    last = 0
    for m in _CODE_SPAN.finditer(line):
        parts.append(_inline_plain(line[last : m.start()]))
        parts.append(m.group(2))
        last = m.end()
    parts.append(_inline_plain(line[last:]))
    return "".join(parts)


def _inline_plain(text: str) -> str:
    if len(text) > _MAX_INLINE_CHARS or not _MARKUP.search(text):
        return text
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return text
