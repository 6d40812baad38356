"""ATT&CK IDs written in the text (``T1059.001``, ``T1059/001`` in URLs, ``G0065``...), validated
against the knowledge base: revoked IDs become their replacement, unknown and deprecated ones are
dropped."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from ttpmap.kb import KnowledgeBase, Technique
from ttpmap.models import Document, Evidence, TechniqueResult

# `T1059/001` is how technique URLs on attack.mitre.org spell a sub-technique.
_TECHNIQUE_ID = re.compile(r"(?<![A-Za-z0-9])T(\d{4})(?:[./](\d{3}))?(?![0-9A-Za-z])")
_OTHER_ID = re.compile(r"(?<![A-Za-z0-9])(TA|[GSMC])(\d{4})(?![0-9A-Za-z])")

_KINDS = {"TA": "tactics", "G": "groups", "S": "software", "M": "mitigations", "C": "campaigns"}


def _sentence_index(doc: Document) -> list[int]:
    return [s.start for s in doc.sentences]


def _evidence_span(doc: Document, starts: list[int], pos: int) -> tuple[int, int]:
    """The sentence holding offset ``pos``; the line, when sentences do not cover it."""
    k = bisect.bisect_right(starts, pos) - 1
    if k >= 0 and doc.sentences[k].start <= pos < doc.sentences[k].end:
        return doc.sentences[k].start, doc.sentences[k].end
    start = doc.text.rfind("\n", 0, pos) + 1
    end = doc.text.find("\n", pos)
    return start, len(doc.text) if end < 0 else end


def _technique_mentions(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _TECHNIQUE_ID.finditer(text):
        tid = f"T{m.group(1)}" + (f".{m.group(2)}" if m.group(2) else "")
        yield tid, m.start(), m.end()


def find_attack_ids(doc: Document, kb: KnowledgeBase) -> list[TechniqueResult]:
    """Techniques named by ID, score 1.0, ``origin="explicit-id"``, with the sentences naming them as
    evidence; a revoked ID is reported as its replacement with ``original_id`` set."""
    starts = _sentence_index(doc)
    found: dict[str, Technique] = {}
    counts: dict[str, int] = {}
    originals: dict[str, str] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for written, start, _end in _technique_mentions(doc.text):
        resolved = kb.resolve(written)
        tech = kb.techniques.get(resolved) if resolved else None
        if not isinstance(tech, Technique):
            continue
        found.setdefault(tech.id, tech)
        counts[tech.id] = counts.get(tech.id, 0) + 1
        if written != tech.id:
            originals.setdefault(tech.id, written)
        span = _evidence_span(doc, starts, start)
        if span not in spans.setdefault(tech.id, []):
            spans[tech.id].append(span)
    return [
        TechniqueResult(
            id=tid,
            name=tech.name,
            tactics=kb.tactic_names(tech),
            score=1.0,
            origin="explicit-id",
            count=counts[tid],
            original_id=originals.get(tid),
            evidence=[Evidence(text=doc.text[a:b], start=a, end=b, score=1.0) for a, b in spans[tid]],
        )
        for tid, tech in found.items()
    ]


def find_other_ids(doc: Document, kb: KnowledgeBase) -> dict[str, list[str]]:
    """Explicit tactic, group, software, mitigation and campaign IDs, resolved and validated, by kind
    (``tactics``, ``groups``, ``software``, ``mitigations``, ``campaigns``), in order of first mention."""
    return {kind: [i for i, _, _ in mentions] for kind, mentions in other_id_mentions(doc.text, kb).items()}


def other_id_mentions(text: str, kb: KnowledgeBase) -> dict[str, list[tuple[str, int, int]]]:
    """Like :func:`find_other_ids`, with the offsets of the first mention and the mention count:
    ``{kind: [(id, first_start, count), ...]}``."""
    tables = {
        "tactics": {t.id for t in kb.tactics},
        "groups": kb.groups,
        "software": kb.software,
        "mitigations": kb.mitigations,
        "campaigns": kb.campaigns,
    }
    found: dict[str, dict[str, list[int]]] = {kind: {} for kind in tables}
    for m in _OTHER_ID.finditer(text):
        kind = _KINDS[m.group(1)]
        resolved = kb.resolve(m.group(1) + m.group(2))
        if resolved is None or resolved not in tables[kind]:
            continue
        entry = found[kind].setdefault(resolved, [m.start(), 0])
        entry[1] += 1
    return {kind: [(i, v[0], v[1]) for i, v in ids.items()] for kind, ids in found.items()}
