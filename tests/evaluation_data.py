"""Where the development/evaluation data (never shipped) lives, if this machine has it.

The one place tests look for it: ``TTPMAP_EVAL_DATA``, else ``shared/data`` beside the checkout (as laid
out for developers and CI). Tests that read it skip cleanly when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    candidates = [
        os.environ.get("TTPMAP_EVAL_DATA", ""),
        _ROOT.parent / "shared" / "data",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return _ROOT / "no-evaluation-data"


DATA = _find()
V18_1 = DATA / "mitre-attack" / "enterprise-attack-18.1.stix20.rebuilt.json.gz"
