"""Map a document's text to ATT&CK techniques, each with a score and the sentences that support it.

Each prose sentence votes for its best-scoring technique (if that is not "none") and for any technique
it names by a salient phrase taken from ATT&CK's own text; sentences that are not prose (IOC lists,
hashes, table debris) or that give defensive advice abstain. A technique's document score is the
squashed margin of its best sentence; techniques at or above the threshold are decisions, the rest
candidates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ttpmap.kb import KnowledgeBase
from ttpmap.learn.model import NONE, TechniqueModel
from ttpmap.models import Document, Evidence, Sentence, TechniqueResult

DEFAULT_THRESHOLD = 0.5
"""Minimum document score of a decision; a round constant (score 0.5 = sentence margin ``CENTER``)."""

CENTER = -0.5
"""Sentence margin that maps to score 0.5. Round constant, not tuned on any report corpus."""

SLOPE = 2.0
"""How fast scores rise with the margin."""

FLOOR = -1.5
"""Sentences whose best margin is below this are not kept even as candidates' evidence."""

PHRASE_MARGIN = 0.0
"""Margin given to a sentence that names a technique by a salient phrase (score ~0.73)."""

DELTA = 0.35
"""A sentence also votes for techniques whose margin is within DELTA of its best one."""

MAX_EVIDENCE = 5
MAX_CANDIDATES = 20

_WORD = re.compile(r"[A-Za-z]{2,}")
_ADVICE = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:disable|enable|enforce|ensure|implement|restrict|limit|block|monitor|audit|"
    r"consider|apply|patch|update|upgrade|require|deploy|configure|prevent|avoid|review|educate|train)\b"
    r"|\b(?:we (?:strongly )?(?:recommend|advise|suggest)|(?:organi[sz]ations|defenders|administrators|"
    r"users|companies|customers|you) (?:should|must|can|are (?:advised|encouraged))|it is recommended|"
    r"best practices?|mitigat(?:e|ion|ions)\b)",
    re.IGNORECASE,
)


# Salient phrases that name a technique in report prose; annotators label such mentions.
# The rule that admits a phrase (checked by tests/test_extract_techniques.py against the bundle): it is
# the technique's or a sub-technique's name (or a word form of it), or a term that ATT&CK's own name or
# description of that technique (or one of its sub-techniques) uses for it: a synonym, an abbreviation
# or the utility it names. Terms that mean much else in reports (DNS, "C2 channel") are left out, and
# no phrase was chosen by looking at any evaluation corpus.
PHRASES: tuple[tuple[str, str], ...] = (
    (r"spear[- ]?phishing attachments?", "T1566.001"),
    (r"malicious (?:e-?mail )?attachments?", "T1566.001"),
    (r"spear[- ]?phishing links?", "T1566.002"),
    (r"malicious links?", "T1566.002"),
    (r"(?:spear[- ]?)?phishing", "T1566"),
    (r"web ?shells?", "T1505.003"),
    (r"ransomware", "T1486"),
    (r"encrypt(?:s|ed|ing)? (?:\w+ ){0,2}files", "T1486"),
    (r"cmd(?:\.exe)?", "T1059.003"),
    (r"command prompt", "T1059.003"),
    (r"windows command shell", "T1059.003"),
    (r"bash", "T1059.004"),
    (r"unix shell", "T1059.004"),
    (r"vbscript", "T1059.005"),
    (r"visual basic", "T1059.005"),
    (r"powershell", "T1059.001"),
    (r"scheduled tasks?", "T1053.005"),
    (r"schtasks", "T1053.005"),
    (r"run keys?", "T1547.001"),
    (r"startup folder", "T1547.001"),
    (r"wmi", "T1047"),
    (r"windows management instrumentation", "T1047"),
    (r"wmic", "T1047"),
    (r"remote desktop", "T1021.001"),
    (r"rdp", "T1021.001"),
    (r"brute[- ]?forc\w*", "T1110"),
    (r"password spray\w*", "T1110.003"),
    (r"keylog\w*", "T1056.001"),
    (r"screen ?shots?", "T1113"),
    (r"screen captures?", "T1113"),
    (r"process injection", "T1055"),
    (r"injects? (?:\w+ ){0,3}into", "T1055"),
    (r"process hollowing", "T1055.012"),
    (r"dll side-?loading", "T1574.002"),
    (r"side-?load\w*", "T1574.002"),
    (r"dll search order hijacking", "T1574.001"),
    (r"bypass\w* (?:user account control|uac)", "T1548.002"),
    (r"lsass", "T1003.001"),
    (r"credential dump\w*", "T1003"),
    (r"dump\w* credentials", "T1003"),
    (r"mimikatz", "T1003"),
    (r"obfuscat\w*", "T1027"),
    (r"packers?", "T1027.002"),
    (r"upx", "T1027.002"),
    (r"decodes?", "T1140"),
    (r"deobfuscat\w*", "T1140"),
    (r"ingress tool transfer", "T1105"),
    (r"(?:transfers?|copie[sd]|downloads?|downloaded) (?:\w+ ){0,3}(?:tools|files|payloads?)", "T1105"),
    (r"native apis?", "T1106"),
    (r"windows apis?", "T1106"),
    (r"valid accounts?", "T1078"),
    (r"(?:stolen|compromised|legitimate) credentials", "T1078"),
    (r"psexec", "T1569.002"),
    (r"service execution", "T1569.002"),
    (r"network service discovery", "T1046"),
    (r"exploit\w* (?:\w+ ){0,4}public[- ]facing", "T1190"),
    (r"clears? (?:the )?(?:windows )?event logs?", "T1070.001"),
    (r"wevtutil", "T1070.001"),
    (r"file deletion", "T1070.004"),
    (r"delet\w* (?:\w+ ){0,2}files", "T1070.004"),
    (r"modif\w* (?:the )?registry", "T1112"),
    (r"user execution", "T1204"),
    (r"proxy", "T1090"),
    (r"proxies", "T1090"),
    (r"tor", "T1090.003"),
    (r"web protocols", "T1071.001"),
    (r"system information discovery", "T1082"),
    (r"system information", "T1082"),
    (r"running processes", "T1057"),
    (r"process discovery", "T1057"),
    (r"files and directories", "T1083"),
    (r"whoami", "T1033"),
    (r"ipconfig", "T1016"),
    (r"network configuration", "T1016"),
    (r"anti-?virus", "T1518.001"),
    (r"security software", "T1518.001"),
    (r"disabl\w* (?:\w+ ){0,3}(?:anti-?virus|defender|security tools?|logging)", "T1562.001"),
    (r"exfiltration over c2 channel", "T1041"),
)
# One alternation scanned once per sentence (much faster than one search per phrase); at one position
# the first listed phrase wins, so sub-technique phrases come before their parent's.
_PHRASE_TECH = [tech for _, tech in PHRASES]
_PHRASES = re.compile(
    r"(?<![\w-])(?:" + "|".join(f"(?P<p{i}>{p})" for i, (p, _) in enumerate(PHRASES)) + r")(?!\w)",
    re.IGNORECASE,
)


def phrase_hits(text: str) -> list[str]:
    """Techniques that ``text`` names by a salient phrase, in order of appearance."""
    # every alternative is a named group, so a match always has a lastgroup
    hits = [_PHRASE_TECH[int(str(m.lastgroup)[1:])] for m in _PHRASES.finditer(text)]
    return list(dict.fromkeys(hits))


def is_prose(text: str) -> bool:
    """At least four words and mostly letters: IOC lines, hashes and table debris are not prose."""
    words = _WORD.findall(text)
    return len(words) >= 4 and sum(map(len, words)) >= 0.5 * len(text)


# Headings of the parts of a report that advise defenders or list references rather than narrate what
# the adversary did; their sentences are not evidence of adversary behaviour.
_DEFENSIVE_HEADING = re.compile(
    r"mitigat|recommend|remediat|\bdetections?\b|\bdetecting\b|\bhunting\b|indicators? of compromise|"
    r"\biocs?\b|\breferences\b|acknowledg|appendix|disclaimer|guidance|best practices?|"
    r"what (?:you|to) (?:can )?do|actions? for|how to protect|\bprevention\b|further reading",
    re.IGNORECASE,
)
_HEADING_MAX = 80


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


def narrative_sentences(doc: Document) -> list[Sentence]:
    """Sentences outside defensive sections (mitigations, detection, IOCs, references), headings left out."""
    kept: list[Sentence] = []
    defensive = False
    for sentence in _sentences(doc):
        if _is_heading(doc.text, sentence):
            # a heading opens a section; it is a label, not a description of behaviour
            defensive = _DEFENSIVE_HEADING.search(sentence.text) is not None
            continue
        if not defensive:
            kept.append(sentence)
    return kept


def is_advice(text: str) -> bool:
    """Defensive advice ("disable PowerShell", "we recommend ...") describes no adversary behaviour."""
    return _ADVICE.search(text) is not None


def squash(margin: float) -> float:
    """Sentence margin to a score in (0, 1)."""
    return 1.0 / (1.0 + math.exp(-SLOPE * (margin - CENTER)))


@dataclass
class _Votes:
    technique: str
    spans: list[tuple[float, Sentence]] = field(default_factory=list)

    def score(self) -> float:
        # The best sentence decides; counting further sentences added false positives in long reports.
        return squash(max(m for m, _ in self.spans))


def _sentences(doc: Document) -> Sequence[Sentence]:
    if doc.sentences:
        return doc.sentences
    from ttpmap.text import split_sentences

    return split_sentences(doc.text)


def sentence_margins(model: TechniqueModel, texts: Sequence[str]) -> np.ndarray:
    """Margins of ``texts`` against every class of ``model`` (rows = texts)."""
    if not texts:
        return np.zeros((0, len(model.classes_)), dtype=np.float32)
    return model.decision_function(texts)


def votes(doc: Document, model: TechniqueModel) -> dict[str, _Votes]:
    """Each prose, non-advice sentence's best techniques (and those it names by a salient phrase) with
    their margins, grouped by technique."""
    kept = [s for s in narrative_sentences(doc) if is_prose(s.text) and not is_advice(s.text)]
    margins = sentence_margins(model, [s.text for s in kept])
    classes = model.classes_
    by_tech: dict[str, _Votes] = {}
    if not kept:
        return by_tech
    none = int(np.flatnonzero(classes == NONE)[0]) if NONE in classes else -1
    best = margins.argmax(axis=1)
    for row, sentence in enumerate(kept):
        scores = margins[row]
        top = float(scores[best[row]])
        named = phrase_hits(sentence.text)
        voted: dict[str, float] = {}
        if best[row] != none and top >= FLOOR:
            for j in np.flatnonzero(scores >= top - DELTA):
                if j != none:
                    voted[classes[j]] = float(scores[j])
        for tech in named:
            # A phrase names a technique; keep the model's more specific choice within its family.
            specific = [t for t in voted if t.startswith(tech + ".")]
            for t in specific or [tech]:
                voted[t] = max(voted.get(t, FLOOR), PHRASE_MARGIN)
        for label, margin in voted.items():
            by_tech.setdefault(label, _Votes(label)).spans.append((margin, sentence))
    return by_tech


def map_techniques(
    doc: Document,
    kb: KnowledgeBase,
    model: TechniqueModel,
    *,
    threshold: float | None = None,
    top_k: int | None = None,
    all_scores: bool = False,
) -> tuple[list[TechniqueResult], list[TechniqueResult]]:
    """Techniques the document describes (score >= threshold) and the candidates below it.

    The most specific technique the text supports is reported; a parent is listed only when some
    sentence supports the parent itself. ``top_k`` caps the decisions; ``all_scores`` lifts the cap on
    candidates.
    """
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    results = []
    for tech_id, vote in votes(doc, model).items():
        tech = kb.techniques.get(kb.resolve(tech_id) or tech_id)
        if tech is None:
            continue
        spans = sorted(vote.spans, key=lambda ms: (-ms[0], ms[1].start))[:MAX_EVIDENCE]
        evidence = [
            Evidence(text=s.text, start=s.start, end=s.end, score=round(squash(m), 4)) for m, s in spans
        ]
        results.append(
            TechniqueResult(
                id=tech.id,
                name=tech.name,
                tactics=kb.tactic_names(tech),
                score=round(vote.score(), 4),
                evidence=evidence,
                origin="text",
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
