"""ttpmap: threat reports to ATT&CK-mapped tradecraft, attribution, mitigations and advisories."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("ttpmap")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "Analysis": "ttpmap.models",
    "KnowledgeBase": "ttpmap.kb",
    "load_kb": "ttpmap.kb",
    "Options": "ttpmap.pipeline",
    "analyze": "ttpmap.pipeline",
    "analyze_many": "ttpmap.pipeline",
}


def __getattr__(name: str) -> Any:
    """Import the public API lazily so `import ttpmap.kb` and the CLI start fast."""
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ttpmap' has no attribute {name!r}")


__all__ = ["Analysis", "KnowledgeBase", "Options", "__version__", "analyze", "analyze_many", "load_kb"]
