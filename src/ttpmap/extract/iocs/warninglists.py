"""MISP warning lists (shipped offline in the PyPI package ``pymispwarninglists``): which lists a value
hits. The ~2.5 million entries are indexed once into an SQLite file in the cache (keyed by the package
version), so a lookup is a handful of indexed queries and opening the index takes milliseconds.

Matching follows MISP's list types: ``string`` lists match exactly (an entry written ``.name`` also
matches its sub-domains), ``hostname`` lists match the name and its sub-domains, ``cidr`` lists match
addresses inside a network (each supernet of the address is looked up), ``substring`` lists are matched
as host names. ``regex`` lists are not used. How each list is read is ``data/ioc/warninglists.txt``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path

from ttpmap.config import cache_dir
from ttpmap.lexicon import lines

KINDS = ("reserved", "benign", "scanner", "service", "hosting", "popular")  # most telling first
_INDEX_VERSION = 2


@dataclass(frozen=True)
class Hit:
    """One warning list a value hits (by the list's MISP identifier, e.g. ``public-dns-v4``); ``exact``
    when the entry is the value itself (not a parent domain or an enclosing network)."""

    name: str
    kind: str
    exact: bool


@cache
def list_kinds() -> dict[str, str]:
    """Warning-list name -> how ttpmap reads it (one of ``KINDS``), from ``data/ioc/warninglists.txt``."""
    out: dict[str, str] = {}
    for line in lines("ioc/warninglists"):
        name, kind = line.split()
        if kind not in KINDS:
            raise ValueError(f"data/ioc/warninglists.txt: unknown kind {kind!r} for {name}")
        out[name] = kind
    return out


def _lists_dir() -> Path:
    return Path(str(resources.files("pymispwarninglists"))) / "data" / "misp-warninglists" / "lists"


def _entries(kind_of_list: str, entry: str) -> tuple[str, int] | None:
    """(normalised entry, 1 if it also covers sub-domains) or None for entries we cannot match."""
    value = entry.strip().lower()
    if not value:
        return None
    if "/" in value or ":" in value or value.replace(".", "").isdigit():
        try:
            return str(ipaddress.ip_network(value, strict=False)), 0
        except ValueError:
            return None
    if kind_of_list in ("hostname", "substring"):
        return value.lstrip("."), 1
    if value.startswith("."):
        return value[1:], 1
    return value, 0


def _build(path: Path) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    db = sqlite3.connect(tmp)
    db.execute("CREATE TABLE lists (id INTEGER PRIMARY KEY, name TEXT, kind TEXT)")
    db.execute("CREATE TABLE entries (value TEXT, list INTEGER, subdomains INTEGER)")
    kinds = list_kinds()
    for number, (name, kind) in enumerate(sorted(kinds.items())):
        file = _lists_dir() / name / "list.json"
        if not file.is_file():
            continue
        data = json.loads(file.read_text(encoding="utf-8"))
        if data.get("type") == "regex":
            continue
        db.execute("INSERT INTO lists VALUES (?, ?, ?)", (number, name, kind))
        rows = {e for e in (_entries(data.get("type", "string"), str(x)) for x in data.get("list", [])) if e}
        db.executemany("INSERT INTO entries VALUES (?, ?, ?)", ((v, number, s) for v, s in rows))
    db.execute("CREATE INDEX entries_value ON entries (value)")
    db.commit()
    db.close()
    os.replace(tmp, path)


class WarningLists:
    """Look-ups in the indexed warning lists; build with ``WarningLists.open()``."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._names = {i: (n, k) for i, n, k in self._db.execute("SELECT id, name, kind FROM lists")}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: Path | None = None) -> WarningLists:
        """The index in ``directory`` (default the ttpmap cache), built on first use."""
        version = metadata.version("pymispwarninglists")
        path = (directory or cache_dir()) / f"warninglists-{version}-{_INDEX_VERSION}.sqlite"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            _build(path)
        return cls(path)

    def _query(self, keys: list[str]) -> list[tuple[str, int, int]]:
        marks = ",".join("?" * len(keys))
        with self._lock:
            return list(
                self._db.execute(
                    f"SELECT value, list, subdomains FROM entries WHERE value IN ({marks})", keys
                )
            )

    def _collect(self, rows: list[tuple[str, int, int]], value: str, parents_ok: bool) -> list[Hit]:
        best: dict[int, bool] = {}
        for entry, list_id, subdomains in rows:
            exact = entry == value
            if exact or (parents_ok and subdomains) or not parents_ok:
                best[list_id] = best.get(list_id, False) or exact
        hits = [Hit(*self._names[i], exact=e) for i, e in best.items()]
        return sorted(hits, key=lambda h: (not h.exact, KINDS.index(h.kind), h.name))

    def host(self, name: str) -> list[Hit]:
        """The lists a host name hits (itself, or a parent domain where the list covers sub-domains)."""
        name = name.strip().lower().rstrip(".")
        labels = name.split(".")
        keys = [".".join(labels[i:]) for i in range(len(labels) - 1)] or [name]
        return self._collect(self._query(keys), name, parents_ok=True)

    def address(self, value: str) -> list[Hit]:
        """The lists an IP address or network falls in (exact when a list names it alone)."""
        try:
            net = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            return []
        keys = [str(net.supernet(new_prefix=p)) for p in range(net.prefixlen, -1, -1)]
        rows = self._query(keys)
        own = str(net)
        single = {own, str(net.network_address)}
        hits = self._collect([(e, i, 1) for e, i, _ in rows], own, parents_ok=True)
        return [
            Hit(h.name, h.kind, any(e in single for e, i, _ in rows if self._names[i][0] == h.name))
            for h in hits
        ]

    def exact(self, value: str) -> list[Hit]:
        """The lists holding exactly ``value`` (hashes, file names)."""
        value = value.strip().lower()
        return self._collect(self._query([value]), value, parents_ok=False)


_shared: WarningLists | None = None
_shared_lock = threading.Lock()


def warninglists() -> WarningLists:
    """The process-wide index (opened, and built if needed, on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WarningLists.open()
        return _shared
