"""Word lists the team wrote, kept as data files under ``ttpmap/data/`` (one word or phrase a line,
``#`` starts a comment); loaded once per process."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def lines(name: str) -> tuple[str, ...]:
    """The non-empty, comment-free lines of ``data/<name>.txt`` (``name`` may hold a sub-folder)."""
    text = resources.files("ttpmap").joinpath("data", f"{name}.txt").read_text(encoding="utf-8")
    out = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in out if line)


@cache
def words(name: str) -> frozenset[str]:
    """Every whitespace-separated word of ``data/<name>.txt``, lower-cased."""
    return frozenset(w.lower() for line in lines(name) for w in line.split())


@cache
def records(name: str) -> tuple[tuple[str, ...], ...]:
    """The lines of ``data/<name>.txt`` split into fields at ``|`` (``key | value | value``), stripped."""
    return tuple(tuple(f.strip() for f in line.split("|")) for line in lines(name))
