"""Train, save, cache and load technique mappers, stored as data (``.npz`` arrays + JSON), never pickled.

The default mapper is trained from the loaded ATT&CK bundle only and cached under
``cache_dir()/models/`` keyed by (bundle sha256, ``MODEL_VERSION``, the versions of the libraries that
shape the fitted arrays). Mappers trained on user corpora (``ttpmap train``) are saved under a name;
one of them can be made the default, and ``select_model`` is the one path every caller uses.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ttpmap.config import cache_dir
from ttpmap.errors import ModelError, UsageError
from ttpmap.kb import KnowledgeBase
from ttpmap.kb.load import _write_atomic
from ttpmap.learn.corpus import Example, LabelledDocument, document_examples, kb_examples, read_corpus
from ttpmap.learn.decide import DecisionModel
from ttpmap.learn.mapper import TechniqueMapper, fit_mapper, fit_sentence_model
from ttpmap.learn.model import TechniqueModel

MODEL_VERSION = "3"
"""Bump whenever training data, features or the stored layout change, so cached models are rebuilt."""

FORMAT = "ttpmap.technique-mapper/1"
SUFFIX = ".npz"
_DEFAULT_POINTER = "DEFAULT"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MAX_META_BYTES = 200_000_000

Progress = Callable[[str], None] | None


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour shapes the fitted arrays."""
    import scipy
    import sklearn

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__}


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


def corpus_examples(
    kb: KnowledgeBase, docs: Iterable[LabelledDocument] = (), sentences: Iterable[Example] = ()
) -> list[Example]:
    """Labelled corpora as training sentences, labels resolved against the KB (unknown ones dropped)."""
    out = []
    for ex in list(sentences) + document_examples(docs, _sentence_spans):
        label = ex.label if ex.label == "none" else kb.resolve(ex.label)
        if label is not None and (label == "none" or label in kb.techniques):
            out.append(Example(ex.text, label, ex.weight, ex.source))
    return out


def training_examples(
    kb: KnowledgeBase, docs: Iterable[LabelledDocument] = (), sentences: Iterable[Example] = ()
) -> list[Example]:
    """The KB's examples plus labelled corpora, with labels resolved against the KB."""
    return kb_examples(kb) + corpus_examples(kb, docs, sentences)


def with_corpus(
    base: TechniqueMapper,
    kb: KnowledgeBase,
    docs: Iterable[LabelledDocument],
    sentences: Iterable[Example] = (),
    progress: Progress = None,
) -> TechniqueMapper:
    """``base`` with its sentence model retrained on the KB plus labelled documents and sentences (the
    role and decision models are kept: they are fitted from ATT&CK alone)."""
    examples = training_examples(kb, docs, sentences)
    _say(progress, f"training technique model on {len(examples):,} sentences")
    return replace(base, sentences=fit_sentence_model(examples))


# ---- stored as data -----------------------------------------------------------------------------


def _to_bytes(mapper: TechniqueMapper, meta: dict[str, Any]) -> bytes:
    arrays: dict[str, np.ndarray] = {}
    parts: dict[str, Any] = {}
    named: list[tuple[str, Any]] = [("sentences", mapper.sentences), ("roles", mapper.roles)]
    named.append(("decision", mapper.decision))
    for name, part in named:
        if part is None:
            continue
        part_arrays, part_meta = part.to_arrays()
        arrays.update({f"{name}.{k}": v for k, v in part_arrays.items()})
        parts[name] = part_meta
    doc: dict[str, Any] = {"format": FORMAT, "meta": meta, "libraries": library_versions(), "parts": parts}
    doc["use_phrases"], doc["use_clauses"] = mapper.use_phrases, mapper.use_clauses
    arrays["meta.json"] = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # (numeric arrays only: no objects)
    return buffer.getvalue()


def _from_file(path: Path) -> tuple[TechniqueMapper, dict[str, Any]]:
    """Read a stored mapper; anything but a well-formed file of ours raises ModelError."""
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError(f"not a {FORMAT} file (.npz arrays)")
        # allow_pickle=False: object arrays (the only way a .npz can carry code) are refused.
        with np.load(path, allow_pickle=False) as npz:
            names = set(npz.files)
            raw = npz["meta.json"]
            if raw.dtype != np.uint8 or raw.size > _MAX_META_BYTES:
                raise ValueError("metadata is not JSON bytes")
            doc = json.loads(raw.tobytes().decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            parts = doc.get("parts", {})

            def part_arrays(name: str) -> dict[str, np.ndarray]:
                prefix = name + "."
                return {n[len(prefix) :]: npz[n] for n in names if n.startswith(prefix)}

            sentences = TechniqueModel.from_arrays(part_arrays("sentences"), parts["sentences"])
            roles = (
                TechniqueModel.from_arrays(part_arrays("roles"), parts["roles"]) if "roles" in parts else None
            )
            decision = (
                DecisionModel.from_arrays(part_arrays("decision"), parts["decision"])
                if "decision" in parts
                else None
            )
    except ModelError as exc:
        raise ModelError(f"cannot load technique model ({exc})", source=str(path)) from exc
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "pickle" in reason:  # numpy refused object arrays; never suggest loading them
            reason = "it holds object arrays, which could run code; refused"
        raise ModelError(f"cannot load technique model ({reason})", source=str(path)) from exc
    mapper = TechniqueMapper(
        sentences, roles, decision, bool(doc.get("use_phrases", True)), bool(doc.get("use_clauses", True))
    )
    return mapper, {**doc.get("meta", {}), "libraries": doc.get("libraries", {})}


def _cache_key(kb: KnowledgeBase, extra_corpora: Sequence[str | Path]) -> str:
    libs = hashlib.sha256(json.dumps(library_versions(), sort_keys=True).encode()).hexdigest()[:8]
    key = f"{kb.info.sha256[:16]}-v{MODEL_VERSION}-{libs}"
    if extra_corpora:
        h = hashlib.sha256()
        for path in sorted(str(p) for p in extra_corpora):
            h.update(hashlib.sha256(Path(path).read_bytes()).digest())
        key += f"-{h.hexdigest()[:16]}"
    return key


def _read_corpora(paths: Sequence[str | Path], fmt: str = "auto") -> tuple[list, list]:
    docs, sentences = [], []
    for path in paths:
        d, s = read_corpus(path, fmt)
        docs.extend(d)
        sentences.extend(s)
    return docs, sentences


def load_or_train(
    kb: KnowledgeBase, *, extra_corpora: Sequence[str | Path] = (), progress: Progress = None
) -> TechniqueMapper:
    """The mapper for ``kb`` (plus extra corpora), from the cache or trained now and cached."""
    path = models_dir() / f"auto-{_cache_key(kb, extra_corpora)}{SUFFIX}"
    if path.is_file():
        try:
            return _from_file(path)[0]
        except ModelError:
            _say(progress, "cached technique model is unreadable; retraining")
    docs, sentences = _read_corpora(extra_corpora)
    mapper = fit_mapper(kb, corpus_examples(kb, docs, sentences), progress)
    meta = {"kb_sha256": kb.info.sha256, "version": MODEL_VERSION, "corpora": [str(p) for p in extra_corpora]}
    _write_atomic(path, _to_bytes(mapper, meta))
    return mapper


def train(
    kb: KnowledgeBase, corpora: Sequence[str | Path], *, fmt: str = "auto", progress: Progress = None
) -> TechniqueMapper:
    """Train on the KB plus labelled corpora (TRAM2, AnnoCTR linking or ttpmap JSONL files): the
    KB-trained mapper with its sentence model retrained on both."""
    docs, sentences = _read_corpora(corpora, fmt)
    if not docs and not sentences:
        raise UsageError("the corpora hold no labelled documents or sentences")
    _say(progress, f"read {len(docs)} documents and {len(sentences)} sentences from {len(corpora)} file(s)")
    return with_corpus(load_or_train(kb, progress=progress), kb, docs, sentences, progress)


def save_model(mapper: TechniqueMapper, name: str, *, kb: KnowledgeBase | None = None) -> Path:
    """Save a mapper under ``name`` in the models directory; returns its path."""
    if not _NAME.match(name):
        raise UsageError(f"invalid model name {name!r} (letters, digits, '.', '_', '-')")
    path = models_dir() / f"{name}{SUFFIX}"
    meta = {"name": name, "version": MODEL_VERSION, "kb_sha256": kb.info.sha256 if kb else ""}
    _write_atomic(path, _to_bytes(mapper, meta))
    return path


def load_model(name_or_path: str | Path) -> TechniqueMapper:
    """Load a mapper saved by name, or from a file path."""
    path = Path(name_or_path)
    if not path.is_file():
        if not _NAME.match(str(name_or_path)):
            raise UsageError(f"no technique model file or name {str(name_or_path)!r}")
        path = models_dir() / f"{name_or_path}{SUFFIX}"
    if not path.is_file():
        raise UsageError(f"no technique model named {str(name_or_path)!r} (see {models_dir()})")
    return _from_file(path)[0]


def set_default_model(name: str | None) -> None:
    """Make a saved mapper the default (``None`` restores the KB-trained default)."""
    pointer = models_dir() / _DEFAULT_POINTER
    if name is None:
        pointer.unlink(missing_ok=True)
        return
    if not _NAME.match(name) or not (models_dir() / f"{name}{SUFFIX}").is_file():
        raise UsageError(f"no technique model named {name!r}")
    _write_atomic(pointer, name.encode())


def select_model(
    kb: KnowledgeBase, name_or_path: str | Path | None = None, *, progress: Progress = None
) -> TechniqueMapper:
    """The one model-selection path: an explicit name or file, else the user's default (``train
    --set-default``), else the KB-trained mapper (cached)."""
    if name_or_path:
        return load_model(name_or_path)
    pointer = models_dir() / _DEFAULT_POINTER
    if pointer.is_file():
        name = pointer.read_text(encoding="utf-8").strip()
        if name:
            return load_model(name)
    return load_or_train(kb, progress=progress)


def default_model(kb: KnowledgeBase, *, progress: Progress = None) -> TechniqueMapper:
    """The user's chosen default mapper if set, else the KB-trained one (cached)."""
    return select_model(kb, None, progress=progress)
