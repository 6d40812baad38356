"""Text utilities every stage shares: sentence splitting with exact character offsets (regex based).

Threat reports are full of periods that do not end sentences (``svchost.exe``, ``10.1.2.3``,
``evil[.]com``, ``v2.1.3``, ``e.g.``), and of lines that are sentences without a period (list
items, table rows, headings, command lines). The rules here are tuned for that text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ttpmap.models import Sentence

MAX_SENTENCE_CHARS = 1_000
"""Longer sentences are cut at whitespace so downstream stages never see giant spans."""

# A line shorter than this that has no end punctuation and is followed by a capitalised line is
# taken as a heading or label; longer ones are usually prose wrapped before a proper noun.
_SHORT_LINE = 60

_BULLETS = "-*+•‣◦▪▫●○■□–—·\uf0a7\uf0b7\uf0d8\uf076\uf0fc"
_LIST_MARKER = re.compile(
    rf"(?:[{re.escape(_BULLETS)}]|\d{{1,3}}[.)]|\(\d{{1,3}}\)|[A-Za-z]\)|\([A-Za-z]\)|\([ivxIVX]{{1,5}}\))"
    r"[ \t]+(?=\S)"
)
_MARKER_STARTS = frozenset(_BULLETS + "(")
_LINE = re.compile(r"\S[^\n]*")
_OPENERS = "\"'“‘([«"
_CLOSERS = "\"'”’)]»"
# End punctuation, optional closing quotes/brackets, whitespace, optional opening quotes, next char.
# (ASCII lower case is excluded here for speed; other lower-case letters are checked in Python.)
_BOUNDARY = re.compile(rf"([.!?…]+)([{re.escape(_CLOSERS)}]*)(\s+)[{re.escape(_OPENERS)}]*([^\W_a-z])")
_LINE_END_CHARS = frozenset(".!?…:;")
_CONTINUATION_CHARS = frozenset(",([{/&+=–-")
# fmt: off
_CONTINUATION_WORDS = frozenset({
    "and", "or", "nor", "but", "the", "a", "an", "of", "to", "in", "on", "for", "with", "by", "from",
    "as", "at", "via", "using", "that", "which", "who", "is", "are", "was", "were", "be", "been",
    "such", "into", "than", "its", "their", "this", "these"
})
# fmt: on
_WORD_WINDOW = 12
_WORD_TAIL = re.compile(r"[^\s\"'“‘(\[«]*\Z")
_ALNUM = re.compile(r"[^\W_]")
# A command-line switch ("/c", "-nop", "--output") or a shell prompt marks a line as a command.
_COMMAND = re.compile(r"\s(?:--?|/)[A-Za-z][\w-]*(?![^\s])|\A(?:\$|>|PS>|C:\\>)\s")
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")

# fmt: off
# Words that a period follows without ending the sentence.
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "inc", "corp", "ltd", "co", "llc", "vs", "cf",
    "al", "approx", "fig", "figs", "eq", "dept", "gen", "gov", "resp", "incl", "esp", "ca"
})
# Words that are abbreviations only when a number follows ("No. 5", "Fig. 3", "Jan. 12").
_BEFORE_NUMBER = frozenset({
    "no", "nos", "nr", "p", "pp", "vol", "ch", "sec", "sect", "art", "ref", "tab", "ver", "v", "ex",
    "para", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"
})
# fmt: on


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Split ``text`` into sentences whose offsets index ``text`` exactly.

    Sentences are stripped of surrounding whitespace and of a leading list marker; list items,
    table rows and headings are sentences of their own; none is longer than 1,000 characters.
    """
    sentences: list[Sentence] = []
    for start, end in _blocks(text):
        piece_start = start
        for m in _BOUNDARY.finditer(text, start, end):
            if _is_boundary(text, m, piece_start):
                _emit(text, piece_start, m.end(2), sentences)
                piece_start = m.end(3)
        _emit(text, piece_start, end, sentences)
    return tuple(sentences)


def _blocks(text: str) -> list[tuple[int, int]]:
    """Group lines into runs that may hold several sentences but never span a hard break."""
    blocks: list[tuple[int, int]] = []
    block_start = -1
    prev_end = 0
    prev_line = ""
    for m in _LINE.finditer(text):
        line = m.group().rstrip()
        start = m.start()
        end = start + len(line)
        if block_start >= 0 and (text.count("\n", prev_end, start) > 1 or _line_breaks(prev_line, line)):
            blocks.append((block_start, prev_end))
            block_start = -1
        if block_start < 0:
            block_start = start
        prev_end = end
        prev_line = line
    if block_start >= 0:
        blocks.append((block_start, prev_end))
    return blocks


def _line_breaks(prev: str, line: str) -> bool:
    """Whether a single line break between ``prev`` and ``line`` ends a sentence."""
    if "|" in prev or "|" in line or _LIST_MARKER.match(line):
        return True
    body = prev.rstrip(_CLOSERS)
    last = body[-1:]
    if last in _LINE_END_CHARS:
        if last != "." or len(body) != len(prev) or body[-2:-1] == ".":
            return True
        return not _is_abbreviation(prev, len(body) - 1, line[0])
    if line[0].islower():
        # Wrapped prose continues in lower case; a command line followed by another does not.
        return _COMMAND.search(prev) is not None and not _continues(prev)
    return len(prev) <= _SHORT_LINE and not _continues(prev)


def _continues(line: str) -> bool:
    """Whether ``line`` visibly continues on the next line (ends with a comma, "and", "the"...)."""
    if line[-1] in _CONTINUATION_CHARS:
        return True
    tail = line[-6:].rpartition(" ")[2]
    return tail.lower() in _CONTINUATION_WORDS


def _is_boundary(text: str, m: re.Match[str], lower: int) -> bool:
    nxt = m.group(4)
    if nxt.islower():
        return False
    if m.group(1) != "." or m.group(2):
        return True
    if _is_list_number(text, m.start(1), lower):
        return False
    return not _is_abbreviation(text, m.start(1), nxt, lower)


def _is_list_number(text: str, dot: int, lower: int) -> bool:
    """Whether ``text[dot]`` is the period of a list number opening the sentence ("2. It ran...")."""
    return 0 < dot - lower <= 3 and text[lower:dot].isdigit()


def _is_abbreviation(text: str, dot: int, nxt: str, lower: int = 0) -> bool:
    """Whether the word ending just before ``text[dot] == "."`` is an abbreviation."""
    window = text[max(lower, dot - _WORD_WINDOW) : dot]
    word = _WORD_TAIL.search(window).group()  # type: ignore[union-attr]  # always matches
    if not word or len(word) == _WORD_WINDOW:
        return False
    low = word.lower()
    if low in _ABBREVIATIONS or (low in _BEFORE_NUMBER and nxt.isdigit()):
        return True
    if len(word) == 1:
        return word.isupper()  # an initial: "J. Smith"
    return _INITIALISM.fullmatch(word) is not None  # e.g, i.e, U.S, a.k.a


def _emit(text: str, start: int, end: int, out: list[Sentence]) -> None:
    """Append the sentence text[start:end] (already stripped), without list marker, cut if too long."""
    first = text[start]
    if first in _MARKER_STARTS or first.isdigit() or text[start + 1 : start + 2] == ")":
        marker = _LIST_MARKER.match(text, start, end)
        if marker is not None:
            start = marker.end()
    while end - start > MAX_SENTENCE_CHARS:
        cut = _cut_point(text, start, start + MAX_SENTENCE_CHARS)
        piece = text[start:cut].rstrip()
        if _ALNUM.search(piece):
            out.append(Sentence(piece, start, start + len(piece)))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    piece = text[start:end]
    # Pure punctuation or rules ("----", "***") carry nothing for downstream stages.
    if _ALNUM.search(piece):
        out.append(Sentence(piece, start, end))


def _cut_point(text: str, start: int, limit: int) -> int:
    """Position of the last whitespace before ``limit``, or ``limit`` itself when there is none."""
    for i in range(limit, start + MAX_SENTENCE_CHARS // 2, -1):
        if text[i].isspace():
            return i
    return limit


def name_pattern(
    names: Iterable[str], *, ignore_case: bool = False, min_len: int = 3
) -> re.Pattern[str] | None:
    """One regex matching any of ``names`` as whole words (longest first); None if none is usable."""
    usable = sorted({n.strip() for n in names if len(n.strip()) >= min_len}, key=len, reverse=True)
    if not usable:
        return None
    body = "|".join(re.escape(n) for n in usable)
    return re.compile(r"(?<![\w-])(?:" + body + r")(?![\w-])", re.IGNORECASE if ignore_case else 0)
