"""Train, save, cache and load technique models.

The default model is trained from the loaded ATT&CK bundle only and cached under
``cache_dir()/models/`` keyed by (bundle sha256, ``MODEL_VERSION``, extra corpora). Models trained on
user corpora (``ttpmap train``) are saved under a name; one of them can be made the default.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ttpmap.config import cache_dir
from ttpmap.errors import ModelError, UsageError
from ttpmap.kb import KnowledgeBase
from ttpmap.kb.load import _write_atomic
from ttpmap.learn.corpus import (
    Example,
    LabelledDocument,
    document_examples,
    kb_examples,
    read_corpus,
)
from ttpmap.learn.model import TechniqueModel

MODEL_VERSION = "2"
"""Bump whenever training data or features change, so cached models are rebuilt."""

_FORMAT = "ttpmap.technique-model/1"
_DEFAULT_POINTER = "DEFAULT"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

Progress = Callable[[str], None] | None


def models_dir() -> Path:
    """Where trained models live."""
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _say(progress: Progress, message: str) -> None:
    if progress is not None:
        progress(message)


def _sentence_spans(text: str) -> list[tuple[str, int, int]]:
    from ttpmap.text import split_sentences

    return [(s.text, s.start, s.end) for s in split_sentences(text)]


def training_examples(
    kb: KnowledgeBase,
    docs: Iterable[LabelledDocument] = (),
    sentences: Iterable[Example] = (),
) -> list[Example]:
    """The KB's examples plus labelled corpora, with labels resolved against the KB."""
    examples = list(kb_examples(kb))
    extra = list(sentences) + document_examples(docs, _sentence_spans)
    for ex in extra:
        label = ex.label if ex.label == "none" else kb.resolve(ex.label)
        if label is not None and (label == "none" or label in kb.techniques):
            examples.append(Example(ex.text, label, ex.weight, ex.source))
    return examples


def fit_model(examples: Sequence[Example], progress: Progress = None, **params) -> TechniqueModel:
    """Fit a TechniqueModel on examples (deterministic)."""
    _say(progress, f"training technique model on {len(examples):,} sentences")
    model = TechniqueModel(**params)
    return model.fit([e.text for e in examples], [e.label for e in examples], [e.weight for e in examples])


def _corpora_digest(paths: Sequence[str | Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        h.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return h.hexdigest()[:16]


def _dump(path: Path, model: TechniqueModel, meta: dict) -> None:
    payload = {"format": _FORMAT, "meta": meta, "model": model}
    _write_atomic(path, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))


def _load(path: Path) -> tuple[TechniqueModel, dict]:
    try:
        with path.open("rb") as fh:
            payload = pickle.load(fh)
        if payload.get("format") != _FORMAT or not isinstance(payload.get("model"), TechniqueModel):
            raise ValueError("not a ttpmap technique model")
    except Exception as exc:
        raise ModelError(f"cannot load technique model ({exc})", source=str(path)) from exc
    return payload["model"], payload.get("meta", {})


def _read_corpora(paths: Sequence[str | Path], fmt: str = "auto"):
    docs, sentences = [], []
    for path in paths:
        d, s = read_corpus(path, fmt)
        docs.extend(d)
        sentences.extend(s)
    return docs, sentences


def load_or_train(
    kb: KnowledgeBase, *, extra_corpora: Sequence[str | Path] = (), progress: Progress = None
) -> TechniqueModel:
    """The model for ``kb`` (plus extra corpora), from the cache or trained now and cached."""
    key = f"{kb.info.sha256[:16]}-v{MODEL_VERSION}"
    if extra_corpora:
        key += f"-{_corpora_digest(extra_corpora)}"
    path = models_dir() / f"auto-{key}.pkl"
    if path.is_file():
        try:
            return _load(path)[0]
        except ModelError:
            _say(progress, "cached technique model is unreadable; retraining")
    docs, sentences = _read_corpora(extra_corpora)
    model = fit_model(training_examples(kb, docs, sentences), progress)
    meta = {"kb_sha256": kb.info.sha256, "version": MODEL_VERSION, "corpora": [str(p) for p in extra_corpora]}
    _dump(path, model, meta)
    return model


def train(kb: KnowledgeBase, corpora: Sequence[str | Path], *, fmt: str = "auto", progress: Progress = None):
    """Train on the KB plus labelled corpora (TRAM2, AnnoCTR linking or ttpmap JSONL files)."""
    docs, sentences = _read_corpora(corpora, fmt)
    if not docs and not sentences:
        raise UsageError("the corpora hold no labelled documents or sentences")
    _say(progress, f"read {len(docs)} documents and {len(sentences)} sentences from {len(corpora)} file(s)")
    return fit_model(training_examples(kb, docs, sentences), progress)


def save_model(model: TechniqueModel, name: str, *, kb: KnowledgeBase | None = None) -> Path:
    """Save a model under ``name`` in the models directory; returns its path."""
    if not _NAME.match(name):
        raise UsageError(f"invalid model name {name!r} (letters, digits, '.', '_', '-')")
    path = models_dir() / f"{name}.pkl"
    _dump(path, model, {"name": name, "version": MODEL_VERSION, "kb_sha256": kb.info.sha256 if kb else ""})
    return path


def load_model(name_or_path: str | Path) -> TechniqueModel:
    """Load a model saved by name, or from a file path."""
    path = Path(name_or_path)
    if not path.is_file():
        path = models_dir() / f"{name_or_path}.pkl"
    if not path.is_file():
        raise UsageError(f"no technique model named {name_or_path!r} (see {models_dir()})")
    return _load(path)[0]


def set_default_model(name: str | None) -> None:
    """Make a saved model the default (``None`` restores the KB-trained default)."""
    pointer = models_dir() / _DEFAULT_POINTER
    if name is None:
        pointer.unlink(missing_ok=True)
        return
    if not (models_dir() / f"{name}.pkl").is_file():
        raise UsageError(f"no technique model named {name!r}")
    _write_atomic(pointer, name.encode())


def default_model(kb: KnowledgeBase, *, progress: Progress = None) -> TechniqueModel:
    """The user's chosen default model if set, else the KB-trained one (cached)."""
    pointer = models_dir() / _DEFAULT_POINTER
    if pointer.is_file():
        name = pointer.read_text().strip()
        if name:
            return load_model(name)
    return load_or_train(kb, progress=progress)
