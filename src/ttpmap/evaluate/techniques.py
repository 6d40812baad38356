"""Dataset runners for the technique mapper: zero-shot (default model) and cross-validated by document."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from ttpmap.evaluate.metrics import prf
from ttpmap.extract.techniques import DEFAULT_THRESHOLD, map_techniques
from ttpmap.kb import KnowledgeBase
from ttpmap.learn.corpus import LabelledDocument
from ttpmap.learn.mapper import TechniqueMapper
from ttpmap.models import Document

ModelFactory = Callable[[Sequence[LabelledDocument]], TechniqueMapper]
"""Returns a model trained on the default data plus the given training documents (none: zero-shot)."""

SWEEP = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def default_factory(kb: KnowledgeBase, progress: Callable[[str], None] | None = None) -> ModelFactory:
    """Zero-shot: the cached KB-trained mapper; with training documents: its sentence model retrained on
    the KB plus their sentences (role and decision models stay the KB-fitted ones)."""
    from ttpmap.learn.artifacts import load_or_train, with_corpus

    def factory(train_docs: Sequence[LabelledDocument]) -> TechniqueMapper:
        base = load_or_train(kb, progress=progress)
        return with_corpus(base, kb, train_docs, progress=progress) if train_docs else base

    return factory


def read_label_set(path: str | Path) -> set[str]:
    """Technique IDs from a JSON list (of IDs or of ``{"label": ID}`` records) or one ID per line."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        return {line.strip() for line in text.splitlines() if line.strip()}
    if isinstance(data, dict):
        data = list(data)
    return {x["label"] if isinstance(x, dict) else str(x) for x in data}


def _parent(tech_id: str) -> str:
    return tech_id.split(".")[0]


def _gold(kb: KnowledgeBase, labels: Iterable[str]) -> set[str]:
    out = set()
    for label in labels:
        resolved = kb.resolve(label)
        if resolved is not None:
            out.add(resolved)
    return out


def as_document(doc: LabelledDocument) -> Document:
    """A labelled document as the pipeline's Document (its text is already clean)."""
    from ttpmap.ingest import from_text

    return from_text(doc.text, source=doc.doc_id)


def _folds(n: int, k: int, seed: int = 0) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def _score_sets(
    gold: list[set[str]], scored: list[dict[str, float]], threshold: float, labels: set[str] | None
) -> dict:
    out = {}
    for level, norm in (("exact", lambda s: s), ("parent", lambda s: {_parent(t) for t in s})):
        g = [norm(x) for x in gold]
        p = [norm({t for t, sc in d.items() if sc >= threshold}) for d in scored]
        if labels is not None:
            allowed = norm(labels)
            g = [x & allowed for x in g]
            p = [x & allowed for x in p]
        out[level] = prf(g, p)
    return out


def evaluate_techniques(
    docs: Sequence[LabelledDocument],
    kb: KnowledgeBase,
    model_factory: ModelFactory,
    *,
    folds: int = 0,
    labels: set[str] | None = None,
    threshold: float | None = None,
    sweep: Sequence[float] = SWEEP,
    seed: int = 0,
) -> dict:
    """Per-document P/R/F1 (micro and macro, exact and parent level) of the technique mapper.

    ``folds=0`` evaluates the zero-shot model on every document; ``folds=K`` trains K models, each on
    the default data plus the other folds' documents, and evaluates it on its fold. ``labels``
    restricts gold and predictions to a label set. Scores at the ``sweep`` thresholds are included.
    """
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    docs = [d for d in docs if d.text.strip()]
    labels = None if labels is None else _gold(kb, labels)
    gold = [_gold(kb, d.techniques) for d in docs]
    scored: list[dict[str, float]] = [{} for _ in docs]
    quoted: list[dict[str, tuple[int, int]]] = [{} for _ in docs]
    parts = _folds(len(docs), folds, seed) if folds and folds > 1 else [np.arange(len(docs))]
    sentences = 0
    seconds = 0.0
    train_seconds = 0.0
    for part in parts:
        held = set(part.tolist())
        t0 = time.perf_counter()
        model = model_factory([d for i, d in enumerate(docs) if i not in held] if len(parts) > 1 else [])
        train_seconds += time.perf_counter() - t0
        for i in part:
            document = as_document(docs[i])
            t0 = time.perf_counter()
            decisions, candidates = map_techniques(document, kb, model, threshold=0.0, all_scores=True)
            seconds += time.perf_counter() - t0
            sentences += len(document.sentences)
            scored[i] = {r.id: r.score for r in decisions + candidates}
            quoted[i] = {r.id: (r.evidence[0].start, r.evidence[0].end) for r in decisions if r.evidence}
    result = {
        "documents": len(docs),
        "folds": len(parts) if len(parts) > 1 else 0,
        "labels": sorted(labels) if labels is not None else None,
        "threshold": threshold,
        **_score_sets(gold, scored, threshold, labels),
        "sweep": {str(t): _score_sets(gold, scored, t, labels)["parent"]["f1"] for t in sweep},
        "evidence_precision": evidence_precision(docs, scored, quoted, threshold, labels),
        "sentences": sentences,
        "sentences_per_second": round(sentences / seconds, 1) if seconds else None,
        "train_seconds": round(train_seconds, 2),
    }
    return result


def evidence_precision(
    docs: Sequence[LabelledDocument],
    scored: Sequence[dict[str, float]],
    quoted: Sequence[dict[str, tuple[int, int]]],
    threshold: float,
    labels: set[str] | None = None,
) -> dict | None:
    """Of the correctly reported techniques (parent level) in documents with span annotations, the
    share whose best evidence sentence overlaps a gold span of the same technique (parent level)."""
    hits = total = 0
    for doc, scores, quotes in zip(docs, scored, quoted, strict=True):
        if not doc.spans:
            continue
        spans: dict[str, list[tuple[int, int]]] = {}
        for start, end, tech in doc.spans:
            spans.setdefault(_parent(tech), []).append((start, end))
        for tech, score in scores.items():
            parent = _parent(tech)
            if score < threshold or tech not in quotes or parent not in spans:
                continue
            if labels is not None and parent not in {_parent(x) for x in labels}:
                continue
            start, end = quotes[tech]
            total += 1
            hits += any(s < end and e > start for s, e in spans[parent])
    if not total:
        return None
    return {"precision": round(hits / total, 4), "quotes": total}


def format_table(result: dict, title: str = "technique mapping") -> str:
    """A plain-text table of a result from ``evaluate_techniques``."""
    mode = f"{result['folds']}-fold CV" if result["folds"] else "zero-shot"
    labels = f", {len(result['labels'])} labels" if result.get("labels") else ""
    lines = [
        f"{title}: {result['documents']} documents, {mode}{labels}, threshold {result['threshold']}",
        f"{'level':<8} {'P':>6} {'R':>6} {'F1':>6} {'macroP':>7} {'macroR':>7} {'macroF1':>7} "
        f"{'tp':>5} {'fp':>5} {'fn':>5}",
    ]
    for level in ("exact", "parent"):
        m = result[level]
        lines.append(
            f"{level:<8} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} "
            f"{m['macro_precision']:>7.3f} {m['macro_recall']:>7.3f} {m['macro_f1']:>7.3f} "
            f"{m['tp']:>5} {m['fp']:>5} {m['fn']:>5}"
        )
    sweep = "  ".join(f"{t}:{f:.3f}" for t, f in result.get("sweep", {}).items())
    if sweep:
        lines.append(f"parent F1 by threshold: {sweep}")
    if result.get("evidence_precision"):
        ep = result["evidence_precision"]
        lines.append(f"evidence precision {ep['precision']:.3f} over {ep['quotes']} correct techniques")
    if result.get("sentences_per_second"):
        lines.append(f"{result['sentences']:,} sentences, {result['sentences_per_second']:,.0f} sentences/s")
    return "\n".join(lines)
