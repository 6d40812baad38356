"""ttpmap: threat reports to ATT&CK-mapped tradecraft, attribution, mitigations and advisories."""

from __future__ import annotations

__version__ = "0.1.0"
