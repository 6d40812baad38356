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


def _env_number(name: str, default: float, *, integer: bool) -> float:
    """A positive number from the environment; anything else is a UsageError naming the variable."""
    from ttpmap.errors import UsageError

    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number of seconds"
        raise UsageError(f"{name}={raw!r} is not {kind}") from None
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{name}={raw!r} must be greater than zero")
    return value


# Each limit: (field, environment variable, whole number?).
LIMIT_VARIABLES: tuple[tuple[str, str, bool], ...] = (
    ("max_bytes", "TTPMAP_MAX_BYTES", True),
    ("max_expanded_bytes", "TTPMAP_MAX_EXPANDED_BYTES", True),
    ("max_chars", "TTPMAP_MAX_CHARS", True),
    ("max_pdf_pages", "TTPMAP_MAX_PAGES", True),
    ("max_elements", "TTPMAP_MAX_ELEMENTS", True),
    ("max_seconds", "TTPMAP_MAX_SECONDS", False),
    ("max_memory_mb", "TTPMAP_MAX_MEMORY_MB", True),
    ("max_iocs", "TTPMAP_MAX_IOCS", True),
)


@dataclass(frozen=True)
class Limits:
    """The budget every untrusted input is read within, and the cap on exported indicators."""

    max_bytes: int = 50 * 1024 * 1024
    """Input size in bytes (files and stdin)."""
    max_expanded_bytes: int = 100 * 1024 * 1024
    """Total uncompressed size of a DOCX (ZIP) archive."""
    max_chars: int = 5_000_000
    """Extracted text in characters."""
    max_pdf_pages: int = 500
    """PDF pages."""
    max_elements: int = 200_000
    """HTML elements, DOCX paragraphs and table rows, STIX objects."""
    max_seconds: float = 120.0
    """Wall-clock time to read and extract one input."""
    max_memory_mb: int = 1024
    """Extra memory the reader of one input may use, in MiB."""
    max_iocs: int = 5_000
    """Indicators kept in an analysis and its exports; the rest are counted in a note."""

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults overridden by the ``TTPMAP_MAX_*`` variables in LIMIT_VARIABLES (validated)."""
        base = cls()
        values = {
            name: _env_number(var, getattr(base, name), integer=integer)
            for name, var, integer in LIMIT_VARIABLES
        }
        return replace(base, **values)  # type: ignore[arg-type]
