"""Training data, the technique model, its cache and the corpus readers."""

from __future__ import annotations

import gzip
import json
import pickle

import numpy as np
import pytest

from ttpmap.errors import ModelError, UsageError
from ttpmap.learn import artifacts
from ttpmap.learn.corpus import (
    NONE,
    Example,
    detect_format,
    document_examples,
    kb_examples,
    masked_text,
    read_annoctr,
    read_corpus,
    read_jsonl,
    read_tram,
)
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


def test_model_fit_predict_is_deterministic_and_picklable():
    model = tiny_model()
    assert list(model.predict(["an email with a malicious attachment"])) == ["T1566.001"]
    assert list(model.predict(["encoded PowerShell commands"])) == ["T1059.001"]
    proba = model.predict_proba(["PowerShell script", "the actor's attachment"])
    assert proba.shape == (2, 3) and np.allclose(proba.sum(axis=1), 1.0)
    again = pickle.loads(pickle.dumps(model))
    assert np.allclose(
        again.decision_function(["PowerShell"]), tiny_model().decision_function(["PowerShell"])
    )
    assert "coef_" not in TechniqueModel().__dict__  # no work in __init__


def test_model_rejects_one_class():
    with pytest.raises(ModelError):
        TechniqueModel().fit(["a b c", "d e f"], ["T1", "T1"])


def test_cache_round_trip_and_corrupt_file_retrains(kb, tmp_path, monkeypatch):
    monkeypatch.setenv("TTPMAP_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(artifacts, "kb_examples", lambda _kb: [Example(t, y) for t, y in TINY])
    first = artifacts.load_or_train(kb, progress=calls.append)
    assert calls and len(list((tmp_path / "models").glob("auto-*.pkl"))) == 1
    calls.clear()
    second = artifacts.load_or_train(kb, progress=calls.append)
    assert not calls  # served from the cache
    assert list(second.classes_) == list(first.classes_)
    cached = next((tmp_path / "models").glob("auto-*.pkl"))
    cached.write_bytes(b"not a pickle")
    third = artifacts.load_or_train(kb, progress=calls.append)
    assert any("retrain" in c for c in calls)
    assert list(third.predict(["PowerShell script"])) == ["T1059.001"]
    assert artifacts.load_model(cached) is not None  # rewritten atomically, readable again


def test_save_load_and_default(kb, tmp_path, monkeypatch):
    monkeypatch.setenv("TTPMAP_CACHE", str(tmp_path))
    model = tiny_model()
    path = artifacts.save_model(model, "mine", kb=kb)
    assert path.is_file()
    assert list(artifacts.load_model("mine").classes_) == list(model.classes_)
    with pytest.raises(UsageError):
        artifacts.save_model(model, "../escape")
    with pytest.raises(UsageError):
        artifacts.load_model("missing")
    artifacts.set_default_model("mine")
    assert list(artifacts.default_model(kb).classes_) == list(model.classes_)
    artifacts.set_default_model(None)
    assert not (tmp_path / "models" / "DEFAULT").exists()


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
