"""Mitigation and detection ranking: greedy weighted set cover over ATT&CK links."""

from __future__ import annotations

from ttpmap.defend import rank_detections, rank_mitigations
from ttpmap.defend.coverage import candidate_sets, greedy_cover, technique_weights
from ttpmap.defend.detections import log_sources
from ttpmap.kb import DataComponent
from ttpmap.models import TechniqueResult


def _t(tid: str, score: float) -> TechniqueResult:
    return TechniqueResult(id=tid, name=tid, score=score)


def test_first_pick_covers_the_most_weight(kb, analysis_apt):
    weights = technique_weights(analysis_apt.techniques)
    sets = candidate_sets(weights, kb.mitigations_for)
    best = max(sum(weights[t] for t in covered) for m, covered in sets.items() if m not in ("M1055", "M1056"))
    ranked = rank_mitigations(analysis_apt.techniques, kb)
    assert sum(weights[t] for t in ranked[0].covers) == best
    assert ranked[0].score == round(best / sum(weights.values()), 4)


def test_greedy_scores_are_marginal_and_coverage_grows(kb, analysis_apt):
    ranked = rank_mitigations(analysis_apt.techniques, kb, limit=10)
    assert 0 < len(ranked) <= 10
    first_layer = [m for m in ranked if m.layer == 1]
    assert abs(sum(m.score for m in first_layer) - first_layer[-1].coverage) < 1e-3
    coverage = [m.coverage for m in first_layer]
    assert coverage == sorted(coverage)
    assert all(m.covers and set(m.covers) <= {t.id for t in analysis_apt.techniques} for m in ranked)
    assert len({m.id for m in ranked}) == len(ranked)


def test_advice_is_the_relationship_text(kb, analysis_apt):
    for m in rank_mitigations(analysis_apt.techniques, kb):
        for tid, text in m.advice.items():
            direct = {link.text for link in kb.mitigations_for(tid) if link.source_id == m.id}
            inherited = {
                link.text for link in kb.mitigations_for(tid.split(".")[0]) if link.source_id == m.id
            }
            assert text in (direct or inherited)


def test_sub_technique_inherits_parent_mitigations(kb):
    parent_only = {link.source_id for link in kb.mitigations_for("T1505")} - {
        link.source_id for link in kb.mitigations_for("T1505.003")
    }
    assert parent_only, "fixture assumption: some mitigation of T1505 is not linked to T1505.003"
    ranked = rank_mitigations([_t("T1505.003", 0.9)], kb, limit=50)
    inherited = [m for m in ranked if m.id in parent_only]
    assert inherited and all("T1505.003" in m.covers for m in inherited)


def test_parent_is_not_covered_by_sub_technique_only_mitigations(kb):
    parent = {link.source_id for link in kb.mitigations_for("T1003")}
    sub_only = {link.source_id for t in kb.subtechniques("T1003") for link in kb.mitigations_for(t)} - parent
    ranked = rank_mitigations([_t("T1003", 0.9)], kb, limit=50)
    assert not {m.id for m in ranked} & sub_only
    assert {m.id for m in ranked} <= parent


def test_pre_compromise_never_leads(kb):
    techniques = [_t("T1595.002", 0.9), _t("T1190", 0.3)]
    ranked = rank_mitigations(techniques, kb)
    ids = [m.id for m in ranked]
    assert "M1056" in ids
    assert ids[0] != "M1056"


def test_ranking_is_deterministic_and_handles_empty_input(kb, analysis_apt):
    assert rank_mitigations(analysis_apt.techniques, kb) == rank_mitigations(analysis_apt.techniques, kb)
    assert rank_mitigations([], kb) == []
    assert rank_detections([], kb) == []
    assert rank_mitigations([_t("T9999", 0.5)], kb) == []


def test_second_layer_starts_when_everything_is_covered():
    sets = {"A": {"T1": "a"}, "B": {"T1": "b", "T2": "b"}, "C": {"T2": "c"}}
    picks = greedy_cover(sets, {"T1": 1.0, "T2": 1.0}, limit=5)
    assert [p.key for p in picks] == ["B", "A", "C"]
    assert [p.layer for p in picks] == [1, 2, 2]
    assert picks[0].share == 1.0


def test_detections_name_data_sources_and_where_to_look(kb, analysis_apt):
    ranked = rank_detections(analysis_apt.techniques, kb)
    assert ranked
    for d in ranked:
        assert d.id in kb.data_components
        assert d.data_source == kb.data_components[d.id].data_source
        assert d.log_sources
        assert set(d.advice) == set(d.covers)
    assert any("4688" in source for d in ranked for source in d.log_sources)


def test_bundle_log_sources_win_over_typical_ones():
    with_logs = DataComponent(
        "DC0001", "Process Creation", "Process", log_sources=("WinEventLog:Security: 4688",)
    )
    assert log_sources(with_logs) == ["WinEventLog:Security: 4688"]
    unknown = DataComponent("DS9999:x", "Thing", "Exotic Source")
    assert log_sources(unknown) == ["Exotic Source data source"]


def test_generic_mitigations_come_from_data_and_name_only_generic_ones(kb):
    from ttpmap.defend.mitigations import GENERIC_MITIGATIONS

    assert set(GENERIC_MITIGATIONS) == {"M1055", "M1056"}  # Do Not Mitigate, Pre-compromise
    assert all(m in kb.mitigations and 0 < p < 1 for m, p in GENERIC_MITIGATIONS.items())
    # false positive: a specific, high-value mitigation must not be demoted as generic
    assert not {"M1051", "M1032", "M1026"} & set(GENERIC_MITIGATIONS)


def test_typical_logs_come_from_data_and_name_real_data_sources(kb):
    from ttpmap.defend.detections import TYPICAL_LOGS

    sources = {c.data_source for c in kb.data_components.values()}
    assert TYPICAL_LOGS and set(TYPICAL_LOGS) <= sources  # a misspelt source would never be used
    assert all(logs and all(logs) for logs in TYPICAL_LOGS.values())
    # false positive: a data source without a listed log gets none invented
    assert "Sensor Health" not in TYPICAL_LOGS
