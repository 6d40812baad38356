"""What a report itself says about the actor: the groups it names and their role, stated nationality,
sponsor, motivation and active-since year.

Each named group is classified from cue phrases around its mention in its sentence: held responsible
("carried out by", "we attribute ... to", "X has targeted"), an alias of the actor ("also tracked as"),
a parent or sub-group, an overlapping cluster, a group it is merely compared with, or a passing mention.
Names resolve to ATT&CK groups directly or through MISP galaxy synonyms (any vendor's name); a known
actor that is not an ATT&CK group is kept as such. None of this feeds the behavioural score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ttpmap.kb import KnowledgeBase
from ttpmap.kb.galaxy import Galaxy
from ttpmap.models import Document, Sentence, StatedAttribution, StatedGroup, StatedRole, Victimology
from ttpmap.text import split_sentences

_ROLE_ORDER: tuple[StatedRole, ...] = (
    "responsible",
    "alias",
    "parent-or-sub-group",
    "overlapping",
    "compared",
    "mentioned",
)
_WINDOW = 80
# Cues in the text just before a name (the name ends the window) ...
_BEFORE: tuple[tuple[StatedRole, re.Pattern[str]], ...] = (
    (
        "compared",
        re.compile(
            r"\b(?:similar to|unlike|compared (?:with|to)|resembl\w+|reminiscent of|as seen with|"
            r"distinct from|different from|previously (?:reported|attributed) to)\b[^.;]{0,40}\Z",
            re.I,
        ),
    ),
    (
        "overlapping",
        re.compile(
            r"\b(?:overlap\w*(?: with)?|shares? [\w\s]{0,25}with|ties to|links? to|linked to|"
            r"associated with|connected to|consistent with)\b[^.;]{0,30}\Z",
            re.I,
        ),
    ),
    (
        "parent-or-sub-group",
        re.compile(
            r"\b(?:sub-?groups? of|sub-?clusters? of|part of|a unit (?:of|within)|"
            r"umbrella|falls under|operates under|element of)\b[^.;]{0,30}\Z",
            re.I,
        ),
    ),
    (
        "alias",
        re.compile(
            r"\b(?:also (?:known|tracked|referred to) as|a\.?k\.?a\.?|aka|also called|"
            r"otherwise known as|alias(?:es)?)\b[^.;]{0,40}\Z",
            re.I,
        ),
    ),
    (
        "responsible",
        re.compile(
            r"\b(?:attribut\w+ (?:[\w\s]{0,60})?to|carried out by|conducted by|perpetrated by|"
            r"(?:was|were) (?:the work|the doing) of|responsible|behind (?:this|the)|"
            r"publicly tracked as|tracked as|assess\w*[^.;]{0,80}(?:by|to be|was)|"
            r"operated by|launched by)\b[^.;]{0,60}\Z",
            re.I,
        ),
    ),
)
# ... and just after it (the name starts the window).
_AFTER: tuple[tuple[StatedRole, re.Pattern[str]], ...] = (
    (
        "responsible",
        re.compile(
            r"\A[^.;]{0,40}?\b(?:(?:has|have|had) )?(?:targeted|compromised|exploited|deployed|"
            r"breached|conducted|launched|gained access|is responsible|was responsible|"
            r"carried out|is behind|was behind)\b",
            re.I,
        ),
    ),
)
_ACTIVE_SINCE = re.compile(
    r"\b(?:active|operating|operational|in operation|observed)\s+(?:since|from)\s+(?:at least\s+)?"
    r"(?:(?:early|mid|late)[- ])?((?:19|20)\d{2})\b",
    re.I,
)
_CONFIDENCE = re.compile(r"\b(?:with|at|a)\s+(low|moderate|medium|high)[- ]confidence\b", re.I)


@lru_cache(maxsize=1)
def _cues() -> tuple[tuple[tuple[str, str, re.Pattern[str]], ...], tuple[tuple[str, re.Pattern[str]], ...]]:
    """(sponsor name, country, pattern) and (motivation, pattern) from ``data/attribution_cues.json``."""
    raw = json.loads(
        resources.files("ttpmap").joinpath("data", "attribution_cues.json").read_text(encoding="utf-8")
    )
    sponsors = tuple(
        (name, entry["country"], _variants(entry["variants"])) for name, entry in raw["sponsors"].items()
    )
    motivations = tuple((name, _variants(words)) for name, words in raw["motivations"].items())
    return sponsors, motivations


def _variants(variants: Iterable[str]) -> re.Pattern[str]:
    parts = [
        re.escape(v[1:]) if v.startswith("=") else "(?i:" + re.escape(v) + ")"
        for v in sorted(variants, key=len, reverse=True)
    ]
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])")


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    text = resources.files("ttpmap").joinpath("data", "common_words.txt").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.splitlines() if w.strip() and not w.startswith("#"))


@dataclass(frozen=True)
class GroupTarget:
    """What a group name resolves to."""

    key: str
    attack_id: str | None
    attack_name: str | None
    galaxy_actor: str | None
    country: str | None


def _usable(name: str, common: frozenset[str]) -> bool:
    # group names are proper nouns: matched case-sensitively, and never when they are everyday words
    name = name.strip()
    return len(name) >= 3 and name.lower() not in common and any(c.isupper() or c.isdigit() for c in name)


def group_name_index(kb: KnowledgeBase, galaxy: Galaxy | None = None) -> dict[str, GroupTarget]:
    """Every usable group name of the KB and of the galaxy's threat actors -> what it resolves to."""
    common = _common_words()
    index: dict[str, GroupTarget] = {}
    for gid, g in kb.groups.items():
        actor = next((a for n in (g.name, *g.aliases) if (a := galaxy.actor(n))), None) if galaxy else None
        country = (galaxy.group_country(gid) or (actor.country if actor else None)) if galaxy else None
        target = GroupTarget(gid, gid, g.name, actor.name if actor else None, country)
        for n in (g.name, *g.aliases):
            if _usable(n, common):
                index.setdefault(n.strip(), target)
    if galaxy is not None:
        for actor in galaxy.actors:
            tied = actor.attack_group if actor.attack_group in kb.groups else None
            key = tied or f"galaxy:{actor.name}"
            target = GroupTarget(key, tied, kb.groups[tied].name if tied else None, actor.name, actor.country)
            for n in actor.names:
                if _usable(n, common) and len(n.strip()) >= 4:
                    index.setdefault(n.strip(), target)
    return index


def _role(sentence: str, start: int, end: int) -> StatedRole:
    before = sentence[max(0, start - _WINDOW) : start]
    after = sentence[end : end + _WINDOW]
    for role, pattern in _BEFORE:
        if pattern.search(before):
            return role
    for role, pattern in _AFTER:
        if pattern.search(after):
            return role
    return "mentioned"


def find_stated_attribution(
    doc: Document,
    kb: KnowledgeBase,
    galaxy: Galaxy | None = None,
    victimology: Victimology | None = None,
    index: Mapping[str, GroupTarget] | None = None,
) -> StatedAttribution:
    """The report's own attribution: named groups with their role and sentence, and stated attributes.

    ``victimology`` (of the same report) supplies the stated origin as nationality; ``index`` is a
    prebuilt :func:`group_name_index` (built here when not given).
    """
    text = doc.text
    if not text:
        return StatedAttribution()
    index = index if index is not None else group_name_index(kb, galaxy)
    sentences: Iterable[Sentence] = doc.sentences or split_sentences(text)
    folded: dict[str, GroupTarget] = {}
    for name, tgt in index.items():
        folded.setdefault(name.casefold(), tgt)
    names = sorted(index, key=len, reverse=True)
    # any letter case ("BlueNoroff" for ATT&CK's "Bluenoroff"), but never an all-lower-case word
    pattern = (
        re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, names)) + r")(?![\w-])", re.IGNORECASE)
        if names
        else None
    )
    found: dict[str, StatedGroup] = {}
    for sent in sentences:
        if pattern is None:
            break
        for m in pattern.finditer(sent.text):
            found_text = m.group(0)
            if found_text.islower() and not any(ch.isdigit() for ch in found_text):
                continue
            target = folded[found_text.casefold()]
            role = _role(sent.text, m.start(), m.end())
            seen = found.get(target.key)
            if seen is not None:
                better = _ROLE_ORDER.index(role) < _ROLE_ORDER.index(seen.role)
                update: dict[str, object] = {"count": seen.count + 1}
                if better:
                    update.update(
                        role=role,
                        name=m.group(0),
                        sentence=sent.text,
                        start=sent.start + m.start(),
                        end=sent.start + m.end(),
                    )
                found[target.key] = seen.model_copy(update=update)
                continue
            found[target.key] = StatedGroup(
                name=m.group(0),
                role=role,
                id=target.attack_id,
                attack_name=target.attack_name,
                galaxy_actor=target.galaxy_actor,
                in_attack=target.attack_id is not None,
                country=target.country,
                sentence=sent.text,
                start=sent.start + m.start(),
                end=sent.start + m.end(),
            )
    groups = _promote_subject(list(found.values()))
    groups.sort(key=lambda g: (_ROLE_ORDER.index(g.role), -g.count, g.start))
    sponsors, motivations = _cues()
    sponsor = next(
        (name for name, _country, p in sorted(sponsors, key=lambda s: _first(s[2], text)) if p.search(text)),
        None,
    )
    nationality = list((victimology.origin if victimology else {}).keys())
    if sponsor:
        country = next(c for n, c, _ in sponsors if n == sponsor)
        if country not in nationality:
            nationality.append(country)
    since = _ACTIVE_SINCE.search(text)
    conf = _CONFIDENCE.search(text) if any(g.role == "responsible" for g in groups) else None
    level = conf.group(1).lower() if conf else None
    return StatedAttribution(
        groups=groups,
        nationality=nationality,
        sponsor=sponsor,
        motivation=[name for name, p in motivations if p.search(text)],
        active_since=int(since.group(1)) if since else None,
        confidence={"medium": "moderate"}.get(level, level) if level else None,
    )


def _first(pattern: re.Pattern[str], text: str) -> int:
    m = pattern.search(text)
    return m.start() if m else len(text) + 1


def _promote_subject(groups: list[StatedGroup]) -> list[StatedGroup]:
    """With no explicit attribution, the group a report is about is held responsible: one it keeps
    returning to (at least three mentions, more than all others together), or the only group it names
    (at least twice). An "overlapping" cue with no other group named is taken as such a mention."""
    if not groups or any(g.role == "responsible" for g in groups):
        return groups
    top = max(groups, key=lambda g: g.count)
    others = sum(g.count for g in groups) - top.count
    roles = ("mentioned", "alias") + (("overlapping",) if len(groups) == 1 else ())
    about = (top.count >= 3 and top.count > others) or (len(groups) == 1 and top.count >= 2)
    if about and top.role in roles:
        return [g.model_copy(update={"role": "responsible"}) if g is top else g for g in groups]
    return groups
