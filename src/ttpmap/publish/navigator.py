"""ATT&CK Navigator layer (format 4.5) of the observed techniques."""

from __future__ import annotations

import json
from typing import Any

from ttpmap import __version__
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis
from ttpmap.publish.context import (
    NAVIGATOR_DOMAINS,
    attack_version,
    best_evidence,
    major_version,
    tactics_of,
)
from ttpmap.publish.markup import one_line, truncate

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
GRADIENT = ["#ffffff", "#ff6666", "#b30000"]
PARENT_COLOR = "#fde0dd"
COMMENT_CHARS = 300
EVIDENCE_ITEMS = 3


def to_layer(
    analysis: Analysis, kb: KnowledgeBase | None = None, *, name: str | None = None
) -> dict[str, Any]:
    """The layer as a dict: one entry per (technique, tactic), score 0-100, evidence as comment/metadata.

    Parents of observed sub-techniques get ``showSubtechniques`` so the sub-technique is visible; a
    parent that was not itself observed carries no score.
    """
    entries: list[dict[str, Any]] = []
    observed = {t.id for t in analysis.techniques}
    expand: dict[str, set[str]] = {}
    for technique in sorted(analysis.techniques, key=lambda t: (-t.score, t.id)):
        tactics = tactics_of(technique, kb)
        best = best_evidence(technique)
        metadata = [{"name": "origin", "value": technique.origin}]
        metadata += [
            {"name": "evidence", "value": truncate(e.text, COMMENT_CHARS)}
            for e in sorted(technique.evidence, key=lambda e: -e.score)[:EVIDENCE_ITEMS]
        ]
        if technique.evidence:
            metadata.append({"name": "evidence span", "value": f"{best.start}-{best.end}" if best else ""})
        comment = truncate(best.text, COMMENT_CHARS) if best else f"Observed ({technique.origin})"
        for tactic in tactics or [""]:
            entry: dict[str, Any] = {"techniqueID": technique.id}
            if tactic:
                entry["tactic"] = tactic
            entry.update(
                score=_score(technique.score),
                comment=comment,
                enabled=True,
                metadata=metadata,
                showSubtechniques=False,
            )
            entries.append(entry)
        if "." in technique.id:
            parent = technique.id.split(".", 1)[0]
            for tactic in tactics:
                expand.setdefault(parent, set()).add(tactic)
    for entry in entries:
        entry["showSubtechniques"] = entry.get("tactic") in expand.get(entry["techniqueID"], set())
    for parent, parent_tactics in sorted(expand.items()):
        if parent in observed:
            continue
        for tactic in sorted(parent_tactics):
            entries.append(
                {
                    "techniqueID": parent,
                    "tactic": tactic,
                    "color": PARENT_COLOR,
                    "comment": "Parent of an observed sub-technique",
                    "enabled": True,
                    "metadata": [],
                    "showSubtechniques": True,
                }
            )
    version = attack_version(analysis, kb)
    title = one_line(analysis.document.title) or "ttpmap analysis"
    return layer_document(
        name=truncate(name or title, 120),
        attack_version=version,
        domain=analysis.attack.domain,
        description=(
            f"Techniques observed in '{title}' (sha256 {analysis.document.sha256[:12]}), mapped by "
            f"ttpmap {__version__}; score = model confidence x 100; needs analyst review."
        ),
        entries=entries,
        legend=[
            ("Observed, high confidence (score 80-100)", GRADIENT[2]),
            ("Observed, lower confidence (score below 80)", GRADIENT[1]),
            ("Parent of an observed sub-technique", PARENT_COLOR),
        ],
        metadata=[("source", one_line(analysis.document.source)), ("sha256", analysis.document.sha256)],
    )


def layer_document(
    *,
    name: str,
    attack_version: str,
    domain: str,
    description: str,
    entries: list[dict[str, Any]],
    legend: list[tuple[str, str]],
    metadata: list[tuple[str, str]],
    gradient: list[str] | None = None,
) -> dict[str, Any]:
    """A Navigator 4.5 layer around ``entries``: the one place the layer's fixed settings are written."""
    return {
        "name": name,
        "versions": {
            "attack": major_version(attack_version),
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": NAVIGATOR_DOMAINS.get(domain, "enterprise-attack"),
        "description": truncate(description, 500),
        "sorting": 3,
        "layout": {
            "layout": "side",
            "aggregateFunction": "max",
            "showID": True,
            "showName": True,
            "showAggregateScores": False,
            "countUnscored": False,
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": False,
        "techniques": entries,
        "gradient": {"colors": gradient or GRADIENT, "minValue": 0, "maxValue": 100},
        "legendItems": [{"label": label, "color": color} for label, color in legend],
        "metadata": [
            {"name": "generated by", "value": f"ttpmap {__version__}"},
            *({"name": key, "value": value} for key, value in metadata),
        ],
        "links": [],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
    }


def to_json(analysis: Analysis, kb: KnowledgeBase | None = None) -> str:
    """The layer serialised as the Navigator expects it (UTF-8 JSON)."""
    return json.dumps(to_layer(analysis, kb), indent=2, ensure_ascii=False) + "\n"


def _score(score: float) -> int:
    return max(0, min(100, round(score * 100)))
