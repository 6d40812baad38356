"""A JSON-able description of one ATT&CK object and its relations, for `ttpmap kb show`."""

from __future__ import annotations

from typing import Any

from ttpmap.kb.model import Campaign, DataComponent, Group, Mitigation, Software, Tactic, Technique
from ttpmap.kb.store import KBObject, KnowledgeBase


def _ref(kb: KnowledgeBase, attack_id: str) -> dict[str, str]:
    obj = kb.get(attack_id)
    return {"id": attack_id, "name": obj.name if obj else attack_id}


def describe(kb: KnowledgeBase, obj: KBObject) -> dict[str, Any]:
    """Fields of ``obj`` plus the IDs of the objects it is related to."""
    info: dict[str, Any] = {"id": obj.id, "name": obj.name, "type": type(obj).__name__}
    info["description"] = getattr(obj, "description", "")
    if isinstance(obj, Technique):
        info["tactics"] = kb.tactic_names(obj)
        info["platforms"] = list(obj.platforms)
        if obj.parent:
            info["parent"] = _ref(kb, obj.parent)
        info["subtechniques"] = [_ref(kb, s) for s in kb.subtechniques(obj.id)]
        users = kb.used_by(obj.id)
        info["groups"] = [_ref(kb, p.source_id) for p in users if p.source_id in kb.groups]
        info["software"] = [_ref(kb, p.source_id) for p in users if p.source_id in kb.software]
        info["campaigns"] = [_ref(kb, p.source_id) for p in users if p.source_id in kb.campaigns]
        info["mitigations"] = [_ref(kb, m.source_id) for m in kb.mitigations_for(obj.id)]
        info["detections"] = [_ref(kb, d.source_id) for d in kb.detections_for(obj.id)]
        info["detection"] = obj.detection
        info["url"] = obj.url
    elif isinstance(obj, (Group, Software, Campaign)):
        info["aliases"] = list(obj.aliases)
        uses = kb.uses(obj.id)
        info["techniques"] = [_ref(kb, p.target_id) for p in uses if p.target_id in kb.techniques]
        info["software"] = [_ref(kb, p.target_id) for p in uses if p.target_id in kb.software]
        if isinstance(obj, Software):
            info["kind"] = obj.kind
            info["platforms"] = list(obj.platforms)
            info["used_by"] = [_ref(kb, p.source_id) for p in kb.used_by(obj.id)]
        if isinstance(obj, Campaign):
            info["attributed_to"] = [_ref(kb, g) for g in obj.attributed_to]
            info["first_seen"], info["last_seen"] = obj.first_seen, obj.last_seen
        if isinstance(obj, Group):
            info["campaigns"] = [_ref(kb, c.id) for c in kb.campaigns.values() if obj.id in c.attributed_to]
        info["url"] = obj.url
    elif isinstance(obj, Mitigation):
        links = [m for m in kb.mitigates if m.source_id == obj.id]
        info["mitigates"] = [_ref(kb, m.target_id) for m in links]
        info["url"] = obj.url
    elif isinstance(obj, DataComponent):
        info["data_source"] = obj.data_source
        info["log_sources"] = list(obj.log_sources)
        info["detects"] = [_ref(kb, d.target_id) for d in kb.detects if d.source_id == obj.id]
    elif isinstance(obj, Tactic):
        info["shortname"] = obj.shortname
        info["techniques"] = [
            _ref(kb, t.id) for t in kb.techniques.values() if obj.shortname in t.tactics and not t.parent
        ]
    return info
