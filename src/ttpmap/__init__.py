"""ttpmap: threat reports to ATT&CK-mapped tradecraft, attribution, mitigations and advisories."""

from __future__ import annotations

__version__ = "0.1.0"

from ttpmap.kb import KnowledgeBase, load_kb  # noqa: E402
from ttpmap.models import Analysis  # noqa: E402
from ttpmap.pipeline import Options, analyze, analyze_many  # noqa: E402

__all__ = ["Analysis", "KnowledgeBase", "Options", "__version__", "analyze", "analyze_many", "load_kb"]
