"""The technique mapper's fitted parts, fitted together: sentence model, role model, decision model.

``fit_mapper`` trains all three from the ATT&CK bundle (plus optional labelled examples). The decision
model is fitted on synthetic documents built from ATT&CK itself: the bundle's objects are split in two
halves, sentence and role models are trained without one half, and that half's procedure examples
(grouped by the group, software or campaign they describe, with background, advice and detection
sentences mixed in) become documents whose labels are known. Every report corpus therefore stays
out-of-sample for every fitted weight.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ttpmap.kb import KnowledgeBase
from ttpmap.learn.corpus import (
    ADVICE,
    BACKGROUND,
    BEHAVIOUR,
    DETECTION,
    Example,
    kb_examples,
    masked_text,
    role_examples,
)
from ttpmap.learn.decide import DecisionModel, DocumentEvidence, document_evidence, family_of
from ttpmap.learn.model import TechniqueModel
from ttpmap.learn.phrases import phrase_hits

Progress = Callable[[str], None] | None

HELD_OUT = frozenset(
    {"procedure", "actor-description", "software-description", "mitigation", "mitigation-advice"}
    | {"detection", "data-component"}
)
"""Example sources split by object between the two halves (technique names and descriptions are
always trained on: synthetic documents never quote them)."""

ROLE_C = 0.3

# The mix of synthetic documents: round shares set before any corpus run, then compared on the report
# corpora (the README's note says which figures that makes in-sample).
BODY_BACKGROUND = 0.5
"""Up to this share of a body's length in background sentences is mixed into the narrative."""
BODY_ADVICE = 0.1
"""Up to this share in stray advice sentences."""
UNSECTIONED = 0.5
"""Share of synthetic documents without headings (one section)."""
MERGED = 0.3
"""Chance that a procedure is joined to the previous one in one sentence."""
ADVICE_SECTION = 0.6
"""Share of synthetic documents with an advice section (two thirds as many get a detection section)."""


@dataclass(frozen=True)
class TechniqueMapper:
    """Sentence model + role model + document decision model. Parts may be switched off (ablation)."""

    sentences: TechniqueModel
    roles: TechniqueModel | None = None
    decision: DecisionModel | None = None
    use_phrases: bool = True
    use_clauses: bool = True
    priors: Mapping[str, float] | None = None
    """Family priors used while the decision model is being fitted (afterwards it carries them)."""

    @property
    def classes_(self) -> np.ndarray:
        """The sentence model's classes (technique IDs and ``"none"``)."""
        return self.sentences.classes_

    def behaviour(self, texts: Sequence[str]) -> np.ndarray:
        """Probability that each text narrates adversary behaviour (1.0 without a role model)."""
        if self.roles is None:
            return np.ones(len(texts))
        proba = self.roles.predict_proba(texts)
        return proba[:, list(self.roles.classes_).index(BEHAVIOUR)].astype(np.float64)

    def evidence(
        self, texts: Sequence[str], sections: Sequence[int], n_sentences: int | None = None
    ) -> DocumentEvidence:
        """Scores and per-family evidence summaries of a document's prose sentences."""
        return document_evidence(
            texts,
            sections,
            self.sentences,
            self.behaviour if self.roles is not None else None,
            phrase_hits if self.use_phrases else None,
            n_sentences,
            self.decision.priors if self.decision is not None else self.priors,
            self.use_clauses,
        )

    def without(self, part: str) -> TechniqueMapper:
        """A copy with one part switched off: ``roles``, ``decision``, ``phrases`` or ``clauses``."""
        if part == "phrases":
            return replace(self, use_phrases=False)
        if part == "clauses":
            return replace(self, use_clauses=False)
        if part == "roles":
            return replace(self, roles=None)
        if part == "decision":
            return replace(self, decision=None)
        raise ValueError(f"unknown mapper part {part!r}")


def family_priors(kb: KnowledgeBase) -> dict[str, float]:
    """How commonly ATT&CK's groups, software and campaigns use each family: log(1 + users)."""
    users: dict[str, set[str]] = {}
    for proc in kb.procedures:
        if proc.target_id in kb.techniques:
            users.setdefault(family_of(proc.target_id), set()).add(proc.source_id)
    return {fam: round(math.log1p(len(u)), 4) for fam, u in users.items()}


def _half(key: str) -> int:
    return hashlib.sha256(key.encode()).digest()[0] & 1


def _say(progress: Progress, message: str) -> None:
    if progress is not None:
        progress(message)


def fit_sentence_model(examples: Sequence[Example]) -> TechniqueModel:
    """The sentence-level technique classifier (deterministic)."""
    model = TechniqueModel()
    return model.fit([e.text for e in examples], [e.label for e in examples], [e.weight for e in examples])


def fit_role_model(examples: Sequence[Example]) -> TechniqueModel:
    """The sentence-role classifier (behaviour / advice / detection / background)."""
    model = TechniqueModel(C=ROLE_C)
    return model.fit([e.text for e in examples], [e.label for e in examples], [e.weight for e in examples])


def _merge(sentences: list[str], rng: random.Random) -> list[str]:
    """Join some neighbouring procedures into one sentence, as report prose often describes several
    steps at once."""
    out: list[str] = []
    for text in sentences:
        if out and rng.random() < MERGED:
            out[-1] = out[-1].rstrip(". ") + ", and " + text[:1].lower() + text[1:]
        else:
            out.append(text)
    return out


@dataclass(frozen=True)
class SyntheticDocument:
    """A document assembled from ATT&CK text: sentences, their section numbers and the gold families."""

    texts: tuple[str, ...]
    sections: tuple[int, ...]
    families: frozenset[str]


def synthetic_documents(kb: KnowledgeBase, half: int, seed: int = 0) -> list[SyntheticDocument]:
    """Documents from the procedure examples of the objects in ``half``, with distractors mixed in."""
    rng = random.Random(seed * 2 + half)
    procedures: dict[str, list[tuple[str, str]]] = {}
    for proc in kb.procedures:
        if proc.target_id in kb.techniques and proc.text and _half(proc.source_id) == half:
            text = masked_text(proc.text, proc.mentions)
            if len(text) >= 12:
                procedures.setdefault(proc.source_id, []).append((text, proc.target_id))
    pools: dict[str, list[str]] = {BACKGROUND: [], ADVICE: [], DETECTION: []}
    for ex in role_examples(kb):
        if ex.label in pools and ex.source in HELD_OUT and _half(ex.key) == half:
            pools[ex.label].append(ex.text)
    docs = []
    for source in sorted(procedures):
        items = procedures[source]
        rng.shuffle(items)
        while items:
            size = rng.randint(3, 40)
            chunk, items = items[:size], items[size:]
            if len(chunk) < 2:
                break
            body = _merge([t for t, _ in chunk], rng)
            # narrative that names no technique, and stray advice, inside the body
            for pool, share in ((BACKGROUND, BODY_BACKGROUND), (ADVICE, BODY_ADVICE)):
                for _ in range(rng.randint(0, math.ceil(share * len(body)))):
                    body.insert(rng.randrange(len(body) + 1), rng.choice(pools[pool]))
            parts = [
                ([rng.choice(pools[BACKGROUND]) for _ in range(rng.randint(0, 4))], 0),
                (body, 1),
            ]
            if rng.random() < ADVICE_SECTION:
                parts.append(([rng.choice(pools[ADVICE]) for _ in range(rng.randint(2, 10))], 2))
            if rng.random() < ADVICE_SECTION * 2 / 3:
                parts.append(([rng.choice(pools[DETECTION]) for _ in range(rng.randint(2, 8))], 3))
            if rng.random() < UNSECTIONED:  # many reports have no headings the splitter can see
                parts = [(sents, 0) for sents, _ in parts]
            texts = tuple(t for sents, _ in parts for t in sents)
            sections = tuple(s for sents, s in parts for _ in sents)
            docs.append(SyntheticDocument(texts, sections, frozenset(family_of(t) for _, t in chunk)))
    return docs


def decision_rows(
    mapper: TechniqueMapper, docs: Sequence[SyntheticDocument]
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and 0/1 labels of every candidate family of every document."""
    rows, labels = [], []
    for doc in docs:
        ev = mapper.evidence(doc.texts, doc.sections)
        for fam, feats in ev.features.items():
            rows.append(feats)
            labels.append(int(fam in doc.families))
    return np.array(rows), np.array(labels)


def fit_mapper(
    kb: KnowledgeBase, extra: Sequence[Example] = (), progress: Progress = None
) -> TechniqueMapper:
    """Fit the sentence, role and decision models from the bundle (plus ``extra`` labelled sentences)."""
    examples = kb_examples(kb) + list(extra)
    roles = role_examples(kb)
    priors = family_priors(kb)
    rows, labels = [], []
    for half in (0, 1):
        _say(progress, f"fitting held-out models ({half + 1}/2) for the decision model")
        keep = [e for e in examples if not (e.source in HELD_OUT and _half(e.key) == half)]
        keep_roles = [e for e in roles if not (e.source in HELD_OUT and _half(e.key) == half)]
        partial = TechniqueMapper(fit_sentence_model(keep), fit_role_model(keep_roles), priors=priors)
        X, y = decision_rows(partial, synthetic_documents(kb, half))
        rows.append(X)
        labels.append(y)
    decision = DecisionModel(priors=priors).fit(np.vstack(rows), np.concatenate(labels))
    _say(progress, f"training technique model on {len(examples):,} sentences")
    return TechniqueMapper(fit_sentence_model(examples), fit_role_model(roles), decision)
