"""The JSON Schemas of ttpmap's versioned outputs, generated from the models.

``python -m ttpmap.schema [DIR]`` writes them (default: ``schemas/`` at the repository root);
``--check`` exits 1 when the files in DIR differ from what the models generate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ttpmap.models import Analysis, AttributionReport, MitigationReport

# file name -> the model whose serialised form it describes
MODELS: dict[str, type[BaseModel]] = {
    "ttpmap.analysis-1.json": Analysis,
    "ttpmap.attribution-1.json": AttributionReport,
    "ttpmap.mitigation-1.json": MitigationReport,
}


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of what ``model`` serialises to, keys as emitted."""
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    version = model.model_fields["schema_"].default
    name = str(version).replace("/", "-")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://ttpmap.invalid/schemas/{name}.json",
        **schema,
    }


def render(model: type[BaseModel]) -> str:
    """The schema file's text: stable key order, two-space indent, final newline."""
    return json.dumps(json_schema(model), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) every schema file in DIR."""
    parser = argparse.ArgumentParser(prog="python -m ttpmap.schema", description=__doc__)
    parser.add_argument("directory", nargs="?", type=Path, default=Path("schemas"))
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for name, model in MODELS.items():
        path = args.directory / name
        text = render(model)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale schema files (run python -m ttpmap.schema): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
