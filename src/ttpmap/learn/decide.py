"""Document-level decisions from sentence evidence: a small fitted logistic model per technique family.

Every prose sentence of a document is scored by the sentence model (margins per technique), the role
model (how much it reads as adversary behaviour) and the salient phrases. A technique *family* (a parent
and its sub-techniques) gathers the sentences that rank one of its members among their top labels or
name it by a phrase; ``family_features`` summarises that evidence (best and second-best margin, number
of supporting sentences, role of the best sentence and of its section, phrases, position, document
length) and ``DecisionModel`` turns the summary into the probability that the document describes the
family. Nothing here is a hand-set threshold on a single cue: the weights are fitted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ttpmap.errors import ModelError
from ttpmap.learn.model import NONE, TechniqueModel

TOP_LABELS = 3
"""A sentence supports the families of its best three technique labels (the fitted model weighs them)."""

MIN_MARGIN = -1.5
"""Evidence below this margin is not collected at all (keeps the candidate lists short)."""

PAD_MARGIN = -2.0
"""Stands in for a missing second-best margin."""

FEATURES = (
    "best_margin",
    "second_margin",
    "best_over_none",
    "best_gap_to_top",
    "top1_sentences",
    "supporting_sentences",
    "supporting_share",
    "best_behaviour",
    "best_section_behaviour",
    "top1_behaviour",
    "margin_x_behaviour",
    "phrase_sentences",
    "phrase_with_model",
    "best_position",
    "members",
    "document_sentences",
    "family_prior",
)


def family_of(tech_id: str) -> str:
    """The parent technique ID of a (sub-)technique ID."""
    return tech_id.split(".")[0]


@dataclass(frozen=True, slots=True)
class Support:
    """One sentence's support for one member of a family."""

    row: int
    label: str
    margin: float
    top: float
    none: float
    rank: int
    phrase: bool


@dataclass
class Family:
    """The evidence a document holds for one technique family."""

    family: str
    support: list[Support] = field(default_factory=list)

    def best(self) -> Support:
        """The most confident supporting sentence."""
        return max(self.support, key=lambda s: (s.margin, -s.row))


def collect(
    margins: np.ndarray,
    classes: Sequence[str],
    phrases: Sequence[Sequence[str]],
) -> dict[str, Family]:
    """Group each sentence's top technique labels (and phrase-named techniques) by family."""
    families: dict[str, Family] = {}
    if margins.shape[0] == 0:
        return families
    classes = list(classes)
    index = {c: j for j, c in enumerate(classes)}
    none = index.get(NONE, -1)
    masked = margins.copy()
    if none >= 0:
        masked[:, none] = -np.inf
    k = min(TOP_LABELS, masked.shape[1] - (1 if none >= 0 else 0))
    tops = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    for row in range(margins.shape[0]):
        top = float(masked[row, tops[row, 0]])
        none_margin = float(margins[row, none]) if none >= 0 else PAD_MARGIN
        chosen: dict[str, tuple[int, bool]] = {}
        for rank, j in enumerate(tops[row]):
            if margins[row, j] >= MIN_MARGIN:
                chosen[classes[j]] = (rank, False)
        for tech in phrases[row]:
            # a phrase names a family; keep the model's more specific choice within it when it has one
            specific = [t for t in chosen if family_of(t) == family_of(tech)]
            for label in specific or ([tech] if tech in index else []):
                chosen[label] = (chosen.get(label, (TOP_LABELS, True))[0], True)
        for label, (rank, phrase) in chosen.items():
            fam = families.setdefault(family_of(label), Family(family_of(label)))
            fam.support.append(
                Support(row, label, float(margins[row, index[label]]), top, none_margin, rank, phrase)
            )
    return families


def family_features(
    fam: Family, behaviour: np.ndarray, section: np.ndarray, n_sentences: int, prior: float = 0.0
) -> np.ndarray:
    """The fixed-length summary of one family's evidence (order of ``FEATURES``)."""
    by_row: dict[int, Support] = {}
    for s in fam.support:
        if s.row not in by_row or s.margin > by_row[s.row].margin:
            by_row[s.row] = s
    rows = sorted(by_row.values(), key=lambda s: (-s.margin, s.row))
    best = rows[0]
    second = rows[1].margin if len(rows) > 1 else PAD_MARGIN
    top1 = [s for s in rows if s.rank == 0 and s.margin > s.none]
    n = max(n_sentences, 1)
    return np.array(
        [
            best.margin,
            second,
            max(s.margin - s.none for s in rows),
            best.top - best.margin,
            math.log1p(len(top1)),
            math.log1p(len(rows)),
            len(rows) / n,
            behaviour[best.row],
            section[best.row],
            max((behaviour[s.row] for s in top1), default=0.0),
            best.margin * behaviour[best.row],
            math.log1p(sum(s.phrase for s in rows)),
            float(any(s.phrase and s.rank < TOP_LABELS for s in rows)),
            best.row / n,
            math.log1p(len({s.label for s in fam.support})),
            math.log1p(n_sentences),
            prior,
        ],
        dtype=np.float64,
    )


def section_means(values: np.ndarray, sections: Sequence[int]) -> np.ndarray:
    """Each sentence's section average of ``values`` (a heading starts a new section)."""
    sections_arr = np.asarray(sections, dtype=np.int64)
    if values.size == 0:
        return values.astype(np.float64)
    sums = np.bincount(sections_arr, weights=values)
    counts = np.bincount(sections_arr)
    return (sums / np.maximum(counts, 1))[sections_arr]


_CLAUSE = re.compile(r";\s+|,?\s+(?:and then|then|before|after|and later|while)\s+|,\s+and\s+(?=\w+ed\b)")
MIN_CLAUSE_WORDS = 4


def clauses(text: str) -> list[str]:
    """The clauses of a sentence that describes several steps ("X; then Y, and Z"), if it has any."""
    parts = [p.strip() for p in _CLAUSE.split(text)]
    parts = [p for p in parts if len(p.split()) >= MIN_CLAUSE_WORDS]
    return parts if len(parts) > 1 else []


def sentence_margins(model: TechniqueModel, texts: Sequence[str], *, use_clauses: bool = True) -> np.ndarray:
    """Margins of each sentence; a multi-step sentence takes, per label, the best of itself and its
    clauses, so one step is not diluted by the others."""
    if not texts:
        return np.zeros((0, len(model.classes_)), dtype=np.float32)
    extra: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts if use_clauses else ()):
        for clause in clauses(text):
            extra.append(clause)
            owner.append(i)
    margins = model.decision_function(list(texts) + extra)
    whole = margins[: len(texts)]
    if extra:
        np.maximum.at(whole, np.asarray(owner), margins[len(texts) :])
    return whole


@dataclass
class DocumentEvidence:
    """Everything the decision model needs about one document's prose sentences."""

    families: dict[str, Family]
    features: dict[str, np.ndarray]
    behaviour: np.ndarray
    margins: np.ndarray


def document_evidence(
    texts: Sequence[str],
    sections: Sequence[int],
    sentence_model: TechniqueModel,
    behaviour_of: Callable[[Sequence[str]], np.ndarray] | None,
    phrases_of: Callable[[str], list[str]] | None,
    n_sentences: int | None = None,
    priors: Mapping[str, float] | None = None,
    use_clauses: bool = True,
) -> DocumentEvidence:
    """Score prose sentences and summarise the evidence of every candidate family."""
    n = len(texts)
    margins = sentence_margins(sentence_model, texts, use_clauses=use_clauses)
    behaviour = behaviour_of(texts) if (behaviour_of is not None and n) else np.ones(n)
    section = section_means(behaviour, sections) if n else np.ones(0)
    phrases = [phrases_of(t) for t in texts] if phrases_of is not None else [[] for _ in texts]
    families = collect(margins, [str(c) for c in sentence_model.classes_], phrases)
    total = n if n_sentences is None else n_sentences
    priors = priors or {}
    features = {
        f: family_features(fam, behaviour, section, total, priors.get(f, 0.0)) for f, fam in families.items()
    }
    return DocumentEvidence(families, features, behaviour, margins)


class DecisionModel:
    """Logistic regression over ``FEATURES``: P(document describes the family | its evidence)."""

    def __init__(self, C: float = 1.0, priors: Mapping[str, float] | None = None) -> None:
        self.C = C
        self.priors = dict(priors or {})

    def fit(self, X: np.ndarray, y: np.ndarray) -> DecisionModel:
        """Fit on standardised features (deterministic solver)."""
        from sklearn.linear_model import LogisticRegression

        if X.ndim != 2 or X.shape[1] != len(FEATURES) or len(set(y.tolist())) < 2:
            raise ModelError("decision model needs feature rows of both classes")
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        lr = LogisticRegression(C=self.C, max_iter=2000)
        lr.fit((X - self.mean_) / self.scale_, y)
        self.coef_ = lr.coef_[0].astype(np.float64)
        self.intercept_ = float(lr.intercept_[0])
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability of each row (one per family)."""
        if X.shape[0] == 0:
            return np.zeros(0)
        z = ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The fitted weights as arrays plus metadata."""
        families = sorted(self.priors)
        arrays = {
            "mean": self.mean_,
            "scale": self.scale_,
            "coef": self.coef_,
            "priors": np.array([self.priors[f] for f in families], dtype=np.float64),
        }
        meta = {"features": list(FEATURES), "intercept": self.intercept_, "C": self.C, "families": families}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> DecisionModel:
        """Rebuild from ``to_arrays`` output; a different feature list raises ModelError."""
        if list(meta.get("features", ())) != list(FEATURES):
            raise ModelError("decision model was fitted on other features; retrain it")
        try:
            families = [str(f) for f in meta.get("families", [])]
            values = np.asarray(arrays["priors"], dtype=np.float64)
            if values.shape != (len(families),) or not np.all(np.isfinite(values)):
                raise ValueError("priors do not match their families")
            model = cls(C=float(meta.get("C", 1.0)), priors=dict(zip(families, values.tolist(), strict=True)))
            model.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
            model.scale_ = np.asarray(arrays["scale"], dtype=np.float64)
            model.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
            model.intercept_ = float(meta["intercept"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"inconsistent decision model data ({exc})") from exc
        shape = (len(FEATURES),)
        if not (model.mean_.shape == model.scale_.shape == model.coef_.shape == shape):
            raise ModelError("decision model arrays have the wrong shape")
        if not np.all(np.isfinite(model.coef_)) or np.any(model.scale_ == 0):
            raise ModelError("decision model arrays hold invalid values")
        return model

    def weights(self) -> dict[str, float]:
        """Standardised weight of each feature (for the README and the ablation)."""
        return {f: round(float(w), 3) for f, w in zip(FEATURES, self.coef_, strict=True)}
