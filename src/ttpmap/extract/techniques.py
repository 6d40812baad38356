"""Map a document's text to ATT&CK techniques, each with a score and the sentences that support it.

Every prose sentence (headings, IOC lists, hashes and table debris excluded; table rows read as the
text of their cells) is scored by the mapper's sentence model, its role model (does it narrate
adversary behaviour, advise, describe detection or give background?) and the salient phrases. The
evidence of each technique family is summarised and the fitted decision model gives the probability
that the document describes the family; the most specific supported member is reported. No heading,
keyword or phrase decides alone: they are features of a fitted model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ttpmap.kb import KnowledgeBase
from ttpmap.learn.decide import Family, Support
from ttpmap.learn.mapper import TechniqueMapper
from ttpmap.models import Document, Evidence, Sentence, TechniqueResult

DEFAULT_THRESHOLD = 0.5
"""Minimum decision probability of a reported technique (the decision model's own midpoint)."""

MAX_EVIDENCE = 5
MAX_CANDIDATES = 20
BEHAVIOUR_QUOTE = 0.5
"""Evidence quotes come first from sentences the role model reads as behaviour (probability >= 0.5)."""

_WORD = re.compile(r"[A-Za-z]{2,}")
_PLAIN = re.compile(r"^[(\"'“‘]*[A-Za-z][A-Za-z'’-]*[)\"'”’.,;:!?]*$")
_CELL = re.compile(r"\s*\|\s*")
# A table cell that is wholly one indicator (defanged or not): an IP, hash, URL, e-mail address, Windows
# or POSIX path, registry key or domain/file name. A row holding one is an IOC record, not narrative.
_INDICATOR_CELL = re.compile(
    r"^(?:\d{1,3}(?:(?:\[\.\]|\.)\d{1,3}){3}(?:[:/]\d+)?"
    r"|[a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{64}|[a-f0-9]{128}"
    r"|(?:hxxps?|https?|ftp)(?::|\[:\])\S+"
    r"|[^\s@]+(?:@|\[@\]|\[at\])[^\s@]+"
    r"|(?:[a-z]:)?\\\S+|HK(?:LM|CU|CR|U|EY_[A-Z_]+)\\\S*"
    r"|/[^\s/]+/\S+"
    r"|(?:[a-z0-9_-]+(?:\[\.\]|\.))+[a-z]{2,}"
    r")$",
    re.IGNORECASE,
)
_HEADING_MAX = 80


def is_prose(text: str) -> bool:
    """At least four words, mostly letters, and most tokens plain words: IOC lines, hashes, path and
    file lists and table debris are not prose."""
    words = _WORD.findall(text)
    if len(words) < 4 or sum(map(len, words)) < 0.5 * len(text):
        return False
    tokens = text.split()
    return sum(1 for t in tokens if _PLAIN.match(t)) >= 0.5 * len(tokens)


def _is_heading(doc_text: str, sentence: Sentence) -> bool:
    """A short line of its own that does not end like a sentence (and is not a table row)."""
    before = doc_text[max(0, sentence.start - 1) : sentence.start]
    after = doc_text[sentence.end : sentence.end + 1]
    return (
        len(sentence.text) <= _HEADING_MAX
        and before in ("", "\n")
        and after in ("", "\n")
        and not sentence.text.rstrip().endswith((".", ",", ";"))
        and "|" not in sentence.text
        and sentence.text[:1].isupper()
    )


def is_indicator_row(text: str) -> bool:
    """A table row (``a | b | c``) with a cell that is wholly an indicator: a row of an IOC table, read
    by the IOC extractor as a record (issue #14), never technique evidence."""
    if text.count("|") < 1:
        return False
    cells = [c.strip().strip("`") for c in _CELL.split(text.strip().strip("|"))]
    return any(_INDICATOR_CELL.match(c) for c in cells if c)


def readable_text(text: str) -> str:
    """A table row as the text of its cells ("a | b" -> "a; b"); other sentences unchanged."""
    if "|" not in text:
        return text
    cells = [c.strip() for c in _CELL.split(text.strip().strip("|")) if c.strip()]
    return "; ".join(cells)


@dataclass(frozen=True)
class ProseSentence:
    """A sentence the mapper reads: its span in the document, the text scored and its section."""

    sentence: Sentence
    text: str
    section: int


def prose_sentences(doc: Document) -> list[ProseSentence]:
    """The document's prose sentences with section numbers (a heading opens a new section; headings
    themselves are labels, not evidence). No section is dropped for its heading."""
    out: list[ProseSentence] = []
    section = 0
    for sentence in _sentences(doc):
        if _is_heading(doc.text, sentence):
            section += 1
            continue
        if is_indicator_row(sentence.text):
            continue
        text = readable_text(sentence.text)
        if is_prose(text):
            out.append(ProseSentence(sentence, text, section))
    return out


def _sentences(doc: Document) -> Sequence[Sentence]:
    if doc.sentences:
        return doc.sentences
    from ttpmap.text import split_sentences

    return split_sentences(doc.text)


def evidence_score(margin: float) -> float:
    """A sentence margin shown as a score in (0, 1) (display only; decisions use the decision model)."""
    return 1.0 / (1.0 + math.exp(-2.0 * (margin + 0.5)))


def _reported_labels(fam: Family) -> list[str]:
    """The most specific members the evidence supports: the best sentence's label, plus any other
    member that is some sentence's best label."""
    best = fam.best().label
    others = {s.label for s in fam.support if s.rank == 0 and s.margin > s.none and s.label != best}
    return [best, *sorted(others)]


def map_techniques(
    doc: Document,
    kb: KnowledgeBase,
    model: TechniqueMapper,
    *,
    threshold: float | None = None,
    top_k: int | None = None,
    all_scores: bool = False,
) -> tuple[list[TechniqueResult], list[TechniqueResult]]:
    """Techniques the document describes (score >= threshold) and the candidates below it.

    ``top_k`` caps the decisions; ``all_scores`` lifts the cap on candidates.
    """
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    prose = prose_sentences(doc)
    ev = model.evidence([p.text for p in prose], [p.section for p in prose])
    names = list(ev.families)
    if model.decision is not None and names:
        probs = model.decision.predict_proba(np.vstack([ev.features[f] for f in names]))
    else:  # ablation: the best sentence's margin alone
        probs = np.array([evidence_score(ev.families[f].best().margin) for f in names])
    results: list[TechniqueResult] = []
    seen: set[str] = set()
    for fam_id, prob in zip(names, probs, strict=True):
        fam = ev.families[fam_id]
        for label in _reported_labels(fam):
            tech = kb.techniques.get(kb.resolve(label) or label)
            if tech is None or tech.id in seen:
                continue
            seen.add(tech.id)
            results.append(
                _result(
                    tech.id, tech.name, kb.tactic_names(tech), float(prob), fam, label, prose, ev.behaviour
                )
            )
    results.sort(key=lambda r: (-r.score, r.id))
    decisions = [r for r in results if r.score >= threshold]
    candidates = [r for r in results if r.score < threshold]
    if top_k is not None:
        decisions, spill = decisions[:top_k], decisions[top_k:]
        candidates = sorted(spill + candidates, key=lambda r: (-r.score, r.id))
    if not all_scores:
        candidates = candidates[:MAX_CANDIDATES]
    return decisions, candidates


def _result(
    tech_id: str,
    name: str,
    tactics: list[str],
    prob: float,
    fam: Family,
    label: str,
    prose: list[ProseSentence],
    behaviour: np.ndarray,
) -> TechniqueResult:
    own: dict[int, Support] = {}
    for s in fam.support:
        if s.label == label and (s.row not in own or s.margin > own[s.row].margin):
            own[s.row] = s
    ranked = sorted(own.values(), key=lambda s: (behaviour[s.row] < BEHAVIOUR_QUOTE, -s.margin, s.row))[
        :MAX_EVIDENCE
    ]
    evidence = [
        Evidence(
            text=prose[s.row].sentence.text,
            start=prose[s.row].sentence.start,
            end=prose[s.row].sentence.end,
            score=round(evidence_score(s.margin), 4),
        )
        for s in ranked
    ]
    return TechniqueResult(
        id=tech_id, name=name, tactics=tactics, score=round(prob, 4), evidence=evidence, origin="text"
    )
