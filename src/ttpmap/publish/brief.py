"""Leaders' brief (Markdown, HTML, PDF): at most two pages, plain language, five actions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ttpmap import __version__, lexicon
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Analysis
from ttpmap.publish.context import created, display_title, ordered_tactics, tactics_of
from ttpmap.publish.figures import bar_chart_svg
from ttpmap.publish.markup import one_line, truncate
from ttpmap.publish.render import render_document, write_document
from ttpmap.publish.wording import (
    behavioural_check,
    likelihood,
    mitigation_action,
    stage,
    stage_action,
    stated_lead,
    technique_action,
)

_ATTACK_ID = re.compile(r"\b(?:TA\d{4}|T\d{4}(?:\.\d{3})?|[GSMC]\d{4}|DS\d{4})\b")
MAX_STEPS = 7
# the stages a leader most needs to hear about, in order of importance
LEADER_STAGES = (
    "initial-access",
    "exfiltration",
    "impact",
    "credential-access",
    "persistence",
    "lateral-movement",
    "collection",
    "defense-evasion",
    "command-and-control",
)

# What the observed stages mean for the organisation, most serious first (data/publish/consequences.txt).
CONSEQUENCES: tuple[tuple[str, str], ...] = tuple(
    (tactic, text) for tactic, text in lexicon.records("publish/consequences")
)
MAX_CONSEQUENCES = 4

GENERAL_ACTIONS: dict[str, tuple[str, str]] = {
    key: (title, text) for key, title, text in lexicon.records("publish/general_actions")
}


def plain(text: str) -> str:
    """Text for leaders: ATT&CK IDs removed, whitespace tidied."""
    text = _ATTACK_ID.sub("", text or "")
    text = re.sub(r"\(\s*[,;]?\s*\)|\[\s*\]", "", text)
    return one_line(re.sub(r"\s+([,.;:])", r"\1", text))


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _what_happened(analysis: Analysis, kb: KnowledgeBase | None) -> str:
    """One sentence: the best-described step of each important stage, in attack order."""
    order = {t.shortname: i for i, t in enumerate(ordered_tactics(kb, []))}
    best: dict[str, tuple[float, str]] = {}
    for t in sorted(analysis.techniques, key=lambda t: (-t.score, t.id)):
        tactics = tactics_of(t, kb)
        if not tactics:
            continue
        phrase = technique_action(t.id) or stage_action(tactics[0])
        if tactics[0] not in best and all(phrase != p for _, p in best.values()):
            best[tactics[0]] = (t.score, phrase)
    ranked = sorted(
        best,
        key=lambda s: (
            s not in LEADER_STAGES,
            LEADER_STAGES.index(s) if s in LEADER_STAGES else 0,
            -best[s][0],
        ),
    )
    chosen = sorted(ranked[:MAX_STEPS], key=lambda s: order.get(s, 99))
    if not chosen:
        return "The report does not describe the attacker's actions in enough detail to summarise them."
    return f"The attackers {_join([best[s][1] for s in chosen])}."


def _who(analysis: Analysis) -> tuple[str, str]:
    """(headline, explanation) about who is likely responsible, in estimative language: the report's
    own attribution first when it makes one, then ttpmap's independent check of it."""
    lead = stated_lead(analysis.stated_attribution)
    if lead is not None:
        check = behavioural_check(analysis.stated_attribution, analysis.attribution) or ""
        return lead, (
            f"{check} The check was produced automatically and must be confirmed by an analyst before it "
            "is repeated outside the organisation."
        )
    if not analysis.attribution or analysis.attribution[0].explanation.weak_evidence:
        return (
            "We cannot say who is responsible.",
            "The report does not contain enough distinctive detail to link the activity to a known group.",
        )
    top = analysis.attribution[0]
    phrase = likelihood(top.score)[1]
    aliases = [a for a in top.aliases if a and a != top.name][:2]
    name = f"{top.name} (also known as {', '.join(aliases)})" if aliases else top.name
    if top.confidence == "low":
        headline = f"We cannot yet say with confidence who is responsible; the closest match is {name}."
    else:
        headline = f"The attack is consistent with the methods of the group known as {name}."
    basis = (
        "The report names this group, and its methods match those publicly reported for it."
        if top.named_in_text
        else "Its methods resemble those publicly reported for this group."
    )
    return headline, (
        f"{basis} We judge it {phrase} that this group is responsible, with {top.confidence} confidence; "
        "the judgement was produced automatically "
        "and must be confirmed by an analyst before it is repeated outside the organisation."
    )


def _consequences(analysis: Analysis, kb: KnowledgeBase | None) -> list[str]:
    tactics = {s for t in analysis.techniques for s in tactics_of(t, kb)}
    found = [text for tactic, text in CONSEQUENCES if tactic in tactics][:MAX_CONSEQUENCES]
    if any(t.id.split(".")[0] == "T1190" for t in analysis.techniques):
        found.append("The way in was an internet-facing system that had not been kept up to date.")
    network = sum(1 for i in analysis.iocs if i.actionable)  # only the actor's, never context
    if network:
        found.append(
            f"The report lists {network} technical warning signs (such as internet addresses and file "
            "fingerprints) that the security team can search for in our own systems."
        )
    return found or ["The report describes limited activity; the business impact is unclear."]


def _actions(analysis: Analysis) -> list[dict[str, str]]:
    """Five actions: the two controls that matter most here, then invest, respond, stay informed."""
    specific: list[tuple[str, str]] = []
    ids = {t.id.split(".")[0] for t in analysis.techniques}
    if "T1190" in ids or "T1133" in ids:
        specific.append(
            (
                "Close the way in",
                "Make sure every internet-facing system is patched promptly or retired, and ask for a "
                "monthly report of what we expose to the internet.",
            )
        )
    for m in analysis.mitigations:
        if m.id in ("M1056", "M1055"):
            continue
        title, action = mitigation_action(m.id, m.name)
        if all(action + "." != text for _, text in specific):
            specific.append((title, action + "."))
        if len(specific) >= 2:
            break
    fallbacks = ["M1032", "M1028"] if ids & {"T1003", "T1078", "T1110"} else ["M1028", "M1047"]
    for mid in fallbacks:
        if len(specific) >= 2:
            break
        title, action = mitigation_action(mid, "")
        specific.append((title, action + "."))
    general = [GENERAL_ACTIONS[k] for k in ("invest", "respond", "inform")]
    return [{"title": t, "text": x} for t, x in [*specific[:2], *general]]


def stage_counts(analysis: Analysis, kb: KnowledgeBase | None) -> list[tuple[str, int]]:
    """(plain stage name, number of observed behaviours) for every stage, in attack order."""
    seen = [s for t in analysis.techniques for s in tactics_of(t, kb)]
    counts = {t.shortname: 0 for t in ordered_tactics(kb, seen)}
    for t in analysis.techniques:
        for short in dict.fromkeys(tactics_of(t, kb)):
            counts[short] += 1
    return [(stage(short), n) for short, n in counts.items()]


def chart_svg(analysis: Analysis, kb: KnowledgeBase | None) -> str:
    return bar_chart_svg(stage_counts(analysis, kb), title="What the attackers did, by stage of the attack")


def build_context(analysis: Analysis, kb: KnowledgeBase | None) -> dict[str, Any]:
    """Everything the brief templates show, as plain (unescaped) data."""
    stamp = created(analysis)
    headline, basis = _who(analysis)
    return {
        "title": "Leaders' brief: cyber intrusion",
        "subject": truncate(plain(display_title(analysis, "")), 160) or "Untitled report",
        "date": f"{stamp.day} {stamp:%B %Y}",
        "tlp": "TLP:CLEAR",
        "generator": f"ttpmap {__version__}",
        "what_happened": _what_happened(analysis, kb),
        "who_headline": headline,
        "who_basis": basis,
        "consequences": _consequences(analysis, kb),
        "actions": _actions(analysis),
    }


def render(analysis: Analysis, kb: KnowledgeBase | None, fmt: str, *, figure: str | None = None) -> str:
    """The brief as ``markdown`` (figure = file name of the chart SVG) or ``html`` (chart inline)."""
    context = build_context(analysis, kb)
    return render_document("brief", context, fmt, svg=lambda: chart_svg(analysis, kb), figure=figure)


def write(analysis: Analysis, kb: KnowledgeBase | None, out_dir: Path, stem: str) -> tuple[list[Path], str]:
    """Write ``<stem>-brief.md``, its SVG figure and ``.html``; returns the paths and the HTML for PDF."""
    return write_document(
        out_dir,
        stem,
        "brief",
        "brief-chart",
        chart_svg(analysis, kb),
        lambda fmt, figure=None: render(analysis, kb, fmt, figure=figure),
    )
