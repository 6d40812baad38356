"""Small ATT&CK bundles for tests, cut from the embedded official v15.0 bundle (and its STIX 2.1 form)."""

from __future__ import annotations

import copy
import json
import uuid
from functools import lru_cache
from typing import Any

from ttpmap.kb import embedded_bundle

# enough of Enterprise ATT&CK to exercise every kind of object and relation
SLICE_IDS = frozenset(
    {
        "T1190",
        "T1059",
        "T1059.001",
        "T1086",  # revoked by T1059.001
        "T1003",
        "T1003.001",
        "T1566",
        "T1566.001",
        "G0065",
        "S0002",
        "S0154",
        "C0022",
        "G0032",
        "M1051",
        "M1016",
        "M1026",
        "M1042",
    }
)
_STRUCTURE = {"x-mitre-tactic", "x-mitre-matrix", "identity", "marking-definition", "x-mitre-data-source"}


def attack_id(obj: dict[str, Any]) -> str:
    for ref in obj.get("external_references", ()):
        if ref.get("source_name", "").startswith("mitre") and ref.get("external_id"):
            return ref["external_id"]
    return ""


@lru_cache(maxsize=1)
def embedded_enterprise() -> dict[str, Any]:
    """The full official v15.0 Enterprise bundle, parsed once and shared: do not modify it."""
    return json.loads(embedded_bundle("enterprise").read_bytes())


def enterprise_slice() -> dict[str, Any]:
    """A STIX 2.0 bundle: a few techniques, groups, software and mitigations, all data components."""
    full = embedded_enterprise()
    kept = [
        o
        for o in full["objects"]
        if o["type"] in _STRUCTURE or o["type"] == "x-mitre-data-component" or attack_id(o) in SLICE_IDS
    ]
    ids = {o["id"] for o in kept}
    rels = [
        o
        for o in full["objects"]
        if o["type"] == "relationship" and o["source_ref"] in ids and o["target_ref"] in ids
    ]
    return copy.deepcopy({**full, "objects": kept + rels})


def to_stix21(bundle: dict[str, Any], version: str, domain: str = "enterprise") -> dict[str, Any]:
    """Rewrite a STIX 2.0 ATT&CK bundle the way attack-stix-data publishes it in STIX 2.1.

    Every object gains ``spec_version: "2.1"``, an ``x-mitre-collection`` object carries the release
    number, and the bundle itself loses its ``spec_version`` (STIX 2.1 bundles have none).
    """
    objects = [{**copy.deepcopy(o), "spec_version": "2.1"} for o in bundle["objects"]]
    stamp = "2030-01-01T00:00:00.000Z"
    collection = {
        "type": "x-mitre-collection",
        "id": f"x-mitre-collection--{uuid.uuid5(uuid.NAMESPACE_URL, f'ttpmap-test/{domain}/{version}')}",
        "spec_version": "2.1",
        "created": stamp,
        "modified": stamp,
        "name": f"{domain.capitalize() if domain != 'ics' else 'ICS'} ATT&CK",
        "description": "test collection",
        "x_mitre_version": version,
        "x_mitre_attack_spec_version": "3.2.0",
        "x_mitre_contents": [
            {"object_ref": o["id"], "object_modified": o.get("modified", stamp)} for o in objects if "id" in o
        ],
    }
    return {"type": "bundle", "id": bundle["id"], "objects": [collection, *objects]}
