"""Validate JSON that ttpmap prints against the committed schemas in ``schemas/``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@cache
def validator(version: str) -> Draft202012Validator:
    """The validator for a versioned document kind, e.g. ``ttpmap.analysis/1``."""
    schema = json.loads((SCHEMAS / f"{version.replace('/', '-')}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def assert_valid(data: Any) -> None:
    """``data`` names its schema version and matches that committed schema exactly."""
    assert isinstance(data, dict) and isinstance(data.get("schema"), str), "no schema version"
    errors = sorted(validator(data["schema"]).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
