"""Metrics on hand-made sets; dataset runs on small subsets when the shared data is present."""

from __future__ import annotations

import pytest

from evaluation_data import DATA
from ttpmap.evaluate.metrics import prf
from ttpmap.evaluate.techniques import (
    default_factory,
    evaluate_techniques,
    evidence_precision,
    format_table,
    read_label_set,
)
from ttpmap.learn.corpus import LabelledDocument, read_annoctr, read_tram


def test_prf_micro_and_macro():
    gold = [{"T1", "T2"}, {"T3"}, set()]
    pred = [{"T1"}, {"T3", "T4"}, set()]
    m = prf(gold, pred)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 1)
    assert m["precision"] == pytest.approx(2 / 3, abs=1e-4) and m["recall"] == pytest.approx(2 / 3, abs=1e-4)
    # per document: (1, .5, .667) and (.5, 1, .667); the empty document is skipped
    assert m["macro_f1"] == pytest.approx(2 / 3, abs=1e-3)
    assert prf([set()], [set()])["f1"] == 0.0
    with pytest.raises(ValueError):
        prf([set()], [])


def test_evidence_precision_counts_correct_techniques_whose_quote_overlaps_a_gold_span():
    text = "The actor used PowerShell. It also created a scheduled task. Nothing else."
    doc = LabelledDocument(
        "d", text, frozenset({"T1059.001", "T1053.005"}), ((15, 25, "T1059.001"), (39, 59, "T1053.005"))
    )
    scores = {"T1059.001": 0.9, "T1053.005": 0.8, "T1090": 0.9, "T1027": 0.1}
    quotes = {"T1059.001": (0, 26), "T1053.005": (62, 75), "T1090": (0, 26), "T1027": (0, 26)}
    result = evidence_precision([doc], [scores], [quotes], 0.5)
    # T1090 is not in the gold set and T1027 is below threshold: one of two correct quotes overlaps
    assert result == {"precision": 0.5, "quotes": 2}
    assert evidence_precision([LabelledDocument("e", text, frozenset())], [scores], [quotes], 0.5) is None


def test_read_label_set(tmp_path):
    (tmp_path / "a.json").write_text('[{"label": "T1059.001"}, {"label": "T1566"}]')
    (tmp_path / "b.txt").write_text("T1059\n\nT1105\n")
    assert read_label_set(tmp_path / "a.json") == {"T1059.001", "T1566"}
    assert read_label_set(tmp_path / "b.txt") == {"T1059", "T1105"}


needs_data = pytest.mark.skipif(not (DATA / "tram").is_dir(), reason="shared evaluation data not present")


@needs_data
@pytest.mark.slow
def test_tram_subset_zero_shot(kb):
    docs = [d for d in read_tram(DATA / "tram" / "tram2_reports.jsonl.gz") if d.techniques][:10]
    result = evaluate_techniques(docs, kb, default_factory(kb))
    assert result["documents"] == 10 and result["parent"]["f1"] > 0.3
    assert 0.0 <= result["evidence_precision"]["precision"] <= 1.0
    assert "parent" in format_table(result) and "evidence precision" in format_table(result)


@needs_data
@pytest.mark.slow
def test_annoctr_subset_with_labels(kb):
    docs = read_annoctr(DATA / "annoctr" / "linking_mitre_only" / "dev.jsonl.gz")[:10]
    labels = {"T1059", "T1566", "T1105", "T1027"}
    result = evaluate_techniques(docs, kb, default_factory(kb), labels=labels)
    assert result["labels"] == sorted(labels)
    assert result["parent"]["tp"] + result["parent"]["fn"] >= 1
