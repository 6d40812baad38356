"""The words documents use: estimative language and plain-language names for ATT&CK concepts.

Leaders' briefs must read without ATT&CK knowledge, so tactics, common techniques and common
mitigations each get a short plain description written for this project.
"""

from __future__ import annotations

from collections.abc import Sequence

from ttpmap import lexicon
from ttpmap.models import GroupCandidate, StatedAttribution, StatedGroup

# Probability bands of the estimative-language scale used by intelligence agencies (and by MISP's
# estimative-language taxonomy): upper bound of each band -> (MISP value, phrase).
LIKELIHOOD: tuple[tuple[float, str, str], ...] = (
    (0.05, "almost-no-chance", "almost no chance"),
    (0.20, "very-unlikely", "very unlikely"),
    (0.45, "unlikely", "unlikely"),
    (0.55, "roughly-even-chance", "roughly an even chance"),
    (0.80, "likely", "likely"),
    (0.95, "very-likely", "very likely"),
    (1.01, "almost-certain", "almost certain"),
)


def likelihood(score: float) -> tuple[str, str]:
    """(MISP estimative-language value, English phrase) for a probability-like score."""
    for bound, value, phrase in LIKELIHOOD:
        if score < bound:
            return value, phrase
    return LIKELIHOOD[-1][1], LIKELIHOOD[-1][2]


CONFIDENCE_PHRASE = {"low": "low confidence", "moderate": "moderate confidence", "high": "high confidence"}

# tactic shortname -> (stage of the attack, what the attacker did, in plain words); the plain-word
# lists live in data/publish/ (stages, techniques, mitigations).
STAGES: dict[str, tuple[str, str]] = {
    tactic: (stage, did) for tactic, stage, did in lexicon.records("publish/stages")
}

# common techniques (parents cover their sub-techniques) -> what the attacker did, in plain words
TECHNIQUES: dict[str, str] = {technique: did for technique, did in lexicon.records("publish/techniques")}

# ATT&CK mitigation -> (short title, the action a leader would sponsor), in plain words
MITIGATIONS: dict[str, tuple[str, str]] = {
    mitigation: (title, action) for mitigation, title, action in lexicon.records("publish/mitigations")
}


def stage(tactic: str) -> str:
    """Plain name of the attack stage a tactic shortname stands for."""
    return STAGES.get(tactic, (tactic.replace("-", " ").capitalize(), ""))[0]


def stage_action(tactic: str) -> str:
    """What the attacker did at this stage, in plain words."""
    return STAGES.get(tactic, ("", f"carried out {tactic.replace('-', ' ')} activity"))[1]


def technique_action(technique_id: str) -> str | None:
    """Plain description of a technique (or its parent), or None if we have no wording for it."""
    return TECHNIQUES.get(technique_id) or TECHNIQUES.get(technique_id.split(".", 1)[0])


def mitigation_action(mitigation_id: str, name: str) -> tuple[str, str]:
    """(short title, action) behind a mitigation, in plain words."""
    return MITIGATIONS.get(mitigation_id) or (f"Strengthen {name.lower()}", f"Strengthen {name.lower()}")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def stated_actor(stated: StatedAttribution) -> StatedGroup | None:
    """The group the report holds responsible (the most mentioned one), if it names one."""
    responsible = stated.responsible
    return responsible[0] if responsible else None


def actor_label(group: StatedGroup) -> str:
    """``APT40 (Leviathan)``: the name the report uses, with the ATT&CK name when it differs."""
    if group.attack_name and group.attack_name.lower() != group.name.lower():
        return f"{group.name} ({group.attack_name})"
    return group.name


def stated_lead(stated: StatedAttribution) -> str | None:
    """The report's own attribution in one sentence, or None when it attributes to no one."""
    actor = stated_actor(stated)
    if actor is None:
        return None
    bits = []
    if stated.sponsor:
        bits.append(f"linked to the {stated.sponsor.split(' (')[0]}")
    elif stated.nationality:
        bits.append(f"of {', '.join(stated.nationality[:2])} origin")
    extra = f", {bits[0]}," if bits else ""
    conf = f" with {CONFIDENCE_PHRASE[stated.confidence]}" if stated.confidence else ""
    if not actor.in_attack:
        note = (
            " This actor is known to the MISP threat-actor galaxy but is not an ATT&CK group."
            if actor.galaxy_actor
            else " This actor is not an ATT&CK group."
        )
    else:
        note = ""
    return f"The report attributes this activity to {actor_label(actor)}{extra}{conf}.{note}"


def behavioural_check(stated: StatedAttribution, candidates: Sequence[GroupCandidate]) -> str | None:
    """ttpmap's independent check of the report's attribution, in estimative language (None when the
    report attributes to no one)."""
    actor = stated_actor(stated)
    if actor is None:
        return None
    ranked = [c for c in candidates if not c.explanation.weak_evidence]
    top = ranked[0] if ranked else None
    if not actor.in_attack or actor.id is None:
        if top is None:
            return (
                "ttpmap cannot check it against recorded tradecraft, and the behaviour alone is too generic."
            )
        return (
            "ttpmap cannot check it against recorded tradecraft; on behaviour alone the closest ATT&CK group "
            f"is {top.name} ({CONFIDENCE_PHRASE[top.confidence]})."
        )
    mine = next((c for c in candidates if c.id == actor.id), None)
    if mine is None or top is None:
        return (
            "ttpmap's independent check is inconclusive: the observed behaviour is too generic to confirm "
            "or contradict the attribution."
        )
    rank = mine.explanation.behavioural_rank
    total = mine.explanation.groups_ranked
    gated_rank = mine.explanation.gated_rank or 0
    of = f" of {total} groups" if total else ""
    if gated_rank and gated_rank != rank and stated.nationality:
        of += f", {ordinal(gated_rank)} among groups of the stated nationality"
    name = mine.name
    if rank and rank <= 3:
        return (
            f"The observed behaviour is consistent with that attribution: on behaviour alone {name} ranks "
            f"{ordinal(rank)}{of} ({CONFIDENCE_PHRASE[mine.confidence]})."
        )
    return (
        f"The behaviour fits {top.name} better than the stated actor: on behaviour alone {name} ranks "
        f"{ordinal(rank)}{of}. An analyst should review this."
    )
