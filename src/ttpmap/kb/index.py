"""The cached KB index: a JSON header line, then the knowledge base as columns of plain JSON data.

Nothing in the file is ever run as code. A file that is not what this module writes (corrupt,
tampered, written by another ttpmap or for another bundle) is refused, and the caller rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, fields
from itertools import chain, starmap
from pathlib import Path
from typing import Any

from ttpmap import __version__
from ttpmap.kb.model import (
    BundleInfo,
    Campaign,
    DataComponent,
    Group,
    Link,
    Mitigation,
    Procedure,
    Software,
    Tactic,
    Technique,
)
from ttpmap.kb.store import KnowledgeBase

FORMAT = "ttpmap.kb-index"
VERSION = 5
MAX_HEADER_BYTES = 4096
MAX_BYTES = 256 * 2**20  # a real index is 4-5 MB; anything far larger is not ours

# KB attribute -> record class; tables are dicts keyed by each record's own ID, lists keep their order
_TABLES: dict[str, type] = {
    "techniques": Technique,
    "groups": Group,
    "software": Software,
    "campaigns": Campaign,
    "mitigations": Mitigation,
    "data_components": DataComponent,
}
_LISTS: dict[str, type] = {
    "tactics": Tactic,
    "procedures": Procedure,
    "mitigates": Link,
    "detects": Link,
}
_INFO_TEXTS = ("source", "domain", "version", "sha256", "spec_version")


class IndexFormatError(ValueError):
    """Index data that does not have the shape of the knowledge base it claims to hold."""


def _only(values: Iterable[Any], *types: type, what: str) -> None:
    """Check the types of a whole column at once (the set is built in C, not in a Python loop)."""
    if not set(map(type, values)) <= set(types):
        raise IndexFormatError(f"expected {what}")


def _texts_in(column: Sequence[Any]) -> Sequence[str]:
    _only(column, str, what="strings")
    return column


def _optional_texts_in(column: Sequence[Any]) -> Sequence[str | None]:
    _only(column, str, type(None), what="strings or null")
    return column


def _text_tuples_in(column: Sequence[Any]) -> list[tuple[str, ...]]:
    _only(column, list, what="lists of strings")
    _only(chain.from_iterable(column), str, what="lists of strings")
    return list(map(tuple, column))


def _flat_spans(column: Iterable[tuple[tuple[int, int], ...]]) -> list[list[int]]:
    return [[i for span in spans for i in span] for spans in column]


def _spans_in(column: Sequence[Any]) -> list[tuple[tuple[int, int], ...]]:
    """(start, end) spans, stored flat as ``[s0, e0, s1, e1, ...]`` (far fewer JSON lists to parse)."""
    _only(column, list, what="lists of span offsets")
    _only(chain.from_iterable(column), int, what="integer span offsets")
    if any(n % 2 for n in set(map(len, column))):
        raise IndexFormatError("expected an even number of span offsets")
    out = []
    for flat in column:
        pairs = iter(flat)
        out.append(tuple(zip(pairs, pairs)))  # noqa: B905 - even lengths checked above; strict is slower
    return out


def _same(column: Iterable[Any]) -> list[Any]:
    return list(column)


# field annotation (as written in kb/model.py) -> (column to JSON, checked column from JSON)
_CODECS: dict[str, tuple[Callable[[Iterable[Any]], list[Any]], Callable[[Sequence[Any]], Sequence[Any]]]] = {
    "str": (_same, _texts_in),
    "str | None": (_same, _optional_texts_in),
    "tuple[str, ...]": (_same, _text_tuples_in),
    "tuple[tuple[int, int], ...]": (_flat_spans, _spans_in),
}


def _encode(cls: type, records: Sequence[Any]) -> dict[str, list[Any]]:
    return {f.name: _CODECS[str(f.type)][0](getattr(r, f.name) for r in records) for f in fields(cls)}


def _decode(cls: type, columns: Any) -> list[Any]:
    """Records from their columns, every value checked against the field's annotated type."""
    names = [f.name for f in fields(cls)]
    if type(columns) is not dict or set(columns) != set(names):
        raise IndexFormatError(f"expected the columns {', '.join(names)} of {cls.__name__}")
    _only(columns.values(), list, what=f"{cls.__name__} columns as lists")
    if len(set(map(len, columns.values()))) > 1:
        raise IndexFormatError(f"{cls.__name__} columns differ in length")
    values = [_CODECS[str(f.type)][1](columns[f.name]) for f in fields(cls)]
    return list(starmap(cls, zip(*values, strict=True)))


def _info(data: Any) -> BundleInfo:
    if type(data) is not dict or not set(_INFO_TEXTS) | {"counts"} <= set(data):
        raise IndexFormatError("expected the bundle info")
    texts = {name: data[name] for name in _INFO_TEXTS}
    _only(texts.values(), str, what="bundle info strings")
    counts = data["counts"]
    if type(counts) is not dict:
        raise IndexFormatError("expected counts as an object")
    _only(counts.values(), int, what="integer counts")
    return BundleInfo(**texts, counts=counts)


def to_data(kb: KnowledgeBase) -> dict[str, Any]:
    """Everything the KB holds as plain JSON-ready values, one column per record field."""
    data: dict[str, Any] = {"info": asdict(kb.info)}
    for key, cls in _TABLES.items():
        data[key] = _encode(cls, list(getattr(kb, key).values()))
    for key, cls in _LISTS.items():
        data[key] = _encode(cls, getattr(kb, key))
    data["revoked"] = dict(kb.revoked)
    data["deprecated"] = sorted(kb.deprecated)
    return data


def from_data(data: Any) -> KnowledgeBase:
    """The KB that :func:`to_data` described; IndexFormatError if any part has the wrong shape."""
    expected = {"info", "revoked", "deprecated", *_TABLES, *_LISTS}
    if type(data) is not dict or set(data) != expected:
        raise IndexFormatError("expected an object with the parts of a knowledge base")
    parts: dict[str, Any] = {key: {r.id: r for r in _decode(cls, data[key])} for key, cls in _TABLES.items()}
    parts.update((key, _decode(cls, data[key])) for key, cls in _LISTS.items())
    revoked = data["revoked"]
    if type(revoked) is not dict:
        raise IndexFormatError("expected revoked IDs as an object")
    _only(revoked.values(), str, what="revoked IDs mapped to strings")
    if type(data["deprecated"]) is not list:
        raise IndexFormatError("expected deprecated IDs as a list")
    deprecated = set(_texts_in(data["deprecated"]))
    return KnowledgeBase(info=_info(data["info"]), **parts, revoked=revoked, deprecated=deprecated)


def header(digest: str, payload: bytes) -> dict[str, Any]:
    """What an index must declare to be used: its format, who wrote it, for which bundle, its checksum."""
    return {
        "format": FORMAT,
        "index_version": VERSION,
        "ttpmap": __version__,
        "bundle_sha256": digest,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }


def dumps(kb: KnowledgeBase, digest: str) -> bytes:
    """The index file of the bundle with sha256 ``digest``: a header line, then the data on one line."""
    payload = json.dumps(to_data(kb), separators=(",", ":")).encode()
    return json.dumps(header(digest, payload), sort_keys=True).encode() + b"\n" + payload


def read(path: Path, digest: str) -> KnowledgeBase | None:
    """The KB indexed in ``path`` for the bundle ``digest``; None if missing, corrupt or foreign."""
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_BYTES:
                return None
            head, payload = fh.readline(MAX_HEADER_BYTES), fh.read()
    except OSError:
        return None
    try:
        if json.loads(head) != header(digest, payload):
            return None
        kb = from_data(json.loads(payload))
    except (ValueError, RecursionError):  # not JSON (or too deeply nested), or not a KB's shape
        return None
    return kb if kb.info.sha256 == digest else None
