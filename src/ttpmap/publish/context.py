"""Facts about an Analysis that several outputs need: its timestamp, tactic grouping, best evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath

from ttpmap.config import build_time
from ttpmap.kb import KnowledgeBase, Tactic
from ttpmap.models import Analysis, Evidence, TechniqueResult

DOMAIN_LABELS = {"enterprise": "Enterprise", "mobile": "Mobile", "ics": "ICS"}
NAVIGATOR_DOMAINS = {"enterprise": "enterprise-attack", "mobile": "mobile-attack", "ics": "ics-attack"}


def created(analysis: Analysis) -> datetime:
    """When the analysis was made: its ``created`` field, else ``SOURCE_DATE_EPOCH``, else now.

    Exports take every timestamp from here so that the same analysis always gives the same files.
    """
    raw = analysis.created
    if raw.strip():
        try:
            stamp = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
            return (
                (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
            )
        except ValueError:
            pass
    return build_time()


def attack_version(analysis: Analysis, kb: KnowledgeBase | None) -> str:
    """The ATT&CK release the analysis was mapped with (``15.0``)."""
    version = analysis.attack.version or (kb.info.version if kb else "")
    return version if version and version != "unknown" else (kb.info.version if kb else "unknown")


def major_version(version: str) -> str:
    """``15.0`` -> ``15`` (the form ATT&CK Navigator layers use)."""
    return version.split(".", 1)[0] if version[:1].isdigit() else version


def domain_label(analysis: Analysis) -> str:
    return DOMAIN_LABELS.get(analysis.attack.domain, analysis.attack.domain.capitalize() or "Enterprise")


def best_evidence(technique: TechniqueResult) -> Evidence | None:
    """The technique's highest-scoring evidence span (first one on ties)."""
    if not technique.evidence:
        return None
    return max(technique.evidence, key=lambda e: e.score)


def tactics_of(technique: TechniqueResult, kb: KnowledgeBase | None) -> list[str]:
    """Tactic shortnames of a technique: the analysis' own list (names or shortnames), else the KB's."""
    known = kb.techniques.get(technique.id) if kb else None
    if not technique.tactics:
        return list(known.tactics) if known else []
    if kb is None:
        return [t.lower().replace(" ", "-") for t in technique.tactics]
    by_label = {key: t.shortname for t in kb.tactics for key in (t.shortname, t.name.lower(), t.id.lower())}
    return [by_label.get(t.lower(), t.lower().replace(" ", "-")) for t in technique.tactics]


def ordered_tactics(kb: KnowledgeBase | None, seen: list[str]) -> list[Tactic]:
    """The KB's tactics in matrix order, plus any unknown shortnames in ``seen`` at the end."""
    tactics = list(kb.tactics) if kb else []
    known = {t.shortname for t in tactics}
    for short in seen:
        if short not in known:
            known.add(short)
            tactics.append(Tactic(id="", name=short.replace("-", " ").title(), shortname=short))
    return tactics


@dataclass
class TacticGroup:
    """Observed techniques under one tactic, best first."""

    tactic: Tactic
    techniques: list[TechniqueResult] = field(default_factory=list)


def by_tactic(analysis: Analysis, kb: KnowledgeBase | None, *, keep_empty: bool = False) -> list[TacticGroup]:
    """Techniques grouped by tactic in matrix order; a technique appears under each of its tactics."""
    seen = [s for t in analysis.techniques for s in tactics_of(t, kb)]
    groups = [TacticGroup(t) for t in ordered_tactics(kb, seen)]
    index = {g.tactic.shortname: g for g in groups}
    for technique in sorted(analysis.techniques, key=lambda t: (-t.score, t.id)):
        for short in dict.fromkeys(tactics_of(technique, kb)):
            index[short].techniques.append(technique)
    return [g for g in groups if keep_empty or g.techniques]


def technique_name(technique_id: str, kb: KnowledgeBase | None, fallback: str = "") -> str:
    """ATT&CK name of a technique; sub-techniques as ``Parent: Sub``."""
    known = kb.techniques.get(technique_id) if kb else None
    if known is None:
        return fallback or technique_id
    if known.parent and kb and known.parent in kb.techniques:
        return f"{kb.techniques[known.parent].name}: {known.name}"
    return known.name


def technique_url(technique_id: str, kb: KnowledgeBase | None) -> str:
    known = kb.techniques.get(technique_id) if kb else None
    if known and known.url:
        return known.url
    return "https://attack.mitre.org/techniques/" + technique_id.replace(".", "/") + "/"


def default_stem(analysis: Analysis) -> str:
    """File stem for exports: the source's file name, else the title, made filesystem-safe."""
    source = analysis.document.source or ""
    base = PurePath(source.split("?", 1)[0].rstrip("/")).stem if source else ""
    base = base or analysis.document.title or "analysis"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._").lower()
    return slug[:80] or "analysis"


def display_title(analysis: Analysis, fallback: str = "Untitled report") -> str:
    """The document title for people: one line, every indicator and URL in it defanged.

    Titles often come from a page's ``<title>`` or a first line that the body's indicators miss, so
    the title's own indicators are found too.
    """
    from ttpmap.defang import defang_text
    from ttpmap.extract.iocs import find_iocs
    from ttpmap.publish.markup import one_line

    title = one_line(analysis.document.title)
    if not title:
        return fallback
    return defang_text(title, [*analysis.iocs, *find_iocs(title)])


def display_source(analysis: Analysis) -> str:
    """``source_label`` for people: a URL defanged so that no viewer turns it into a live link."""
    from ttpmap.defang import defang_text

    label = source_label(analysis)
    return defang_text(label, analysis.iocs) if label else ""


def source_label(analysis: Analysis) -> str:
    """The source as it may be shown to others: a URL as is, a local path by its file name only."""
    source = analysis.document.source or ""
    if re.match(r"^https?://", source, re.IGNORECASE):
        return source
    return PurePath(source).name if source else ""
