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
    if "\t" in line and "|" not in line:
        return [c.strip() for c in line.split("\t")]
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_row(line: str) -> bool:
    stripped = line.strip()
    return (stripped.startswith("|") and stripped.count("|") >= 2) or (
        line.count("\t") >= 1 and len([c for c in line.split("\t") if c.strip()]) >= 2
    )


class Tables:
    """The table rows of a text, found once, looked up by offset."""

    def __init__(self, text: str) -> None:
        self.rows: list[Row] = []
        offset = 0
        header: list[str] = []
        caption = ""
        last_prose = ""
        in_table = False
        for line in text.splitlines(keepends=True):
            start, end = offset, offset + len(line.rstrip("\r\n"))
            offset += len(line)
            if not _is_row(line):
                in_table = False
                if line.strip():
                    last_prose = line.strip()
                continue
            cells = _cells(line)
            if not in_table:
                in_table, header, caption = True, cells, last_prose
                continue
            if _SEPARATOR.match(line):
                continue
            names = [h or f"column {i + 1}" for i, h in enumerate(header)]
            named = {names[i] if i < len(names) else f"column {i + 1}": c for i, c in enumerate(cells)}
            self.rows.append(Row(start, end, named, caption))
        self._starts = [r.start for r in self.rows]

    def row_at(self, pos: int) -> Row | None:
        """The row holding offset ``pos``, if it is inside a table."""
        i = bisect.bisect_right(self._starts, pos) - 1
        if i >= 0 and self.rows[i].start <= pos < self.rows[i].end:
            return self.rows[i]
        return None
