"""ATT&CK Navigator layer of technique frequencies over a selection of stored documents."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ttpmap import __version__
from ttpmap.kb import KnowledgeBase
from ttpmap.publish.markup import truncate
from ttpmap.publish.navigator import PARENT_COLOR, layer_document

GRADIENT = ["#ffffff", "#9ecae1", "#08519c"]


def corpus_layer(
    total: int, counts: Mapping[str, int], kb: KnowledgeBase, *, name: str = "", selection: str = ""
) -> dict[str, Any]:
    """One entry per (technique, tactic) scored by the percentage of selected documents showing it."""
    entries: list[dict[str, Any]] = []
    expand: dict[str, set[str]] = {}
    for tid, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        technique = kb.techniques.get(tid)
        tactics = list(technique.tactics) if technique else []
        share = n / total if total else 0.0
        comment = f"{n} of {total} documents ({share:.0%})"
        for tactic in tactics or [""]:
            entry: dict[str, Any] = {"techniqueID": tid}
            if tactic:
                entry["tactic"] = tactic
            entry.update(
                score=round(100 * share),
                comment=comment,
                enabled=True,
                metadata=[{"name": "documents", "value": str(n)}],
                showSubtechniques=False,
            )
            entries.append(entry)
        if "." in tid:
            expand.setdefault(tid.split(".", 1)[0], set()).update(tactics)
    for entry in entries:
        entry["showSubtechniques"] = entry.get("tactic") in expand.get(entry["techniqueID"], set())
    for parent, parent_tactics in sorted(expand.items()):
        if parent in counts:
            continue
        entries += [
            {
                "techniqueID": parent,
                "tactic": tactic,
                "color": PARENT_COLOR,
                "comment": "Parent of a sub-technique seen in the corpus",
                "enabled": True,
                "metadata": [],
                "showSubtechniques": True,
            }
            for tactic in sorted(parent_tactics)
        ]
    where = selection or "all stored documents"
    return layer_document(
        name=truncate(name or f"ttpmap corpus: {where}", 120),
        attack_version=kb.info.version,
        domain=kb.info.domain,
        description=(
            f"Technique frequency over {total} documents ({where}), mapped by ttpmap {__version__}; "
            "score = % of documents in which the technique was found; comments give document counts."
        ),
        entries=entries,
        legend=[
            ("Found in most selected documents (score near 100)", GRADIENT[2]),
            ("Found in a few selected documents", GRADIENT[1]),
            ("Parent of a sub-technique seen in the corpus", PARENT_COLOR),
        ],
        metadata=[("documents", str(total)), ("selection", truncate(where, 300))],
        gradient=GRADIENT,
    )


def to_json(layer: Mapping[str, Any]) -> str:
    """The layer as UTF-8 JSON text."""
    return json.dumps(layer, indent=2, ensure_ascii=False) + "\n"
