"""Output files: safe names from any input name, and atomic writes that never follow a symlink.

A file is written to a temporary name in the same folder and renamed over the target, so a crash
leaves either the previous file or the new one, never half of one. The rename replaces a symlink
planted at the target name instead of writing through it, so nothing outside the folder is touched.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from contextlib import suppress
from pathlib import Path

from ttpmap.errors import ExportError

MAX_STEM_CHARS = 80
_MAX_STEM_BYTES = 160  # file names are at most 255 bytes; leave room for "-techniques.csv" and temp parts
_STEM_PUNCTUATION = "-_."


def safe_stem(name: str, fallback: str = "report") -> str:
    """A file stem from any name: Unicode letters and digits kept, anything else replaced by ``_``.

    The result never starts with ``.`` or ``-``, holds no path separator and fits in a file name.
    """
    name = unicodedata.normalize("NFC", name)
    stem = "".join(c if c.isalnum() or c in _STEM_PUNCTUATION else "_" for c in name)
    stem = stem.lstrip(".-")[:MAX_STEM_CHARS]
    while len(stem.encode()) > _MAX_STEM_BYTES:
        stem = stem[:-1]
    return stem or fallback


def unique_stem(name: str, used: set[str]) -> str:
    """``safe_stem(name)`` with ``-2``, ``-3``... added until it matches no stem in ``used`` (any case)."""
    stem = safe_stem(name)
    taken = {u.casefold() for u in used}
    candidate, n = stem, 2
    while candidate.casefold() in taken:
        candidate, n = f"{stem}-{n}", n + 1
    used.add(candidate)
    return candidate


def write_atomic(path: Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8) to ``path`` through a temporary file and a rename.

    Raises ExportError with the operating system's reason when the file cannot be written.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    path = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        # mkstemp makes the file private (0600); outputs get the permissions a new file normally has.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
