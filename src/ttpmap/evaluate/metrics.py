"""Set-based precision, recall and F1 over documents: micro over (document, label) pairs, macro over
documents."""

from __future__ import annotations

from collections.abc import Sequence


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def prf(gold: Sequence[set[str]], pred: Sequence[set[str]]) -> dict[str, float]:
    """Micro and macro precision/recall/F1 of predicted label sets against gold label sets.

    Macro averages per-document scores over documents that have gold labels or predictions (a
    document with neither is skipped: there is nothing to get right or wrong).
    """
    if len(gold) != len(pred):
        raise ValueError("gold and pred must have one set per document")
    tp = fp = fn = 0
    per_doc = []
    for g, p in zip(gold, pred, strict=True):
        t = len(g & p)
        tp, fp, fn = tp + t, fp + len(p - g), fn + len(g - p)
        if g or p:
            dp = t / len(p) if p else (1.0 if not g else 0.0)
            dr = t / len(g) if g else 1.0
            per_doc.append((dp, dr, _f1(dp, dr)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    n = len(per_doc) or 1
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(_f1(precision, recall), 4),
        "macro_precision": round(sum(d[0] for d in per_doc) / n, 4),
        "macro_recall": round(sum(d[1] for d in per_doc) / n, 4),
        "macro_f1": round(sum(d[2] for d in per_doc) / n, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "documents": len(gold),
    }
