"""Reviews feed training: export labelled sentences, train a candidate, compare it with the active model.

Reviewed reports are split by a hash of their sha256: about one in five is held back from training and
used to compare candidate and active model (sentence accuracy on the reviewed spans). The candidate is
activated only when it is not worse there, unless an admin forces it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from ttpmap.errors import UsageError
from ttpmap.kb import KnowledgeBase
from ttpmap.store import Store
from ttpmap.store.schema import DocumentRow, utcnow
from ttpmap.store.workbench import ModelVersionRow, ReviewRow

BASE_NAME = "default"
HOLD_OUT = 5  # one reviewed report in HOLD_OUT is held back for evaluation

Progress = Callable[[str], None] | None


def base_version() -> str:
    """The run-key version of the KB-trained default model."""
    from ttpmap.batch import model_version

    return model_version(None)


def ensure_base(store: Store) -> None:
    """Register the KB-trained default model as the first, active version of an empty registry."""
    with store.session() as s, s.begin():
        if s.scalar(select(ModelVersionRow.id).limit(1)) is not None:
            return
        s.add(
            ModelVersionRow(
                name=BASE_NAME,
                version=base_version(),
                status="active",
                active=True,
                metrics={},
                note="trained from the ATT&CK knowledge base only",
                created_by="",
                created_at=utcnow(),
            )
        )


def active_model(store: Store) -> tuple[str, str]:
    """(name, run-key version) of the active model."""
    ensure_base(store)
    with store.session() as s:
        row = s.scalar(select(ModelVersionRow).where(ModelVersionRow.active.is_(True)))
        if row is None:
            return BASE_NAME, base_version()
        return row.name, row.version


def load(kb: KnowledgeBase, name: str) -> Any:
    """The technique model of a registry name (the KB default, or a saved model)."""
    from ttpmap.learn.artifacts import load_model, load_or_train

    return load_or_train(kb) if name == BASE_NAME else load_model(name)


def versions(store: Store) -> list[dict[str, Any]]:
    """Every model version, newest first, as JSON."""
    ensure_base(store)
    with store.session() as s:
        rows = s.scalars(select(ModelVersionRow).order_by(ModelVersionRow.id.desc()))
        return [
            {
                "id": r.id,
                "name": r.name,
                "version": r.version,
                "status": r.status,
                "active": r.active,
                "metrics": r.metrics,
                "note": r.note,
                "created_by": r.created_by,
                "created_at": r.created_at.isoformat(),
            }
            for r in rows
        ]


def activate(store: Store, version_id: int) -> None:
    """Make one version the active model (the others are retired)."""
    with store.session() as s, s.begin():
        row = s.get(ModelVersionRow, version_id)
        if row is None:
            raise UsageError(f"no model version {version_id}")
        s.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.active.is_(True))
            .values(active=False, status="retired")
        )
        row.active, row.status = True, "active"


def labelled_sentences(store: Store) -> list[dict[str, Any]]:
    """Each reviewed technique span with its label, reviewer and time, and its report's sha256."""
    with store.session() as s:
        rows = s.execute(
            select(ReviewRow, DocumentRow.sha256)
            .join(DocumentRow, DocumentRow.id == ReviewRow.document_id)
            .where(ReviewRow.target == "technique", ReviewRow.label != "", ReviewRow.text != "")
            .order_by(ReviewRow.id)
        ).all()
    newest: dict[tuple[int, str, int | None], dict[str, Any]] = {}
    for r, sha in rows:  # the newest decision per (report, technique, span) wins
        newest[(r.document_id, r.technique_id, r.start)] = {
            "text": r.text,
            "label": r.label,
            "document": sha,
            "reviewer": r.reviewer,
            "reviewed_at": r.created_at.isoformat(),
        }
    return list(newest.values())


def held_back(sha256: str) -> bool:
    """Whether a reviewed report is kept out of training for evaluation."""
    return int(sha256[:8], 16) % HOLD_OUT == 0


def accuracy(model: Any, sentences: list[dict[str, Any]]) -> float | None:
    """Share of reviewed sentences whose predicted class is the reviewed label (None without any)."""
    if not sentences:
        return None
    predicted = model.predict([s["text"] for s in sentences])
    return round(sum(p == s["label"] for p, s in zip(predicted, sentences, strict=True)) / len(sentences), 4)


def retrain(
    store: Store, kb: KnowledgeBase, *, by: str = "", force: bool = False, progress: Progress = None
) -> dict[str, Any]:
    """Train ATT&CK + reviewed reports, evaluate against the active model, and activate if not worse."""
    from ttpmap.batch import model_version
    from ttpmap.learn.artifacts import save_model, train

    sentences = labelled_sentences(store)
    train_set = [s for s in sentences if not held_back(s["document"])]
    test_set = [s for s in sentences if held_back(s["document"])]
    if not train_set and test_set:  # every reviewed report is a held-back one: train on them, compare nothing
        train_set, test_set = test_set, []
    if not train_set:
        raise UsageError("no reviewed sentences to train on yet (review some reports first)")
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "reviews.jsonl"
        corpus.write_text(
            "".join(json.dumps({"text": s["text"], "label": s["label"]}) + "\n" for s in train_set),
            encoding="utf-8",
        )
        candidate = train(kb, [corpus], fmt="jsonl", progress=progress)
    active_name, _ = active_model(store)
    before = accuracy(load(kb, active_name), test_set)
    after = accuracy(candidate, test_set)
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
    name = f"reviewed-{stamp}"
    save_model(candidate, name, kb=kb)
    not_worse = before is None or after is None or after >= before
    metrics = {
        "trained_sentences": len(train_set),
        "held_back_sentences": len(test_set),
        "held_back_reports": len({s["document"] for s in test_set}),
        "active_accuracy": before,
        "candidate_accuracy": after,
        "compared_with": active_name,
        "evaluation": "out-of-sample: reviewed reports held back from training"
        if test_set
        else "none: no reviewed report is held back yet",
    }
    with store.session() as s, s.begin():
        row = ModelVersionRow(
            name=name,
            version=model_version(name),
            status="candidate",
            active=False,
            metrics=metrics,
            note="",
            created_by=by,
            created_at=utcnow(),
        )
        s.add(row)
        s.flush()
        version_id = row.id
    activated = not_worse or force
    if activated:
        activate(store, version_id)
    else:
        with store.session() as s, s.begin():
            s.get_one(ModelVersionRow, version_id).status = "rejected"
    note = "activated" if not_worse else ("activated by admin override" if force else "kept inactive: worse")
    with store.session() as s, s.begin():
        s.get_one(ModelVersionRow, version_id).note = note
    return {"id": version_id, "name": name, "activated": activated, "note": note, **metrics}
