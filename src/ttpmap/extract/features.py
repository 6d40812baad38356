"""Report features for attribution: victimology and name-free term counts, extracted once from the text.

Both are carried in Findings and in the Analysis, so a saved analysis is ranked exactly like a fresh
one. Entity names are taken out first: software, group and campaign names (``China Chopper``) never
count as places or sectors, and group and campaign names never count as words of the report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from ttpmap.extract.victimology import find_victimology, masking_pattern
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Document, Entities, Victimology

_TOKEN = re.compile(r"[a-z0-9][a-z0-9_$%\\.-]*[a-z0-9$%]")
_STOP_WORDS = (
    "the and for with that this from have has had was were are been its their they them which who "
    "what when where into also used uses using use via can could may might such other than then there "
    "these those after before during while about over more most some any all each both only not but "
    "our out his her one two three new via has within without between through under upon including "
    "include includes included based well known will would should being because however several group "
    "groups actor actors threat malware tool tools software campaign campaigns operation operations "
    "attack attacks attacker attackers reportedly named described identified observed "
)
_STOP = frozenset(_STOP_WORDS.split())

NameTable = Mapping[str, tuple[tuple[str, ...], ...]]


def tokens(text: str) -> list[str]:
    """Lower-case word tokens as the text index sees them (file names and paths kept whole)."""
    return [t.rstrip(".") for t in _TOKEN.findall(text.lower())]


def name_table(names: Iterable[str]) -> NameTable:
    """Names as token sequences indexed by their first token (longest first), to cut them out of text."""
    seqs: set[tuple[str, ...]] = set()
    for n in names:
        toks = tuple(tokens(n))
        if toks and len(n.strip()) >= 3:
            seqs.add(toks)
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for seq in seqs:
        by_first.setdefault(seq[0], []).append(seq)
    return {k: tuple(sorted(v, key=len, reverse=True)) for k, v in by_first.items()}


def actor_names(kb: KnowledgeBase) -> list[str]:
    """Every group and campaign name and alias of the KB (what term counts must never contain)."""
    return [n for t in (kb.groups, kb.campaigns) for o in t.values() for n in (o.name, *o.aliases)]


def terms(text: str, names: NameTable | None = None) -> Counter[str]:
    """Term counts of ``text`` with the ``names`` cut out (lower case, stop words dropped)."""
    toks = tokens(text)
    out: Counter[str] = Counter()
    i, n = 0, len(toks)
    while i < n:
        tok = toks[i]
        if names and tok in names:
            seq = next((s for s in names[tok] if tuple(toks[i : i + len(s)]) == s), None)
            if seq is not None:
                i += len(seq)
                continue
        i += 1
        if len(tok) < 3 or tok in _STOP or tok.isdigit():
            continue
        out[tok] += 1
    return out


def entity_names(kb: KnowledgeBase, entities: Entities, extra: Iterable[str] = ()) -> list[str]:
    """The mentions, names and aliases of every entity found in a report (plus ``extra`` names)."""
    out = list(extra)
    for refs in (entities.groups, entities.software, entities.campaigns):
        for ref in refs:
            out.append(ref.mention)
            obj = kb.get(ref.id)
            if obj is not None:
                out += [obj.name, *getattr(obj, "aliases", ())]
    return out


_MALWARE_CONTEXT = (
    r"(?:ransomware|malware|backdoor|RAT|loader|stealer|infostealer|trojan|implant|botnet|wiper|"
    r"web ?shell|dropper|downloader|rootkit|keylogger|spyware|variant|family|payload|sample)s?"
)


def malware_mentions(text: str, names: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of malware names ATT&CK may not know (e.g. from the MISP galaxy) used as malware names:
    followed by a malware word ("Cuba ransomware", "Royal malware"), so ordinary words stay words."""
    usable = sorted({n.strip() for n in names if len(n.strip()) >= 3}, key=len, reverse=True)
    if not usable or not text:
        return []
    body = "|".join(map(re.escape, usable))
    pattern = re.compile(rf"(?<![\w-])(?:{body})(?=[\s-]+{_MALWARE_CONTEXT}\b)", re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def report_victimology(
    doc: Document,
    kb: KnowledgeBase,
    entities: Entities,
    extra_names: Iterable[str] = (),
    malware_names: Iterable[str] = (),
) -> Victimology:
    """Sectors, countries, regions and stated origin of a report, with entity names masked first (and
    ``malware_names`` wherever the text uses them as malware names)."""
    pattern = masking_pattern(entity_names(kb, entities, extra_names))
    spans = malware_mentions(doc.text, malware_names)
    return Victimology(**find_victimology(doc.text, masked=spans, names=pattern))


def report_terms(doc: Document, kb: KnowledgeBase) -> dict[str, int]:
    """Name-free term counts of a report, for procedure-text similarity."""
    return dict(terms(doc.text, name_table(actor_names(kb)))) if doc.text else {}
