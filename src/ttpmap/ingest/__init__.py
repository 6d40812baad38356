"""Ingest: turn report bytes (PDF, HTML, Markdown, text, DOCX, STIX) into a Document with sentences.

Everything here treats its input as untrusted: sizes, page counts and time are limited, and each
failure is an InputError whose one-line message names the file and the cause.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import select
import stat
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from ttpmap.config import Limits
from ttpmap.errors import InputError, InputTooLarge
from ttpmap.ingest.bounded import run_bounded
from ttpmap.ingest.detect import MEDIA_TYPES, detect_media_type
from ttpmap.ingest.text import Extracted, check_chars, check_line_length, first_line, tidy
from ttpmap.models import Document
from ttpmap.text import split_sentences

__all__ = [
    "MEDIA_TYPES",
    "detect_media_type",
    "expand_sources",
    "extract",
    "from_text",
    "load",
    "read_stream",
    "split_sentences",
]

STDIN = "-"

# Readers are imported on first use: pypdf, trafilatura and python-docx take most of a second to
# import, which every CLI start would otherwise pay.
_READERS = {
    "pdf": ("ttpmap.ingest.pdf", "read_pdf"),
    "html": ("ttpmap.ingest.html", "read_html"),
    "markdown": ("ttpmap.ingest.text", "read_markdown"),
    "text": ("ttpmap.ingest.text", "read_text"),
    "docx": ("ttpmap.ingest.docx", "read_docx"),
    "stix": ("ttpmap.ingest.stix", "read_stix"),
}
_BOM = b"\xef\xbb\xbf"


def load(source: str | Path, *, data: bytes | None = None, limits: Limits | None = None) -> Document:
    """Read one report and return its Document; ``source`` "-" means stdin, whose bytes come in ``data``.

    The type is detected from the content (the file name only breaks ties). Raises InputError.
    """
    limits = limits or Limits.from_env()
    name = str(source)
    if data is None:
        if name == STDIN:
            raise ValueError('load("-") needs the bytes read from stdin as data=')
        data = _read_file(Path(source), limits)
    elif len(data) > limits.max_bytes:
        raise _too_large(len(data), limits, name)
    if not data.removeprefix(_BOM).strip():
        raise InputError("empty input", source=name)

    raw: bytes = data
    found = run_bounded(lambda: extract(raw, name, limits), limits, name)
    text, media_type = found["text"], found["media_type"]
    extracted = Extracted(text, found["title"], found["metadata"])
    title = first_line(extracted.title) or first_line(text) or _display_name(name)
    return Document(
        text=text,
        title=title,
        source=name,
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=media_type,
        sentences=split_sentences(text),
        metadata={"bytes": len(data), **extracted.metadata},
    )


def extract(data: bytes, name: str, limits: Limits) -> dict[str, Any]:
    """Detect, read and tidy one input within ``limits`` (no deadline here; ``load`` adds it).

    Returns ``{"media_type", "text", "title", "metadata"}``; raises InputError.
    """
    media_type = detect_media_type(data, name, source=name)
    extracted = _reader(media_type)(data, source=name, limits=limits)
    check_chars(len(extracted.text), limits, name)
    text = tidy(extracted.text)
    if not text:
        raise InputError("no text found", source=name)
    check_line_length(text, name)
    return {"media_type": media_type, "text": text, "title": extracted.title, "metadata": extracted.metadata}


def read_stream(stream: BinaryIO | int, limits: Limits, name: str = STDIN) -> bytes:
    """Read a stream (stdin, a pipe, a FIFO) up to the byte limit, giving up after ``max_seconds``.

    Never reads more than ``max_bytes + 1`` bytes and never blocks past the deadline; raises InputError.
    """
    try:
        fd = stream if isinstance(stream, int) else stream.fileno()
    except (AttributeError, OSError, ValueError):  # an in-memory stream: no waiting, only the cap
        assert not isinstance(stream, int)
        data = stream.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            raise _stream_too_large(limits, name) from None
        return data
    end = time.monotonic() + limits.max_seconds
    chunks: list[bytes] = []
    total = 0
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise InputTooLarge(
                f"input did not end within {limits.max_seconds:g} s (TTPMAP_MAX_SECONDS)", source=name
            )
        try:
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, min(2**20, limits.max_bytes + 1 - total))
        except BlockingIOError:
            time.sleep(0.01)
            continue
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", source=name) from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limits.max_bytes:
            raise _stream_too_large(limits, name)


def _stream_too_large(limits: Limits, name: str) -> InputTooLarge:
    return InputTooLarge(
        f"input is larger than the {_size(limits.max_bytes)} limit and was not read further "
        "(TTPMAP_MAX_BYTES)",
        source=name,
    )


def from_text(text: str, *, source: str = "text", title: str | None = None) -> Document:
    """A Document from text that is already clean (corpora, tests, benchmarks): no limits or readers."""
    return Document(
        text=text,
        title=title or source,
        source=source,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        media_type="text",
        sentences=split_sentences(text),
    )


def expand_sources(paths: Iterable[str]) -> list[str]:
    """Files as given, folders expanded to the files under them (sorted, hidden ones skipped), "-" kept.

    Raises InputError naming the first path that does not exist.
    """
    expanded: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        if path not in seen:
            seen.add(path)
            expanded.append(path)

    for raw in paths:
        if raw == STDIN:
            add(raw)
        elif os.path.isdir(raw):
            for root, dirs, files in os.walk(raw):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for file in sorted(files):
                    if not file.startswith("."):
                        add(os.path.join(root, file))
        elif os.path.exists(raw):
            add(raw)
        else:
            raise InputError("no such file or directory", source=raw)
    return expanded


def _reader(media_type: str) -> Callable[..., Extracted]:
    module, function = _READERS[media_type]
    reader: Callable[..., Extracted] = getattr(importlib.import_module(module), function)
    return reader


def _read_file(path: Path, limits: Limits) -> bytes:
    name = str(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputError("is a directory", source=name)
        if info.st_size > limits.max_bytes:
            raise _too_large(info.st_size, limits, name)
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or device: no size to stat, and opening it normally could block forever.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                return read_stream(fd, limits, name)
            finally:
                os.close(fd)
        with path.open("rb") as stream:
            # Read one byte past the limit: the file may have grown since stat.
            data = stream.read(limits.max_bytes + 1)
    except FileNotFoundError:
        raise InputError("no such file", source=name) from None
    except PermissionError:
        raise InputError("permission denied", source=name) from None
    except IsADirectoryError:
        raise InputError("is a directory", source=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source=name) from None
    if len(data) > limits.max_bytes:
        raise _too_large(len(data), limits, name)
    return data


def _too_large(size: int, limits: Limits, name: str) -> InputTooLarge:
    actual, limit = _size(size), _size(limits.max_bytes)
    if actual == limit:
        actual = f"{size:,} bytes"
    return InputTooLarge(f"file is {actual}, over the {limit} limit (TTPMAP_MAX_BYTES)", source=name)


def _size(size: int) -> str:
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size:,} bytes"


def _display_name(name: str) -> str:
    return "stdin" if name == STDIN else Path(name).name or name
