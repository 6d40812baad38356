"""Technical advisory (Markdown, HTML, PDF) in the structure of joint cybersecurity advisories."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from ttpmap import __version__
from ttpmap.defang import defang_text
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis, Explanation, GroupCandidate, IocType
from ttpmap.publish.context import (
    attack_version,
    best_evidence,
    by_tactic,
    created,
    display_source,
    display_title,
    domain_label,
    technique_name,
    technique_url,
)
from ttpmap.publish.figures import matrix_svg
from ttpmap.publish.indicators import DISPOSITION_LABELS, display, label, note
from ttpmap.publish.markup import one_line, truncate
from ttpmap.publish.render import render_document, write_document
from ttpmap.publish.wording import CONFIDENCE_PHRASE, behavioural_check, likelihood, stated_lead

USE_CHARS = 220
QUOTE_CHARS = 420
QUOTES_PER_TECHNIQUE = 2
ADVICE_PER_MITIGATION = 3
_TECHNIQUE_ID = re.compile(r"^T\d{4}(?:\.\d{3})?$")
KEY_TACTICS = (
    "initial-access",
    "persistence",
    "credential-access",
    "lateral-movement",
    "collection",
    "exfiltration",
    "impact",
)


def describe(value: Any, kb: KnowledgeBase | None) -> str:
    """Readable text for an explanation value: technique IDs get their names, lists are joined."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = value.strip()
        if _TECHNIQUE_ID.match(value):
            return f"{technique_name(value, kb)} ({value})"
        return value
    if isinstance(value, dict):
        if "id" in value or "name" in value:
            name, ident = str(value.get("name", "")), str(value.get("id", ""))
            if ident and not name:
                return describe(ident, kb)
            return f"{name} ({ident})" if name and ident else name or ident
        return "; ".join(f"{k}: {describe(v, kb)}" for k, v in value.items() if describe(v, kb))
    if isinstance(value, list | tuple | set):
        return ", ".join(d for d in (describe(v, kb) for v in value) if d)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def explanation_facts(ex: Explanation, kb: KnowledgeBase | None) -> list[tuple[str, str]]:
    """(caption, text) pairs for the evidence behind an attribution candidate, empty ones left out."""
    check = ex.nationality_check
    rank = f"{ex.behavioural_rank} of {ex.groups_ranked} groups" if ex.groups_ranked else ""
    if rank and ex.gated_rank and ex.gated_rank != ex.behavioural_rank:
        rank += f" ({ex.gated_rank} among groups of the stated nationality)"
    facts = [
        ("Shared techniques", describe([t.id for t in ex.shared_techniques], kb)),
        ("Distinctive techniques", describe(ex.distinctive_techniques, kb)),
        ("Shared software", describe([s.model_dump() for s in ex.shared_software], kb)),
        ("Shared vulnerabilities", describe(ex.shared_cves, kb)),
        ("Victimology", describe(ex.victimology_overlap.model_dump(), kb)),
        ("Closest activity", describe(ex.closest_activity.model_dump(), kb) if ex.closest_activity else ""),
        ("Expected but not observed", describe([t.id for t in ex.expected_not_observed], kb)),
        ("Behavioural rank", rank),
        ("Named in the report", ex.named_claim or ""),
        (
            "Nationality",
            f"the report states {', '.join(check.stated)}; the group is recorded as {check.group}"
            + ("" if check.consistent else " (inconsistent)")
            if check
            else "",
        ),
    ]
    return [(caption, text) for caption, text in facts if text]


def group_label(candidate: GroupCandidate) -> str:
    """``Leviathan (APT40, MUDCARP, Kryptonite Panda)``: name with its first aliases."""
    aliases = [a for a in candidate.aliases if a and a != candidate.name][:3]
    return f"{candidate.name} ({', '.join(aliases)})" if aliases else candidate.name


def assessment(candidate: GroupCandidate) -> str:
    """One estimative-language sentence for an attribution candidate."""
    phrase = likelihood(candidate.score)[1]
    named = " The report itself names this group." if candidate.named_in_text else ""
    return (
        f"ttpmap assesses with {CONFIDENCE_PHRASE[candidate.confidence]} that the observed activity is "
        f"consistent with {group_label(candidate)}; the calibrated chance that this group is responsible is "
        f"{_percent(candidate.score)} ({phrase}).{named}"
    )


ROLE_LABELS = {
    "responsible": "held responsible",
    "alias": "alias of the actor",
    "parent-or-sub-group": "parent or sub-group",
    "overlapping": "overlapping activity",
    "compared": "compared with",
    "mentioned": "mentioned",
}


def stated_context(analysis: Analysis) -> dict[str, Any] | None:
    """The report's own attribution and ttpmap's check of it, as plain data (None if it names none)."""
    sa = analysis.stated_attribution
    if not sa.groups and not sa.nationality and not sa.sponsor:
        return None
    groups = [
        {
            "name": g.name,
            "attack": f"{g.attack_name} [{g.id}]" if g.id else "not an ATT&CK group",
            "role": ROLE_LABELS[g.role],
            "sentence": truncate(defang_text(one_line(g.sentence), analysis.iocs), QUOTE_CHARS),
        }
        for g in sa.groups
    ]
    facts = []
    if sa.nationality:
        facts.append(("Stated nationality", ", ".join(sa.nationality)))
    if sa.sponsor:
        facts.append(("Stated sponsor", sa.sponsor))
    if sa.motivation:
        facts.append(("Stated motivation", ", ".join(sa.motivation)))
    if sa.active_since:
        facts.append(("Active since", str(sa.active_since)))
    gated = max((c.explanation.gated_groups for c in analysis.attribution), default=0)
    if gated and sa.nationality:
        facts.append(
            (
                "Nationality gate",
                f"{gated} groups of another known nationality were set aside because the report states "
                f"a {' or '.join(sa.nationality)} actor",
            )
        )
    return {
        "lead": stated_lead(sa),
        "check": behavioural_check(sa, analysis.attribution),
        "groups": groups,
        "facts": facts,
    }


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def build_context(analysis: Analysis, kb: KnowledgeBase | None) -> dict[str, Any]:
    """Everything the advisory templates show, as plain (unescaped) data."""
    stamp = created(analysis)
    iocs = analysis.iocs
    groups = by_tactic(analysis, kb)
    title = display_title(analysis)

    tactics = []
    described: dict[str, str] = {}  # technique -> the tactic whose section quotes its evidence
    for group in groups:
        rows: list[dict[str, Any]] = []
        for t in group.techniques:
            best = best_evidence(t)
            quotes = sorted(t.evidence, key=lambda e: -e.score)[:QUOTES_PER_TECHNIQUE]
            rows.append(
                {
                    "id": t.id,
                    "name": technique_name(t.id, kb, t.name),
                    "url": technique_url(t.id, kb),
                    "score": _percent(t.score),
                    "use": truncate(defang_text(best.text, iocs), USE_CHARS)
                    if best
                    else f"Observed ({t.origin})",
                    "quotes": [truncate(defang_text(e.text, iocs), QUOTE_CHARS) for e in quotes],
                }
            )
        details = [r for r in rows if r["id"] not in described]
        see_also = [{**r, "under": described[r["id"]]} for r in rows if r["id"] in described]
        for r in details:
            described[r["id"]] = group.tactic.name
        tactics.append(
            {
                "name": group.tactic.name,
                "id": group.tactic.id,
                "shortname": group.tactic.shortname,
                "techniques": rows,
                "details": details,
                "see_also": see_also,
            }
        )

    indicator_rows = []
    for ioc in sorted(iocs, key=lambda i: not i.actionable):  # the actor's first, then context
        if ioc.type == IocType.CVE:
            continue
        indicator_rows.append(
            {
                "type": label(ioc.type),
                "value": display(ioc),
                "disposition": DISPOSITION_LABELS[ioc.disposition],
                "role": str(ioc.role or ""),
                "actionable": ioc.actionable,
                "note": note(ioc, full=False),
            }
        )
    cves = list(
        dict.fromkeys(
            [c.id.upper() for c in analysis.entities.cves]
            + [i.value.strip().upper() for i in iocs if i.type == IocType.CVE]
        )
    )

    stated = stated_context(analysis)
    candidates = []
    for g in analysis.attribution:
        facts = explanation_facts(g.explanation, kb)
        candidates.append(
            {
                "id": g.id,
                "name": g.name,
                "label": group_label(g),
                "likelihood": likelihood(g.score)[1],
                "confidence": g.confidence,
                "score": f"{g.score:.2f}",
                "named": g.named_in_text,
                "assessment": assessment(g),
                "summary": one_line(g.explanation.summary),
                "facts": facts,
            }
        )
    campaigns = [
        {
            "id": c.id,
            "name": c.name,
            "score": f"{c.score:.2f}",
            "attributed_to": ", ".join(c.attributed_to),
            "shared": describe(c.shared_techniques, kb),
            "software": ", ".join(c.shared_software),
        }
        for c in analysis.campaigns
    ]

    mitigations = []
    for m in analysis.mitigations:
        advice = [
            {"technique": f"{technique_name(tid, kb)} ({tid})", "text": one_line(text)}
            for tid, text in list(m.advice.items())[:ADVICE_PER_MITIGATION]
            if text
        ]
        known_m = kb.mitigations.get(m.id) if kb else None
        mitigations.append(
            {
                "id": m.id,
                "name": m.name,
                "url": known_m.url if known_m else "",
                "share": _percent(m.weight_share),
                "gain": _percent(m.score),
                "layer": m.layer,
                "covers": ", ".join(m.covers),
                "advice": advice,
            }
        )
    detections = [
        {
            "id": d.id,
            "name": d.name,
            "data_source": d.data_source,
            "covers": ", ".join(d.covers),
            "sources": [
                s.split(": ", 1)[1] if s.startswith(f"{d.data_source}: ") else s for s in d.log_sources
            ]
            or [d.data_source],
            "share": _percent(d.weight_share),
        }
        for d in analysis.detections
    ]

    version = attack_version(analysis, kb)
    tactic_names = [t["name"] for t in tactics]
    return {
        "title": title,
        "date": f"{stamp.day} {stamp:%B %Y}",
        "date_iso": stamp.strftime("%Y-%m-%d"),
        "tlp": "TLP:CLEAR",
        "attack_version": version,
        "attack_domain": domain_label(analysis),
        "generator": f"ttpmap {__version__}",
        "source": display_source(analysis) or title,
        "sha256": analysis.document.sha256,
        "notes": [defang_text(one_line(note), iocs) for note in analysis.notes],
        "summary": _summary(analysis, title, tactics, indicator_rows, cves, candidates, stated),
        "stated": stated,
        "key_findings": _key_findings(analysis, kb, tactics, indicator_rows, cves),
        "tactics": tactics,
        "tactic_count": len(tactic_names),
        "technique_count": len(analysis.techniques),
        "technique_phrase": _plural(len(analysis.techniques), "observed technique"),
        "iocs": indicator_rows,
        "cves": cves,
        "candidates": candidates,
        "campaigns": campaigns,
        "mitigations": mitigations,
        "detections": detections,
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _names(rows: list[dict[str, Any]], limit: int = 4) -> str:
    names = list(dict.fromkeys(r["name"] for r in rows))[:limit]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _summary(
    analysis: Analysis,
    title: str,
    tactics: list[dict[str, Any]],
    iocs: list[dict[str, Any]],
    cves: list[str],
    candidates: list[dict[str, Any]],
    stated: dict[str, Any] | None = None,
) -> list[str]:
    by_short = {t["shortname"]: t for t in tactics}
    first = [
        f"ttpmap identified {_plural(len(analysis.techniques), 'MITRE ATT&CK technique')} across "
        f"{_plural(len(tactics), 'tactic')} in the report \u201c{title}\u201d."
    ]
    entry = by_short.get("initial-access")
    if entry:
        ways = _names(entry["techniques"], 2)
        first.append(f"The actor gained initial access through {ways}.")
    later = [
        r
        for short in KEY_TACTICS[1:]  # what followed initial access
        for r in by_short.get(short, {}).get("techniques", [])[:1]
    ]
    if later:
        first.append(f"Subsequent activity included {_names(later, 5)}.")
    second = []
    if iocs or cves:
        vulns = f"{len(cves)} {'vulnerability' if len(cves) == 1 else 'vulnerabilities'}"
        tail = f" and references {vulns} ({', '.join(cves)})." if cves else "."
        actor = sum(1 for i in iocs if i["actionable"])
        second.append(
            f"The report contains {_plural(actor, 'indicator')} of compromise attributable to the actor"
            f" (of {len(iocs)} values listed){tail}"
        )
    if stated and stated["lead"]:
        second.append(stated["lead"])
        if stated["check"]:
            second.append(stated["check"])
    elif candidates:
        second.append(candidates[0]["assessment"])
    return [" ".join(first), " ".join(second)] if second else [" ".join(first)]


def _key_findings(
    analysis: Analysis,
    kb: KnowledgeBase | None,
    tactics: list[dict[str, Any]],
    iocs: list[dict[str, Any]],
    cves: list[str],
) -> list[dict[str, str]]:
    findings = []
    for t in tactics:
        if t["shortname"] in KEY_TACTICS:
            names = ", ".join(f"{r['name']} ({r['id']})" for r in t["techniques"][:3])
            findings.append({"label": t["name"], "text": names})
    if cves:
        findings.append({"label": "Vulnerabilities", "text": ", ".join(cves)})
    if any(i["actionable"] for i in iocs):
        counts = Counter(i["type"] for i in iocs if i["actionable"])
        findings.append(
            {"label": "Indicators", "text": ", ".join(f"{n} \u00d7 {k}" for k, n in counts.most_common())}
        )
    if analysis.mitigations:
        m = analysis.mitigations[0]
        findings.append(
            {
                "label": "Top mitigation",
                "text": f"{m.name} ({m.id}) addresses {_percent(m.weight_share)} of the observed activity",
            }
        )
    return findings


def render(analysis: Analysis, kb: KnowledgeBase | None, fmt: str, *, figure: str | None = None) -> str:
    """The advisory as ``markdown`` (figure = file name of the matrix SVG) or ``html`` (figure inline)."""
    context = build_context(analysis, kb)
    return render_document("advisory", context, fmt, svg=lambda: matrix_svg(analysis, kb), figure=figure)


def write(analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str) -> tuple[list[Path], str]:
    """Write ``<stem>-advisory.md``, its SVG figure and ``.html``; returns the paths and the HTML for PDF."""
    return write_document(
        out_dir,
        stem,
        "advisory",
        "matrix",
        matrix_svg(analysis, kb),
        lambda fmt, figure=None: render(analysis, kb, fmt, figure=figure),
    )
