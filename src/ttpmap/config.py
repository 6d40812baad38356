"""Settings from flags, environment (``TTPMAP_*``) and defaults; the cache directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

DOMAINS = ("enterprise", "mobile", "ics")


def cache_dir() -> Path:
    """Directory for KB indexes, downloaded bundles and trained models (``TTPMAP_CACHE`` overrides)."""
    env = os.environ.get("TTPMAP_CACHE")
    path = Path(env) if env else Path(platformdirs.user_cache_dir("ttpmap"))
    path.mkdir(parents=True, exist_ok=True)
    return path


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


@dataclass(frozen=True)
class Settings:
    """Everything a pipeline run needs to know besides its inputs."""

    attack: str | None = field(default_factory=lambda: os.environ.get("TTPMAP_ATTACK") or None)
    domain: str = field(default_factory=lambda: os.environ.get("TTPMAP_DOMAIN", "enterprise"))
    limits: Limits = field(default_factory=Limits.from_env)
