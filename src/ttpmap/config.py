"""Settings from flags, environment (``TTPMAP_*``) and defaults; the cache directory.

The one place the environment is read, shared by the CLI and the Python API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import platformdirs

DOMAINS = ("enterprise", "mobile", "ics")


def cache_dir() -> Path:
    """Directory for KB indexes, downloaded bundles and trained models (``TTPMAP_CACHE`` overrides)."""
    env = os.environ.get("TTPMAP_CACHE")
    path = Path(env) if env else Path(platformdirs.user_cache_dir("ttpmap"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def attack_source() -> str | None:
    """The ATT&CK bundle path or URL named by ``TTPMAP_ATTACK``, if any (a ``--attack`` flag wins)."""
    return os.environ.get("TTPMAP_ATTACK", "").strip() or None


def attack_base_url() -> str | None:
    """Where `ttpmap kb update` fetches releases from, if ``TTPMAP_ATTACK_BASE_URL`` overrides MITRE's."""
    return os.environ.get("TTPMAP_ATTACK_BASE_URL", "").strip() or None


def debug() -> bool:
    """``TTPMAP_DEBUG`` set: show tracebacks of unexpected errors instead of one line."""
    return bool(os.environ.get("TTPMAP_DEBUG"))


def build_time() -> datetime:
    """Now (UTC, whole seconds), or ``SOURCE_DATE_EPOCH`` when set, so outputs are reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """Guards applied while ingesting untrusted input."""

    max_bytes: int = 50 * 1024 * 1024
    max_pdf_pages: int = 500
    max_seconds: float = 120.0
    max_chars: int = 5_000_000

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults overridden by ``TTPMAP_MAX_BYTES``, ``TTPMAP_MAX_PAGES``, ``TTPMAP_MAX_SECONDS``."""
        base = cls()
        return replace(
            base,
            max_bytes=_env_int("TTPMAP_MAX_BYTES", base.max_bytes),
            max_pdf_pages=_env_int("TTPMAP_MAX_PAGES", base.max_pdf_pages),
            max_seconds=float(_env_int("TTPMAP_MAX_SECONDS", int(base.max_seconds))),
        )
