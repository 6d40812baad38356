"""Labelled sentences for the technique model: from the ATT&CK bundle and from user corpora."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ttpmap.errors import UsageError
from ttpmap.kb import KnowledgeBase
from ttpmap.text import split_sentences

NONE = "none"  # label of sentences that describe no technique


@dataclass(frozen=True, slots=True)
class Example:
    """One training sentence with its technique label (or NONE) and a weight."""

    text: str
    label: str
    weight: float = 1.0
    source: str = ""
    key: str = ""
    """The ATT&CK object the text comes from (groups examples for held-out fitting)."""


def masked_text(text: str, spans: Iterable[tuple[int, int]], token: str = "") -> str:
    """Replace the given spans (actor/software names) by ``token`` so a model cannot learn names."""
    out, pos = [], 0
    for start, end in sorted(spans):
        out.append(text[pos:start])
        out.append(token)
        pos = end
    out.append(text[pos:])
    return re.sub(r"\s{2,}", " ", "".join(out)).strip()


def kb_sentences(text: str) -> list[str]:
    """Sentences of KB prose, split by the same splitter as reports (one splitter for training and
    inference); fragments of 20 characters or less are dropped."""
    return [s.text.strip(" -*\t") for s in split_sentences(text) if len(s.text.strip()) > 20]


def kb_examples(kb: KnowledgeBase) -> list[Example]:
    """Positives from procedures, technique descriptions; negatives from descriptive and advice text."""
    examples: list[Example] = []
    for proc in kb.procedures:
        tech = kb.techniques.get(proc.target_id)
        if tech is None or not proc.text:
            continue
        text = masked_text(proc.text, proc.mentions)
        if len(text) < 12:
            continue
        examples.append(Example(text, tech.id, 1.0, "procedure", proc.source_id))
    for tech in kb.techniques.values():
        examples.append(Example(tech.name, tech.id, 1.0, "name", tech.id))
        sentences = kb_sentences(tech.description)
        for i, sent in enumerate(sentences[:6]):
            examples.append(Example(sent, tech.id, 0.6 if i < 2 else 0.3, "description", tech.id))
    # Negatives: who the actors are, what software is, and defensive advice.
    for table in (kb.groups, kb.campaigns):
        for obj in table.values():
            for sent in kb_sentences(obj.description):
                examples.append(Example(sent, NONE, 0.5, "actor-description", obj.id))
    for sw in kb.software.values():
        for sent in kb_sentences(sw.description)[:2]:
            examples.append(Example(sent, NONE, 0.3, "software-description", sw.id))
    for mit in kb.mitigations.values():
        for sent in kb_sentences(mit.description):
            examples.append(Example(sent, NONE, 0.5, "mitigation", mit.id))
    for link in kb.mitigates:
        for sent in kb_sentences(link.text)[:3]:
            examples.append(Example(sent, NONE, 0.5, "mitigation-advice", link.source_id))
    return examples


BEHAVIOUR, ADVICE, DETECTION, BACKGROUND = "behaviour", "advice", "detection", "background"
ROLES = (BEHAVIOUR, ADVICE, DETECTION, BACKGROUND)
"""What a sentence does, as ATT&CK's own text separates it: procedure examples and technique
descriptions narrate behaviour; mitigations advise; detection text says what to watch; group,
campaign and software descriptions give background."""


def role_examples(kb: KnowledgeBase) -> list[Example]:
    """Sentences of the KB labelled with their role (one of ``ROLES``)."""
    examples: list[Example] = []
    for proc in kb.procedures:
        text = masked_text(proc.text, proc.mentions)
        if len(text) >= 12 and proc.target_id in kb.techniques:
            examples.append(Example(text, BEHAVIOUR, 1.0, "procedure", proc.source_id))
    for tech in kb.techniques.values():
        for sent in kb_sentences(tech.description):
            examples.append(Example(sent, BEHAVIOUR, 0.5, "description", tech.id))
        for sent in kb_sentences(tech.detection):
            examples.append(Example(sent, DETECTION, 1.0, "detection", tech.id))
    for comp in kb.data_components.values():
        for sent in kb_sentences(comp.description):
            examples.append(Example(sent, DETECTION, 1.0, "data-component", comp.id))
    for mit in kb.mitigations.values():
        for sent in kb_sentences(mit.description):
            examples.append(Example(sent, ADVICE, 1.0, "mitigation", mit.id))
    for link in kb.mitigates:
        for sent in kb_sentences(link.text):
            examples.append(Example(sent, ADVICE, 1.0, "mitigation-advice", link.source_id))
    for table in (kb.groups, kb.campaigns, kb.software):
        for obj in table.values():
            for sent in kb_sentences(obj.description):
                examples.append(Example(sent, BACKGROUND, 1.0, "actor-description", obj.id))
    return examples


# ---- user corpora -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledDocument:
    """A report with its document-level technique labels and, when known, labelled spans."""

    doc_id: str
    text: str
    techniques: frozenset[str]
    spans: tuple[tuple[int, int, str], ...] = ()
    groups: frozenset[str] = frozenset()


def _open_text(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        yield from fh


def read_tram(path: str | Path) -> list[LabelledDocument]:
    """TRAM2 reports as JSON lines (``text``, ``annotations`` with start/end/technique_id)."""
    docs: list[LabelledDocument] = []
    for line in _open_text(Path(path)):
        if not line.strip():
            continue
        rec = json.loads(line)
        spans = tuple((a["start"], a["end"], a["technique_id"]) for a in rec.get("annotations", ()))
        labels = frozenset(rec.get("technique_ids") or {s[2] for s in spans})
        docs.append(LabelledDocument(str(rec.get("doc_id", len(docs))).strip(), rec["text"], labels, spans))
    return docs


def read_annoctr(path: str | Path, text_dir: str | Path | None = None) -> list[LabelledDocument]:
    """AnnoCTR linking file (one mention per line); texts from ``text/<split>/<doc>.txt`` beside it."""
    path = Path(path)
    by_doc: dict[str, list[dict]] = {}
    for line in _open_text(path):
        if line.strip():
            rec = json.loads(line)
            by_doc.setdefault(rec["document"], []).append(rec)
    split = path.name.split(".")[0].split("_")[0]
    base = Path(text_dir) if text_dir else path.parent.parent / "text" / split
    docs = []
    for doc_id, mentions in sorted(by_doc.items()):
        txt_file = base / f"{doc_id}.txt"
        if not txt_file.is_file():
            raise UsageError(f"AnnoCTR text for {doc_id} not found in {base}")
        text = txt_file.read_text(encoding="utf-8")
        techs: set[str] = set()
        groups: set[str] = set()
        spans: list[tuple[int, int, str]] = []
        for m in mentions:
            link = m.get("label_link", "")
            hit = re.search(r"attack\.mitre\.org/(techniques|groups)/(T\d{4}(?:/\d{3})?|G\d{4})", link)
            if not hit:
                continue
            ident = hit.group(2).replace("/", ".")
            (techs if hit.group(1) == "techniques" else groups).add(ident)
            if hit.group(1) == "techniques":
                span = _locate_mention(text, m)
                if span:
                    spans.append((*span, ident))
        docs.append(LabelledDocument(doc_id, text, frozenset(techs), tuple(sorted(spans)), frozenset(groups)))
    return docs


def _locate_mention(text: str, mention: dict) -> tuple[int, int] | None:
    """Offsets of an AnnoCTR mention, found through its left context (the file has no offsets)."""
    name = mention.get("mention", "")
    left = mention.get("_context_left", mention.get("context_left", ""))
    for probe in (left + name, left[-40:] + name, name):
        pos = text.find(probe) if probe else -1
        if pos >= 0:
            start = pos + len(probe) - len(name)
            return start, start + len(name)
    return None


def read_jsonl(path: str | Path) -> tuple[list[LabelledDocument], list[Example]]:
    """ttpmap JSONL: document level ``{"text", "techniques"}`` or sentence level ``{"text", "label"}``."""
    docs, sentences = [], []
    for n, line in enumerate(_open_text(Path(path)), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            text = rec["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}:{n}: not a ttpmap JSONL record ({exc})") from exc
        if "techniques" in rec:
            docs.append(LabelledDocument(str(rec.get("id", n)), text, frozenset(rec["techniques"])))
        elif "label" in rec:
            sentences.append(Example(text, rec["label"] or NONE, 1.0, "jsonl"))
        else:
            raise UsageError(f"{path}:{n}: record needs 'techniques' or 'label'")
    return docs, sentences


def detect_format(path: str | Path) -> str:
    """``tram``, ``annoctr`` or ``jsonl``, from the keys of the file's first record."""
    for line in _open_text(Path(path)):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}: not JSON lines ({exc})") from exc
        if not isinstance(rec, dict):
            break
        if "annotations" in rec or "technique_ids" in rec:
            return "tram"
        if "label_link" in rec and "document" in rec:
            return "annoctr"
        if "techniques" in rec or "label" in rec:
            return "jsonl"
        break
    raise UsageError(f"{path}: cannot tell the corpus format (TRAM2, AnnoCTR linking or ttpmap JSONL)")


def read_corpus(path: str | Path, fmt: str = "auto") -> tuple[list[LabelledDocument], list[Example]]:
    """Read a labelled corpus in any supported format: documents and sentence-level examples."""
    if not Path(path).is_file():
        raise UsageError(f"{path}: corpus file not found")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "tram":
        return read_tram(path), []
    if fmt == "annoctr":
        return read_annoctr(path), []
    if fmt == "jsonl":
        return read_jsonl(path)
    raise UsageError(f"unknown corpus format {fmt!r} (auto, tram, annoctr, jsonl)")


POSITIVE_WEIGHT = 3.0
"""Weight of a labelled report sentence. Report prose is rarer and closer to what the model will read
than ATT&CK's ~20k examples, which otherwise swamp it. A round value from the 3-5 range picked before
any run; held-out reports only confirmed it (5 did no better)."""

SPAN_WEIGHT = 1.5
"""Weight of a labelled span's own text (half a sentence: the span is the cue without its context)."""


def document_examples(
    docs: Iterable[LabelledDocument],
    split: Callable[[str], Iterable[tuple[str, int, int]]],
    *,
    positive_weight: float = POSITIVE_WEIGHT,
    negative_weight: float = 0.3,
    span_weight: float = SPAN_WEIGHT,
) -> list[Example]:
    """Sentences of labelled documents: those overlapping a labelled span are positives, the others
    (only in documents that have spans) negatives; each labelled span's own text (12+ characters) is an
    extra positive. ``split`` yields (text, start, end) sentences."""
    examples: list[Example] = []
    for doc in docs:
        if not doc.spans:
            continue
        for text, start, end in split(doc.text):
            labels = {t for s, e, t in doc.spans if s < end and e > start}
            if labels:
                examples.extend(Example(text, t, positive_weight, "corpus") for t in sorted(labels))
            elif negative_weight > 0:
                examples.append(Example(text, NONE, negative_weight, "corpus-negative"))
        if span_weight > 0:
            for start, end, tech in doc.spans:
                span = doc.text[start:end].strip()
                if len(span) >= 12:  # a bare word or two says little on its own
                    examples.append(Example(span, tech, span_weight, "corpus-span"))
    return examples
