"""IOC tables (Markdown pipe tables and tab-separated rows, as ingest writes tables): each row is read
as a record whose other columns are the indicator's context, with the caption above the table, never
as a sentence of narrative."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


@dataclass(frozen=True)
class Row:
    """One table row: its span in the text, its cells by column header, and the table's caption."""

    start: int
    end: int
    cells: dict[str, str] = field(default_factory=dict)
    caption: str = ""


def _cells(line: str) -> list[str]:
    if "|" not in line:
        return [c.strip() for c in line.split("\t")]
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _may_be_row(line: str) -> bool:
    return ("|" in line or "\t" in line.strip()) and len([c for c in _cells(line) if c]) >= 2


def _lines(text: str) -> list[tuple[int, int, str]]:
    out, offset = [], 0
    for raw in text.splitlines(keepends=True):
        body = (raw.splitlines() or [""])[0]
        out.append((offset, offset + len(body), body))
        offset += len(raw)
    return out


class Tables:
    """The table rows of a text, found once, looked up by offset. A table is a run of at least two
    consecutive lines split into the same number (two or more) of cells by ``|`` or tabs: Markdown
    pipe tables and the rows ingest writes for HTML and DOCX tables; the first line is the header."""

    def __init__(self, text: str) -> None:
        self.rows: list[Row] = []
        caption = ""
        run: list[tuple[int, int, str]] = []
        for start, end, line in [*_lines(text), (len(text), len(text), "")]:
            if _may_be_row(line) or (run and _SEPARATOR.match(line)):
                run.append((start, end, line))
                continue
            self._table(run, caption)
            run = []
            if line.strip():
                caption = line.strip()
        self._starts = [r.start for r in self.rows]

    def _table(self, run: list[tuple[int, int, str]], caption: str) -> None:
        body = [(s, e, _cells(line)) for s, e, line in run if not _SEPARATOR.match(line)]
        if len(body) < 2:
            return
        header = [h or f"column {i + 1}" for i, h in enumerate(body[0][2])]
        width = len(header)
        if sum(len(cells) == width for _, _, cells in body[1:]) * 2 < len(body) - 1:
            return  # most lines do not share the header's columns: prose with pipes, not a table
        for start, end, cells in body[1:]:
            if len(cells) > width:  # a "|" inside the last cell (a command line)
                cells = [*cells[: width - 1], " | ".join(cells[width - 1 :])]
            self.rows.append(Row(start, end, dict(zip(header, cells, strict=False)), caption))

    def row_at(self, pos: int) -> Row | None:
        """The row holding offset ``pos``, if it is inside a table."""
        i = bisect.bisect_right(self._starts, pos) - 1
        if i >= 0 and self.rows[i].start <= pos < self.rows[i].end:
            return self.rows[i]
        return None
