"""PDF reader: pypdf text, cleaned of running headers and footers, ligatures and line-end hyphens,
and re-flowed into paragraphs."""

from __future__ import annotations

import io
import re
import time
import unicodedata
from collections import Counter
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, LimitReachedError

from ttpmap.config import Limits
from ttpmap.errors import InputError, InputTooLarge
from ttpmap.ingest.text import Extracted, check_chars, quiet

_SPACES = re.compile(r"[ \t\u00a0]+")
_DIGITS = re.compile(r"\d+")
_LIST_ITEM = re.compile(r"(?:[-*•‣◦▪●○■□–·\uf0a7\uf0b7\uf0d8\uf076\uf0fc]|\d{1,3}[.)]|\(?[a-z]\))\s")
_BULLETS_ONLY = re.compile(r"[-*•‣◦▪●○■□–·\uf0a7\uf0b7\uf0d8\uf076\uf0fc ]+|\(?\d{1,3}[.)]")
_SENTENCE_END = re.compile(r"[.!?:][\"'”’)\]]*\Z")
_HYPHENATED = re.compile(r"(\S*\w)-\Z")
_FIRST_WORD = re.compile(r"\w+")
# Words usually written with a hyphen even when the hyphen falls at a line end ("self-\nsigned").
# fmt: off
_HYPHEN_PREFIXES = frozenset({
    "self", "cross", "well", "non", "multi", "anti", "co", "ex", "third", "first", "second", "high",
    "low", "long", "short", "zero", "end", "peer", "man", "state", "built", "open", "real", "full",
    "off", "over"
})
_HYPHEN_SUFFIXES = frozenset({
    "based", "related", "like", "specific", "level", "wide", "free", "owned", "controlled", "sponsored",
    "linked", "style", "day", "stage", "party", "time", "term", "side", "only", "facing", "known",
    "enabled"
})
# fmt: on
_REPEAT_SHARE = 0.6  # a line recurring at the top or bottom of this share of pages is furniture
_EDGE_LINES = 2  # how many lines at each end of a page may be headers or footers
_SHORT_LINE = 0.7  # a line shorter than this share of the text width ends a paragraph
_JUNK_TITLES = re.compile(r"(?i)^(?:untitled|microsoft word - .*|.*\.(?:docx?|pdf|indd|rtf))$")


def read_pdf(data: bytes, *, source: str | None = None, limits: Limits | None = None) -> Extracted:
    """Read a PDF's text; encrypted, corrupt, oversized, slow or image-only PDFs raise InputError."""
    limits = limits or Limits()
    started = time.monotonic()
    with quiet("pypdf"):
        reader = _open(data, source)
        try:
            page_count = len(reader.pages)
        except Exception as exc:  # pypdf raises many types on broken files
            raise _corrupt(exc, source) from None
        if page_count == 0:
            raise InputError("corrupt or truncated PDF (no pages)", source=source)
        if page_count > limits.max_pdf_pages:
            raise InputTooLarge(
                f"PDF has {page_count:,} pages, over the {limits.max_pdf_pages:,}-page limit "
                "(TTPMAP_MAX_PAGES)",
                source=source,
            )
        pages: list[list[str]] = []
        failed = 0
        chars = 0
        first_error = ""
        for number in range(1, page_count + 1):
            try:
                raw = reader.pages[number - 1].extract_text() or ""
            except LimitReachedError as exc:
                raise _limit(exc, source) from None
            except RecursionError:
                raise _corrupt(RecursionError(), source) from None
            except Exception as exc:  # one broken page should not lose the others
                raw = ""
                failed += 1
                first_error = first_error or _detail(exc)
            chars += len(raw)
            check_chars(chars, limits, source)
            pages.append(_page_lines(raw))
            elapsed = time.monotonic() - started
            if elapsed > limits.max_seconds:
                raise InputTooLarge(
                    f"PDF took over {limits.max_seconds:g} s to read (stopped at page {number} of "
                    f"{page_count}; TTPMAP_MAX_SECONDS)",
                    source=source,
                )
        title = _metadata_title(reader)
    if failed == page_count:
        raise InputError(f"corrupt PDF (no page could be read: {first_error})", source=source)
    text = _reflow(_drop_running_lines(pages))
    if not text.strip():
        raise InputError("no extractable text (scanned PDF?)", source=source)
    metadata: dict[str, Any] = {"pages": page_count}
    if failed:
        metadata["unreadable_pages"] = failed
    return Extracted(text, title, metadata)


def _open(data: bytes, source: str | None) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:  # pypdf raises many types on broken files
        raise _corrupt(exc, source) from None
    if encrypted:
        try:
            # Many "protected" PDFs only restrict printing or copying: the user password is empty.
            opened = reader.decrypt("")
        except DependencyError:
            raise InputError(
                "encrypted PDF: reading it needs the 'cryptography' package", source=source
            ) from None
        except Exception as exc:
            raise _corrupt(exc, source) from None
        if opened == PasswordType.NOT_DECRYPTED:
            raise InputError("encrypted PDF: a password is needed to read it", source=source)
    return reader


def _corrupt(exc: Exception, source: str | None) -> InputError:
    if isinstance(exc, LimitReachedError):
        return _limit(exc, source)
    if isinstance(exc, RecursionError):
        return InputError("malformed PDF (its objects refer to each other in a loop)", source=source)
    return InputError(f"corrupt or truncated PDF ({_detail(exc)})", source=source)


def _limit(exc: Exception, source: str | None) -> InputTooLarge:
    """pypdf refused to inflate or parse something this large: a resource limit, not corruption."""
    return InputTooLarge(f"PDF is over a safety limit of the PDF parser ({_detail(exc)})", source=source)


def _detail(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _metadata_title(reader: PdfReader) -> str:
    try:
        title = reader.metadata.title if reader.metadata else ""
    except Exception:  # broken metadata is not worth failing the document for
        return ""
    title = " ".join(unicodedata.normalize("NFKC", str(title or "")).split())
    return "" if _JUNK_TITLES.match(title) else title


def _page_lines(raw: str) -> list[str]:
    """NFKC-normalise a page (ligatures "ﬁ" become "fi") and split it into non-empty lines."""
    text = unicodedata.normalize("NFKC", raw).replace("\u00ad\n", "").replace("\u00ad", "")
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    # List markers drawn apart from their text come out as lines of their own.
    return [line for line in lines if line and not _BULLETS_ONLY.fullmatch(line)]


def _furniture_key(line: str) -> str:
    # Digits are ignored so that "Page 3 of 9" matches "Page 4 of 9".
    return _DIGITS.sub("#", line.lower())


def _drop_running_lines(pages: list[list[str]]) -> list[str]:
    """Concatenate the pages, dropping header and footer lines that recur on most pages."""
    repeated: set[str] = set()
    if len(pages) >= 3:
        counts: Counter[str] = Counter()
        for lines in pages:
            edges = lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]
            counts.update({_furniture_key(line) for line in edges})
        repeated = {key for key, n in counts.items() if n >= _REPEAT_SHARE * len(pages)}
    out: list[str] = []
    for lines in pages:
        last = len(lines) - _EDGE_LINES
        for i, line in enumerate(lines):
            at_edge = i < _EDGE_LINES or i >= last
            if not (at_edge and _furniture_key(line) in repeated):
                out.append(line)
    return out


def _reflow(lines: list[str]) -> str:
    """Merge wrapped lines into paragraphs separated by blank lines, list items one per line.

    A line shorter than most ends its paragraph unless the next line goes on in lower case; a word
    hyphenated at a line end is joined ("exfil-" + "tration") unless the hyphen is a real one
    ("command-and-" + "control", "state-" + "sponsored").
    """
    if not lines:
        return ""
    lengths = sorted(len(line) for line in lines)
    width = lengths[int(0.9 * (len(lengths) - 1))]  # most lines of a page are full
    out: list[str] = [lines[0]]
    previous = lines[0]
    for line in lines[1:]:
        split = _HYPHENATED.search(previous)
        if _LIST_ITEM.match(line):
            out.append("\n" if _LIST_ITEM.match(out[-1]) else "\n\n")
            out.append(line)
        elif split and line[0].isalpha():
            if _real_hyphen(split.group(1).rsplit(" ", 1)[-1], line):
                out[-1] += line
            else:
                out[-1] = out[-1][:-1] + line
        elif not line[0].islower() and (
            len(previous) < _SHORT_LINE * width or _is_heading(previous, line, width)
        ):
            out.extend(("\n\n", line))
        else:
            out[-1] += " " + line
        previous = line
    return "".join(out)


def _is_heading(previous: str, line: str, width: int) -> bool:
    """A short line without end punctuation right after a finished sentence reads as a heading."""
    return (
        len(line) < _SHORT_LINE * width
        and _SENTENCE_END.search(previous) is not None
        and _SENTENCE_END.search(line) is None
        and line[0].isupper()
    )


def _real_hyphen(fragment: str, line: str) -> bool:
    """Whether the hyphen after ``fragment`` at a line end is part of the word that ``line`` completes."""
    if not line[0].islower() or "-" in fragment or fragment.lower() in _HYPHEN_PREFIXES:
        return True
    following = _FIRST_WORD.match(line)
    return following is not None and following.group().lower() in _HYPHEN_SUFFIXES
