"""Technique co-occurrence ("hunt for"): suggestions are associated, never observed, and measured."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation_data import DATA
from ttpmap.hunt import Cooccurrence, attack_baskets, default_hunt

ROOT = Path(__file__).resolve().parents[1]


def test_suggests_what_accompanies_the_observed_and_not_the_observed():
    baskets = [{"T1", "T2", "T3"}, {"T1", "T2"}, {"T1", "T2", "T4"}, {"T5", "T6"}, {"T5", "T6"}, {"T3", "T6"}]
    model = Cooccurrence().fit(baskets)
    top = model.suggest(["T1"], k=3)
    assert top[0].id == "T2" and top[0].because == ("T1",)
    assert all(s.id != "T1" for s in top)
    assert "T6" not in {s.id for s in top}  # never seen with T1
    assert [s.id for s in model.suggest(["T5"], k=1)] == ["T6"]


def test_parents_of_observed_sub_techniques_are_not_suggested():
    model = Cooccurrence().fit([{"T1059", "T1059.001", "T1105"}] * 3)
    assert [s.id for s in model.suggest(["T1059.001"], k=5)] == ["T1105"]


def test_unlinked_observation_falls_back_to_common_techniques():
    model = Cooccurrence().fit([{"T1", "T2"}, {"T1", "T3"}])
    assert model.suggest(["T9"], k=1)[0].id == "T1"


def test_attack_default_is_built_from_the_kb(kb):
    baskets = attack_baskets(kb)
    assert len(baskets) > 100 and all(len(b) > 1 for b in baskets)
    model = default_hunt(kb, stored=[{"T1190", "T1505.003", "T1021.001"}])
    suggestions = model.suggest(["T1190", "T1505.003"], k=10)
    assert len(suggestions) == 10
    assert all(s.id in kb.techniques and s.id not in {"T1190", "T1505.003", "T1505"} for s in suggestions)
    assert suggestions == sorted(suggestions, key=lambda s: -s.score)


@pytest.mark.skipif(not (DATA / "tie").is_dir(), reason="TIE evaluation data not available")
def test_attack_cooccurrence_beats_attack_popularity_on_held_out_tie_reports(kb):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from hunt_recall import Popularity, recall_at_k, split_observed, tie_baskets

    tie = tie_baskets(DATA / "tie" / "tie_reports.jsonl.gz", kb)
    rng = random.Random(7)
    cases = [split_observed(b, rng) for b in tie if len(b) >= 3][:400]
    attack = attack_baskets(kb)
    ours = recall_at_k(Cooccurrence().fit(attack), cases)
    assert ours > recall_at_k(Popularity(attack), cases) + 0.03
    assert ours > 0.15


def test_cli_hunt_from_technique_ids_without_a_store():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ttpmap.cli",
            "hunt",
            "--techniques",
            "T1190,T1505.003",
            "--no-store",
            "-f",
            "json",
        ],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert data["observed"] == ["T1190", "T1505.003"] and len(data["hunt_for"]) == 10
    bad = subprocess.run(
        [sys.executable, "-m", "ttpmap.cli", "hunt", "--techniques", "T9999", "--no-store"],
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    assert bad.returncode == 2 and "T9999" in bad.stderr.decode()
