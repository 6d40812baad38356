"""Training data, the technique model, its cache and the corpus readers."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ttpmap.errors import ModelError, UsageError
from ttpmap.learn import artifacts
from ttpmap.learn.corpus import (
    NONE,
    detect_format,
    document_examples,
    kb_examples,
    masked_text,
    read_annoctr,
    read_corpus,
    read_jsonl,
    read_tram,
)
from ttpmap.learn.decide import FEATURES, DecisionModel, clauses, collect, family_features
from ttpmap.learn.mapper import TechniqueMapper, synthetic_documents
from ttpmap.learn.model import TechniqueModel

TINY = [
    ("the actor sent spearphishing emails with a malicious attachment", "T1566.001"),
    ("a phishing email carried a weaponized document attachment", "T1566.001"),
    ("victims received email attachments with macros", "T1566.001"),
    ("a PowerShell command downloaded the payload", "T1059.001"),
    ("the loader ran an encoded PowerShell script", "T1059.001"),
    ("PowerShell was used to execute commands", "T1059.001"),
    ("the group is believed to operate from a state", NONE),
    ("organizations should apply patches promptly", NONE),
    ("the report was published last year by researchers", NONE),
]


def tiny_model(**params) -> TechniqueModel:
    texts, labels = zip(*TINY, strict=True)
    return TechniqueModel(min_df=1, **params).fit(texts, labels)


def test_masked_text_removes_spans():
    text = "APT29 used PowerShell to run Cobalt Strike."
    assert masked_text(text, [(0, 5), (29, 42)]) == "used PowerShell to run ."


def test_kb_examples_mask_actor_names(kb):
    examples = kb_examples(kb)
    procedures = [e for e in examples if e.source == "procedure"]
    assert len(procedures) > 5000
    names = {g.name for g in kb.groups.values() if len(g.name) > 6}
    leaked = [e.text for e in procedures[:3000] if any(n in e.text for n in names)]
    assert len(leaked) < 0.01 * 3000  # masking leaves at most stray names the bundle did not link
    labels = {e.label for e in examples}
    assert NONE in labels and "T1059.001" in labels


def tiny_mapper() -> TechniqueMapper:
    return TechniqueMapper(tiny_model())


def test_model_fit_predict_is_deterministic_and_stored_as_arrays():
    model = tiny_model()
    assert list(model.predict(["an email with a malicious attachment"])) == ["T1566.001"]
    assert list(model.predict(["encoded PowerShell commands"])) == ["T1059.001"]
    proba = model.predict_proba(["PowerShell script", "the actor's attachment"])
    assert proba.shape == (2, 3) and np.allclose(proba.sum(axis=1), 1.0)
    arrays, meta = model.to_arrays()
    assert all(a.dtype != object for a in arrays.values())
    json.dumps(meta)  # metadata is plain JSON
    again = TechniqueModel.from_arrays(arrays, meta)
    texts = ["PowerShell", "a malicious attachment"]
    assert np.allclose(again.decision_function(texts), tiny_model().decision_function(texts), atol=1e-6)
    assert "coef_" not in TechniqueModel().__dict__  # no work in __init__


def test_model_rejects_one_class():
    with pytest.raises(ModelError):
        TechniqueModel().fit(["a b c", "d e f"], ["T1", "T1"])


def test_inconsistent_arrays_are_refused():
    arrays, meta = tiny_model().to_arrays()
    with pytest.raises(ModelError):
        TechniqueModel.from_arrays({**arrays, "idf": arrays["idf"][:-1]}, meta)
    with pytest.raises(ModelError):
        TechniqueModel.from_arrays({**arrays, "coef_indices": arrays["coef_indices"] + 10_000}, meta)
    with pytest.raises(ModelError):
        TechniqueModel.from_arrays(arrays, {**meta, "classes": ["only-one"]})


def _tiny_fit(kb, extra=(), progress=None):
    if progress:
        progress("training tiny model")
    return tiny_mapper()


def test_cache_round_trip_and_corrupt_file_retrains(kb, tmp_path, monkeypatch):
    monkeypatch.setenv("TTPMAP_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(artifacts, "fit_mapper", _tiny_fit)
    first = artifacts.load_or_train(kb, progress=calls.append)
    (cached,) = (tmp_path / "models").glob("auto-*.npz")
    versions = artifacts.library_versions()
    assert calls and {"scikit-learn", "numpy", "scipy"} <= set(versions)
    calls.clear()
    second = artifacts.load_or_train(kb, progress=calls.append)
    assert not calls  # served from the cache
    assert list(second.classes_) == list(first.classes_)
    cached.write_bytes(b"not a model")
    third = artifacts.load_or_train(kb, progress=calls.append)
    assert any("retrain" in c for c in calls)
    assert list(third.sentences.predict(["PowerShell script"])) == ["T1059.001"]
    assert artifacts.load_model(cached) is not None  # rewritten atomically, readable again


def test_cache_key_follows_library_versions(kb, tmp_path, monkeypatch):
    monkeypatch.setenv("TTPMAP_CACHE", str(tmp_path))
    monkeypatch.setattr(artifacts, "fit_mapper", _tiny_fit)
    artifacts.load_or_train(kb)
    real = artifacts.library_versions()
    monkeypatch.setattr(artifacts, "library_versions", lambda: {**real, "scikit-learn": "99.0"})
    artifacts.load_or_train(kb)
    assert len(list((tmp_path / "models").glob("auto-*.npz"))) == 2  # an upgrade retrains


class _Payload:
    """Pickling this object makes unpickling create a file: proof of code execution if it appears."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_tampered_model_files_are_refused_without_running_code(tmp_path, monkeypatch):
    monkeypatch.setenv("TTPMAP_CACHE", str(tmp_path))
    marker = tmp_path / "pwned"
    models = artifacts.models_dir()
    (models / "evil.npz").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ModelError, match="cannot load technique model"):
        artifacts.load_model("evil")
    # an .npz that smuggles a pickled object array
    np.savez(models / "objects.npz", **{"meta.json": np.array([_Payload(marker)], dtype=object)})
    with pytest.raises(ModelError, match="object arrays"):
        artifacts.load_model("objects")
    assert not marker.exists()
    # a real file whose metadata was edited to another format
    path = artifacts.save_model(tiny_mapper(), "edited")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    doc = json.loads(arrays["meta.json"].tobytes())
    doc["format"] = "something-else/9"
    arrays["meta.json"] = np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ModelError, match="not a ttpmap"):
        artifacts.load_model("edited")


def test_no_pickle_in_the_model_code():
    # Fitted models are data; (the KB index cache in kb/load.py is another issue's to convert).
    src = Path(artifacts.__file__).resolve().parents[1]
    files = [*(src / "learn").rglob("*.py"), *(src / "extract").rglob("*.py"), *(src / "cli").rglob("*.py")]
    assert files and [p for p in files if "import pickle" in p.read_text(encoding="utf-8")] == []


def test_save_load_and_default(kb, tmp_path, monkeypatch):
    monkeypatch.setenv("TTPMAP_CACHE", str(tmp_path))
    model = tiny_mapper()
    path = artifacts.save_model(model, "mine", kb=kb)
    assert path.is_file() and path.suffix == ".npz"
    assert list(artifacts.load_model("mine").classes_) == list(model.classes_)
    with pytest.raises(UsageError):
        artifacts.save_model(model, "../escape")
    with pytest.raises(UsageError):
        artifacts.load_model("missing")
    artifacts.set_default_model("mine")
    assert list(artifacts.default_model(kb).classes_) == list(model.classes_)
    assert list(artifacts.select_model(kb).classes_) == list(model.classes_)
    artifacts.set_default_model(None)
    assert not (tmp_path / "models" / "DEFAULT").exists()


@pytest.mark.slow
def test_train_set_default_changes_what_analyze_uses(kb, session_cache, tmp_path):
    # The CLI end to end, in a cache of its own (a copy of the session's, with the default mapper).
    from ttpmap.pipeline import default_model

    default_model(kb)
    cache = tmp_path / "cache"
    shutil.copytree(session_cache, cache)
    env = {**os.environ, "TTPMAP_CACHE": str(cache), "COLUMNS": "160", "NO_COLOR": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ttpmap.cli", *args], capture_output=True, env=env, timeout=600
        )

    report = tmp_path / "report.txt"
    report.write_text("The operators relied on the quorlix implant to run their zanthic loader.\n")
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"text": f"Step {i}: the actor used quorlix to run zanthic.", "label": "T1218.011"} for i in range(30)
    ]
    rows += [{"text": "The weather was fine on that day.", "label": "none"}] * 5
    corpus.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    def found() -> set[str]:
        proc = cli("analyze", str(report), "-f", "json")
        assert proc.returncode == 0, proc.stderr.decode()
        return {t["id"] for t in json.loads(proc.stdout)["techniques"]}

    assert "T1218.011" not in found()
    proc = cli("train", "--corpus", str(corpus), "--name", "quorlix", "--set-default")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "T1218.011" in found()  # analyze now uses the user's default mapper


def _write_gz(path, records):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec) + "\n")


def test_read_tram(tmp_path):
    text = "The actor used PowerShell. Then it slept."
    path = tmp_path / "tram.jsonl.gz"
    _write_gz(
        path,
        [
            {
                "doc_id": "r1 ",
                "text": text,
                "annotations": [{"start": 15, "end": 25, "technique_id": "T1059.001"}],
            }
        ],
    )
    (doc,) = read_tram(path)
    assert doc.doc_id == "r1" and doc.techniques == {"T1059.001"} and doc.spans == ((15, 25, "T1059.001"),)
    assert detect_format(path) == "tram"
    split = [("The actor used PowerShell.", 0, 26), ("Then it slept.", 27, 41)]
    ex = document_examples([doc], lambda _t: split)
    assert [(e.label, e.text) for e in ex] == [("T1059.001", split[0][0]), (NONE, split[1][0])]
    assert ex[0].weight > ex[1].weight  # report positives outweigh report negatives (and KB examples)
    spans = document_examples([doc], lambda _t: split)
    assert ("T1059.001", "PowerShell") not in [(e.label, e.text) for e in spans]  # too short alone


def test_read_annoctr_locates_mentions(tmp_path):
    (tmp_path / "linking").mkdir()
    (tmp_path / "text" / "train").mkdir(parents=True)
    text = "Intro.\nThe malware achieves persistence with a scheduled task named Updater."
    (tmp_path / "text" / "train" / "d1.txt").write_text(text, encoding="utf-8")
    rec = {
        "mention": "scheduled task",
        "_context_left": "persistence with a ",
        "label_link": "https://attack.mitre.org/techniques/T1053/005",
        "document": "d1",
    }
    group = {
        "mention": "X",
        "_context_left": "",
        "label_link": "https://attack.mitre.org/groups/G0007",
        "document": "d1",
    }
    path = tmp_path / "linking" / "train.jsonl.gz"
    _write_gz(path, [rec, group])
    (doc,) = read_annoctr(path)
    assert doc.techniques == {"T1053.005"} and doc.groups == {"G0007"}
    ((start, end, tech),) = doc.spans
    assert text[start:end] == "scheduled task" and tech == "T1053.005"
    assert detect_format(path) == "annoctr"


def test_read_jsonl_and_auto(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(
        '{"text": "doc text", "techniques": ["T1566"]}\n\n{"text": "a sentence", "label": "T1059.001"}\n',
        encoding="utf-8",
    )
    docs, sentences = read_jsonl(path)
    assert docs[0].techniques == {"T1566"} and sentences[0].label == "T1059.001"
    assert read_corpus(path)[0][0].text == "doc text"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(UsageError):
        read_corpus(bad)


def test_evidence_is_pooled_by_family_and_phrases_only_add():
    classes = ["T1059", "T1059.001", "T1566.001", NONE]
    margins = np.array([[-0.2, 0.4, -2.0, -0.5], [-3.0, -3.0, -3.0, 0.5]], dtype=np.float32)
    families = collect(margins, classes, [[], ["T1566.001"]])
    assert set(families) == {"T1059", "T1566"}
    assert {s.label for s in families["T1059"].support} == {"T1059", "T1059.001"}  # pooled
    assert families["T1059"].best().label == "T1059.001"
    (phrase,) = families["T1566"].support
    assert phrase.phrase and phrase.margin == -3.0  # the phrase adds a supporting sentence, not a margin
    behaviour = np.array([0.9, 0.1])
    row = family_features(families["T1566"], behaviour, behaviour, 2)
    assert row.shape == (len(FEATURES),) and row[FEATURES.index("best_margin")] == -3.0


def test_decision_model_round_trip_and_feature_check():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, len(FEATURES)))
    y = (X[:, 0] + 0.1 * rng.normal(size=200) > 0).astype(int)
    model = DecisionModel(priors={"T1059": 2.0}).fit(X, y)
    arrays, meta = model.to_arrays()
    again = DecisionModel.from_arrays(arrays, meta)
    assert np.allclose(again.predict_proba(X), model.predict_proba(X)) and again.priors == {"T1059": 2.0}
    assert model.predict_proba(X[y == 1]).mean() > 0.8 > 0.2 > model.predict_proba(X[y == 0]).mean()
    with pytest.raises(ModelError):
        DecisionModel.from_arrays(arrays, {**meta, "features": ["something", "else"]})


def test_multi_step_sentences_are_scored_by_clause():
    parts = clauses("The actor dumped LSASS memory; then they moved laterally over RDP to the servers.")
    assert parts == ["The actor dumped LSASS memory", "then they moved laterally over RDP to the servers."]
    assert clauses("The actor used PowerShell.") == []


def test_synthetic_documents_are_deterministic_and_labelled(kb):
    first, again = synthetic_documents(kb, 0), synthetic_documents(kb, 0)
    assert len(first) > 100 and first[:20] == again[:20]
    doc = first[0]
    assert doc.families and len(doc.texts) == len(doc.sections) >= 2
    assert all("." not in fam for fam in doc.families)  # gold at parent level
