"""Turn an ATT&CK STIX 2.0 or 2.1 bundle (a parsed JSON dict) into a KnowledgeBase."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from ttpmap.errors import KnowledgeBaseError
from ttpmap.kb.model import (
    BundleInfo,
    Campaign,
    DataComponent,
    Group,
    Link,
    Mitigation,
    Procedure,
    Software,
    Tactic,
    Technique,
)
from ttpmap.kb.store import KnowledgeBase
from ttpmap.kb.text import clean_description, plain
from ttpmap.text import name_pattern

_DOMAIN_KEYS = {"enterprise": "enterprise-attack", "mobile": "mobile-attack", "ics": "ics-attack"}


def _attack_ref(obj: dict[str, Any]) -> tuple[str, str]:
    for ref in obj.get("external_references", ()):
        if ref.get("source_name") in ("mitre-attack", "mitre-mobile-attack", "mitre-ics-attack") and ref.get(
            "external_id"
        ):
            return ref["external_id"], ref.get("url", "")
    return "", ""


def _inactive(obj: dict[str, Any]) -> bool:
    return bool(obj.get("revoked")) or bool(obj.get("x_mitre_deprecated"))


def _domain_ok(obj: dict[str, Any], domain_key: str) -> bool:
    domains = obj.get("x_mitre_domains")
    return not domains or domain_key in domains


def _channel(log_source: dict[str, Any]) -> str:
    # ATT&CK v18 writes a missing channel as null or as the string "None"
    channel = str(log_source.get("channel") or "")
    return "" if channel == "None" else channel


def _mask_names(
    text: str, pattern: re.Pattern[str] | None, spans: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, int], ...]:
    """Add spans of the source's own names that appear unlinked in the text."""
    if pattern is None:
        return spans
    found = set(spans)
    for m in pattern.finditer(text):
        if not any(s <= m.start() < e for s, e in found):
            found.add((m.start(), m.end()))
    return tuple(sorted(found))


def build_kb(bundle: dict[str, Any], *, domain: str, source: str, sha256: str, version: str) -> KnowledgeBase:
    """Index a bundle's objects for one ATT&CK domain."""
    if (
        not isinstance(bundle, dict)
        or bundle.get("type") != "bundle"
        or not isinstance(bundle.get("objects"), list)
    ):
        raise KnowledgeBaseError("not a STIX bundle (no 'objects' list)", source=source)
    domain_key = _DOMAIN_KEYS[domain]
    objects: list[dict[str, Any]] = [o for o in bundle["objects"] if isinstance(o, dict) and "type" in o]
    by_stix: dict[str, dict[str, Any]] = {o["id"]: o for o in objects if "id" in o}
    stix_to_attack: dict[str, str] = {}
    for o in objects:
        aid, _ = _attack_ref(o)
        if aid:
            stix_to_attack[o["id"]] = aid

    for o in objects:  # ATT&CK < v18 gave data components no ID of their own
        if o["type"] == "x-mitre-data-component" and o["id"] not in stix_to_attack:
            ds_id = stix_to_attack.get(o.get("x_mitre_data_source_ref", ""), "DS")
            slug = re.sub(r"[^a-z0-9]+", "-", o.get("name", "").lower()).strip("-")
            stix_to_attack[o["id"]] = f"{ds_id}:{slug}"

    spec_version = str(
        bundle.get("spec_version") or next((o.get("spec_version") for o in objects), "") or "2.1"
    )
    # the bundle's own collection object (attack-stix-data, STIX 2.1) beats a guess from the file name
    collection = next(
        (o for o in objects if o["type"] == "x-mitre-collection" and o.get("x_mitre_version")), None
    )
    if collection is not None:
        version = str(collection["x_mitre_version"])

    # tactics in matrix order
    tactics: list[Tactic] = []
    tactic_objs = {o["id"]: o for o in objects if o["type"] == "x-mitre-tactic" and not _inactive(o)}
    matrix = next(
        (
            o
            for o in objects
            if o["type"] == "x-mitre-matrix" and _domain_ok(o, domain_key) and not _inactive(o)
        ),
        None,
    )
    order = [r for r in (matrix or {}).get("tactic_refs", []) if r in tactic_objs] or sorted(
        (k for k, o in tactic_objs.items() if _domain_ok(o, domain_key)),
        key=lambda k: stix_to_attack.get(k, ""),
    )
    for ref in order:
        o = tactic_objs[ref]
        tactics.append(
            Tactic(
                stix_to_attack.get(ref, ""),
                o["name"],
                o.get("x_mitre_shortname", ""),
                plain(o.get("description", "")),
            )
        )

    techniques: dict[str, Technique] = {}
    groups: dict[str, Group] = {}
    software: dict[str, Software] = {}
    campaigns: dict[str, Campaign] = {}
    mitigations: dict[str, Mitigation] = {}
    components: dict[str, DataComponent] = {}
    deprecated: set[str] = set()
    active: set[str] = set()
    source_names: dict[str, list[str]] = {}

    data_sources = {o["id"]: o.get("name", "") for o in objects if o["type"] == "x-mitre-data-source"}
    for o in objects:
        t = o["type"]
        aid, url = _attack_ref(o)
        aid = aid or stix_to_attack.get(o.get("id", ""), "")
        if not aid or not _domain_ok(o, domain_key):
            continue
        if _inactive(o):
            if o.get("x_mitre_deprecated") and not o.get("revoked"):
                deprecated.add(aid)
            continue
        active.add(o["id"])
        desc = plain(o.get("description", ""))
        if t == "attack-pattern":
            tactics_of = tuple(
                p["phase_name"]
                for p in o.get("kill_chain_phases", ())
                if p.get("kill_chain_name", "").startswith("mitre")
            )
            techniques[aid] = Technique(
                id=aid,
                name=o["name"],
                tactics=tactics_of,
                platforms=tuple(o.get("x_mitre_platforms", ())),
                description=desc,
                detection=plain(o.get("x_mitre_detection", "")),
                parent=aid.split(".")[0] if "." in aid else None,
                url=url,
            )
        elif t == "intrusion-set":
            aliases = tuple(a for a in o.get("aliases", ()) if a != o["name"])
            groups[aid] = Group(aid, o["name"], aliases, desc, url)
            source_names[aid] = [o["name"], *aliases]
        elif t in ("malware", "tool"):
            aliases = tuple(a for a in o.get("x_mitre_aliases", ()) if a != o["name"])
            software[aid] = Software(
                aid, o["name"], t, aliases, tuple(o.get("x_mitre_platforms", ())), desc, url
            )
            source_names[aid] = [o["name"], *aliases]
        elif t == "campaign":
            aliases = tuple(a for a in o.get("aliases", ()) if a != o["name"])
            campaigns[aid] = Campaign(
                aid,
                o["name"],
                aliases,
                desc,
                str(o.get("first_seen", ""))[:10],
                str(o.get("last_seen", ""))[:10],
                (),
                url,
            )
            source_names[aid] = [o["name"], *aliases]
        elif t == "course-of-action":
            mitigations[aid] = Mitigation(aid, o["name"], desc, url)
        elif t == "x-mitre-data-component":
            ds = data_sources.get(o.get("x_mitre_data_source_ref", ""), "")
            logs = tuple(
                f"{ls.get('name') or ''}: {_channel(ls)}".strip(": ")
                for ls in o.get("x_mitre_log_sources", ())
            )
            components[aid] = DataComponent(aid, o["name"], ds, desc, logs)

    # old mitigations reuse technique IDs; an ID is deprecated only if nothing active carries it
    deprecated -= {stix_to_attack[s] for s in active}
    revoked: dict[str, str] = {}
    procedures: list[Procedure] = []
    mitigates: list[Link] = []
    detects: list[Link] = []
    attributed: dict[str, list[str]] = defaultdict(list)
    patterns = {k: name_pattern(v) for k, v in source_names.items()}
    analytics = {o["id"]: o for o in objects if o["type"] == "x-mitre-analytic"}
    for o in objects:
        if o["type"] != "relationship" or o.get("revoked") or o.get("x_mitre_deprecated"):
            continue
        rel = o.get("relationship_type")
        src, dst = o.get("source_ref", ""), o.get("target_ref", "")
        if rel == "revoked-by":
            a, b = stix_to_attack.get(src), stix_to_attack.get(dst)
            if a and b and a != b:
                revoked[a] = b
            continue
        if src not in active and not src.startswith("x-mitre-detection-strategy"):
            continue
        if dst not in active:
            continue
        s_id, d_id = stix_to_attack.get(src, ""), stix_to_attack.get(dst, "")
        if rel == "uses" and s_id and d_id:
            text, spans = clean_description(o.get("description", ""))
            spans = _mask_names(text, patterns.get(s_id), spans)
            procedures.append(Procedure(s_id, d_id, text, spans))
        elif rel == "mitigates" and s_id and d_id:
            mitigates.append(Link(s_id, d_id, plain(o.get("description", ""))))
        elif rel == "attributed-to" and s_id in campaigns and d_id in groups:
            attributed[s_id].append(d_id)
        elif rel == "detects" and d_id:
            if s_id in components:
                detects.append(Link(s_id, d_id, plain(o.get("description", ""))))
            elif src in by_stix and by_stix[src]["type"] == "x-mitre-detection-strategy":
                strategy = by_stix[src]
                for aref in strategy.get("x_mitre_analytic_refs", ()):
                    analytic = analytics.get(aref)
                    if not analytic:
                        continue
                    for ls in analytic.get("x_mitre_log_source_references", ()):
                        dc = stix_to_attack.get(ls.get("x_mitre_data_component_ref", ""), "")
                        if dc in components:
                            detects.append(Link(dc, d_id, plain(analytic.get("description", ""))))
    # one detects link per (component, technique)
    unique: dict[tuple[str, str], Link] = {}
    for d in detects:
        unique.setdefault((d.source_id, d.target_id), d)
    detects = list(unique.values())
    # a revoked technique ID may also name a deprecated old-style mitigation: the replacement wins
    deprecated -= set(revoked)
    for cid, gids in attributed.items():
        c = campaigns[cid]
        campaigns[cid] = Campaign(
            c.id, c.name, c.aliases, c.description, c.first_seen, c.last_seen, tuple(sorted(set(gids))), c.url
        )

    if not techniques:
        raise KnowledgeBaseError(f"bundle holds no active {domain} techniques", source=source)
    counts = Counter(
        {
            "tactics": len(tactics),
            "techniques": sum(1 for t in techniques.values() if not t.parent),
            "subtechniques": sum(1 for t in techniques.values() if t.parent),
            "groups": len(groups),
            "software": len(software),
            "campaigns": len(campaigns),
            "mitigations": len(mitigations),
            "data_components": len(components),
            "procedures": len(procedures),
            "revoked": len(revoked),
            "deprecated": len(deprecated),
        }
    )
    info = BundleInfo(source, domain, version or "unknown", sha256, spec_version, dict(counts))
    procedures.sort(key=lambda p: (p.source_id, p.target_id))
    return KnowledgeBase(
        info=info,
        tactics=tactics,
        techniques=dict(sorted(techniques.items())),
        groups=dict(sorted(groups.items())),
        software=dict(sorted(software.items())),
        campaigns=dict(sorted(campaigns.items())),
        mitigations=dict(sorted(mitigations.items())),
        data_components=dict(sorted(components.items())),
        procedures=procedures,
        mitigates=sorted(mitigates, key=lambda x: (x.target_id, x.source_id)),
        detects=sorted(detects, key=lambda x: (x.target_id, x.source_id)),
        revoked=revoked,
        deprecated=deprecated,
    )
