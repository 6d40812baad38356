"""STIX 2.0/2.1 bundle reader: the text of its reports and of the objects they reference."""

from __future__ import annotations

import json
from typing import Any

from ttpmap.config import Limits
from ttpmap.errors import InputError, InputTooLarge
from ttpmap.ingest.text import Extracted, markdown_to_text

_LABELS = {
    "attack-pattern": "Technique",
    "campaign": "Campaign",
    "course-of-action": "Mitigation",
    "identity": "Identity",
    "infrastructure": "Infrastructure",
    "intrusion-set": "Group",
    "location": "Location",
    "malware": "Malware",
    "threat-actor": "Threat actor",
    "tool": "Tool",
    "vulnerability": "Vulnerability",
    "x-mitre-tactic": "Tactic",
}
# Cyber observables and the property that holds their value.
_OBSERVABLES = {
    "ipv4-addr": "value",
    "ipv6-addr": "value",
    "domain-name": "value",
    "url": "value",
    "email-addr": "value",
    "mac-addr": "value",
    "windows-registry-key": "key",
    "mutex": "name",
    "directory": "path",
}
_ATTACK_SOURCES = frozenset({"mitre-attack", "mitre-mobile-attack", "mitre-ics-attack"})


def read_stix(data: bytes, *, source: str | None = None, limits: Limits | None = None) -> Extracted:
    """Read a STIX bundle: its report names and descriptions, then the objects they reference."""
    try:
        bundle = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise InputError(f"malformed STIX JSON: {detail}", source=source) from None
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise InputError('not a STIX bundle: the JSON has no top-level "type": "bundle"', source=source)
    objects = bundle.get("objects")
    if not isinstance(objects, list):
        raise InputError('malformed STIX bundle: "objects" is missing or not a list', source=source)
    limit = (limits or Limits()).max_elements
    if len(objects) > limit:
        raise InputTooLarge(
            f"STIX bundle has {len(objects):,} objects, over the {limit:,} limit (TTPMAP_MAX_ELEMENTS)",
            source=source,
        )
    objects = [obj for obj in objects if isinstance(obj, dict)]
    by_id = {obj["id"]: obj for obj in objects if isinstance(obj.get("id"), str)}
    reports = [obj for obj in objects if obj.get("type") == "report"]
    if not reports:
        raise InputError("STIX bundle has no report object", source=source)

    blocks: list[str] = []
    seen: set[str] = set()
    for report in reports:
        blocks.append(_string(report.get("name")))
        blocks.append(_prose(report.get("description")))
        refs = report.get("object_refs")
        for ref in refs if isinstance(refs, list) else []:
            if isinstance(ref, str) and ref in by_id and ref not in seen:
                seen.add(ref)
                blocks.extend(_describe(by_id[ref], by_id))
    title = next((name for name in (_string(r.get("name")) for r in reports) if name), "")
    metadata: dict[str, Any] = {
        "reports": len(reports),
        "objects": len(objects),
        "spec_version": _string(bundle.get("spec_version") or reports[0].get("spec_version") or "2.1"),
    }
    return Extracted("\n\n".join(block for block in blocks if block), title, metadata)


def _describe(obj: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[str]:
    """Lines of text for one referenced object: a labelled name line, then its description."""
    kind = _string(obj.get("type"))
    if kind == "relationship":
        source = _string(by_id.get(_string(obj.get("source_ref")), {}).get("name"))
        target = _string(by_id.get(_string(obj.get("target_ref")), {}).get("name"))
        verb = _string(obj.get("relationship_type")).replace("-", " ")
        line = f"{source} {verb} {target}." if source and target and verb else ""
        return [line, _prose(obj.get("description"))]
    if kind == "indicator":
        return [_labelled("Indicator", obj), _string(obj.get("pattern")), _prose(obj.get("description"))]
    if kind in _OBSERVABLES:
        value = _string(obj.get(_OBSERVABLES[kind]))
        return [f"Observable ({kind}): {value}" if value else ""]
    if kind == "file":
        hashes = obj.get("hashes")
        hashes = hashes if isinstance(hashes, dict) else {}
        values = [_string(obj.get("name")), *(_string(v) for v in hashes.values())]
        return [f"File: {' '.join(v for v in values if v)}" if any(values) else ""]
    if kind == "note":
        return [_prose(obj.get("abstract")), _prose(obj.get("content"))]
    if kind == "opinion":
        return [_prose(obj.get("explanation"))]
    label = _LABELS.get(kind, kind.replace("-", " ").capitalize())
    return [_labelled(label, obj), _prose(obj.get("description"))]


def _labelled(label: str, obj: dict[str, Any]) -> str:
    name = _string(obj.get("name"))
    if not name:
        return ""
    attack_id = _attack_id(obj)
    return f"{label}: {name} ({attack_id})" if attack_id else f"{label}: {name}"


def _attack_id(obj: dict[str, Any]) -> str:
    refs = obj.get("external_references")
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, dict) and ref.get("source_name") in _ATTACK_SOURCES:
            return _string(ref.get("external_id"))
    return ""


def _prose(value: Any) -> str:
    # Descriptions are Markdown in ATT&CK and in many producers' bundles.
    return markdown_to_text(value)[0].strip() if isinstance(value, str) else ""


def _string(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""
