"""Attribution evaluation: leave-one-campaign-out, masked report cases, calibration reliability."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from evaluation_data import DATA, V18_1
from ttpmap.attribute.calibrate import (
    cross_validated,
    fit_calibrator,
    loco_cases,
    reliability,
    score_cases,
    synthetic_cases,
)
from ttpmap.attribute.profiles import build_profiles
from ttpmap.evaluate.attribution import (
    DISTINCTIVE_SOFTWARE_GROUPS,
    ReportCase,
    actor_names,
    declines_attribution,
    default_report_cases,
    evaluate_loco,
    evaluate_reports,
    mask_text,
    ranking_metrics,
    subject_groups,
)
from ttpmap.kb import load_kb
from ttpmap.models import Document, Entities, EntityRef, Findings, TechniqueResult

V18 = V18_1


def test_ranking_metrics():
    m = ranking_metrics([1, 2, 4, 10])
    assert m == {"n": 4, "top1": 0.25, "top3": 0.5, "top5": 0.75, "mrr": round((1 + 0.5 + 0.25 + 0.1) / 4, 4)}


def test_reliability_and_ece():
    pairs = [(0.95, True), (0.95, True), (0.15, False), (0.15, True)]
    r = reliability(pairs)
    assert r["n"] == 4
    assert r["ece"] == pytest.approx(0.5 * 0.05 + 0.5 * 0.35)
    assert sum(b["n"] for b in r["bins"]) == 4


def test_loco_on_embedded_v15(kb):
    result = evaluate_loco(kb)
    assert result["attack_version"] == "15.0"
    assert result["n"] == 12  # attributed campaigns with recorded behaviour
    assert result["top5"] >= 0.8 and result["mrr"] >= 0.6
    assert result["top1"] <= result["top3"] <= result["top5"]
    assert {c["campaign"] for c in result["cases"]} >= {"C0024", "C0022"}
    assert 0.0 <= result["reliability"]["ece"] <= 1.0


def test_loco_queries_never_see_their_own_campaign(kb):
    for case in loco_cases(kb, with_text=True):
        assert case.id in case.profiles.excluded_campaigns
        assert case.query.text_terms
        for gid in case.gold:
            assert case.id not in case.profiles[gid].campaigns
            # the campaign's own words are gone from the group's text too
            only_campaign = set(case.query.text_terms) - set(case.profiles[gid].text_terms)
            assert only_campaign


def test_text_similarity_helps_on_kb_loco(kb):
    plain = evaluate_loco(kb)
    text = evaluate_loco(kb, with_context=True, with_text=True)
    assert text["query"] == "techniques+software+cves+victimology+text"
    assert text["mrr"] >= plain["mrr"]
    assert text["top1"] >= 0.9


def test_calibration_cross_validates_on_kb_cases(kb):
    scored = score_cases(loco_cases(kb, with_context=True) + synthetic_cases(kb, n=80, seed=1))
    pairs, fitted = cross_validated(scored, folds=4)
    assert len(pairs) == len(scored) and len(fitted) == 4
    assert reliability(pairs)["ece"] < 0.25
    cal = fit_calibrator(scored)
    assert cal.temperature > 0 and cal.margin_slope >= 0


def test_masking_is_case_insensitive_and_whole_word():
    text = "APT29 (aka Cozy Bear, cozy bear) deployed SUNBURST; the apt290 string stays."
    masked = mask_text(text, ["APT29", "Cozy Bear", "Sunburst"])
    assert "APT29 " not in masked and "ozy" not in masked and "SUNBURST" not in masked
    assert "apt290" in masked


def test_report_runner_masks_before_calling_findings_fn(kb):
    text = "Cozy Bear operators deployed SUNBURST through a trojanised update and stole SAML tokens."
    case = ReportCase("toy", "test", text, frozenset({"G0016"}), frozenset({"T1195.002", "T1606.002"}))
    seen = []

    def findings_fn(masked: str) -> Findings:
        seen.append(masked)
        doc = Document(masked, "toy", "toy", hashlib.sha256(masked.encode()).hexdigest(), "text/plain", ())
        techs = [
            TechniqueResult(id=t, name=kb.techniques[t].name, score=1.0) for t in sorted(case.techniques)
        ]
        return Findings(document=doc, techniques=techs, entities=Entities())

    result = evaluate_reports([case], findings_fn, kb)
    assert "Cozy Bear" not in seen[0] and "SUNBURST" not in seen[0]
    assert result["n"] == 1 and result["cases"][0]["rank"] >= 1
    names_only = evaluate_reports([case], findings_fn, kb, mask_software="none")
    assert names_only["masked"] == "actor names and aliases"
    assert "SUNBURST" in seen[-1] and "Cozy Bear" not in seen[-1]
    with pytest.raises(ValueError):
        evaluate_reports([case], findings_fn, kb, mask_software="some")


def test_distinctive_rule_masks_own_malware_but_not_widely_used_tools(kb):
    ps = build_profiles(kb)
    apt29 = ps["G0016"]
    assert {"S0002", "S0559"} <= set(apt29.software)  # Mimikatz (many groups), SUNBURST (APT29 only)
    assert ps.software_groups["S0002"] > DISTINCTIVE_SOFTWARE_GROUPS >= ps.software_groups["S0559"]
    text = "Cozy Bear dropped SUNBURST, then ran Mimikatz."
    distinctive = mask_text(text, actor_names(kb, ["G0016"]))
    assert "SUNBURST" not in distinctive and "Cozy Bear" not in distinctive
    assert "Mimikatz" in distinctive
    strict = mask_text(text, actor_names(kb, ["G0016"], software="all"))
    assert "Mimikatz" not in strict
    assert "SUNBURST" in mask_text(text, actor_names(kb, ["G0016"], software="none"))


def test_subject_groups_keeps_the_subject_not_passing_mentions():
    assert subject_groups(Counter({"G0007": 13, "G0010": 1})) == {"G0007"}
    assert subject_groups(Counter({"G0129": 3, "G0006": 1})) == {"G0129"}
    assert subject_groups(Counter({"G0044": 1})) == frozenset()  # named once in passing
    assert subject_groups(Counter({"G0032": 1, "G0034": 1})) == frozenset()
    # a survey of many actors has no subject
    assert (
        subject_groups(Counter({"G0096": 7, "G0065": 3, "G0046": 2, "G0016": 2, "G0045": 1})) == frozenset()
    )
    assert subject_groups(Counter({"G0032": 2, "G0007": 2})) == {"G0032", "G0007"}


def test_reports_that_decline_attribution_are_recognised():
    assert declines_attribution("We are not conclusively attributing this attack to any particular group.")
    assert declines_attribution("The activity remains unattributed.")
    assert not declines_attribution("Proofpoint attributes this campaign to TA456.")


def test_named_software_still_counts_when_not_masked(kb):
    text = "The operators deployed SUNBURST."
    case = ReportCase("toy", "test", text, frozenset({"G0016"}), frozenset({"T1195.002"}))

    def findings_fn(masked: str) -> Findings:
        doc = Document(masked, "toy", "toy", "0" * 64, "text/plain", ())
        ents = Entities(
            software=[EntityRef(id="S0559", name="SUNBURST", mention="SUNBURST")]
            if "SUNBURST" in masked
            else []
        )
        return Findings(document=doc, techniques=[], entities=ents)

    assert evaluate_reports([case], findings_fn, kb, mask_software="none")["cases"][0]["rank"] == 1
    assert evaluate_reports([case], findings_fn, kb)["cases"][0]["software"] == 0  # masked: distinctive


@pytest.fixture(scope="module")
def kb18():
    if not V18.is_file():
        pytest.skip("ATT&CK v18.1 bundle not available")
    return load_kb(str(V18))


@pytest.mark.slow
def test_loco_on_v18(kb18):
    result = evaluate_loco(kb18)
    assert result["n"] == 24
    assert result["top1"] >= 0.6
    assert result["top5"] >= 0.8
    assert evaluate_loco(kb18, with_context=True, with_text=True)["top1"] >= 0.75


@pytest.mark.slow
def test_report_cases_from_shared_data(kb):
    if not DATA.is_dir():
        pytest.skip("shared evaluation data not available")
    cases = default_report_cases(DATA, kb)
    assert {c.source for c in cases} == {"tram", "annoctr", "attack-flow"}
    by_id = {c.id: c for c in cases}
    # passing mentions are not labels: only the subject of the report is gold
    assert by_id["annoctr:quoteintelligence_2020-09-22_apt28-zebrocy-malware-campaign-nato"].gold == {"G0007"}
    assert not any("supply-chain-attacks-cybersecurity" in c.id for c in cases)
    result = evaluate_reports(cases, None, kb)
    assert result["n"] == len(cases)
    assert result["findings"].startswith("gold technique labels")
    assert result["mask_rule"] == "distinctive"
    names_only = evaluate_reports(cases, None, kb, mask_software="none")
    strict = evaluate_reports(cases, None, kb, mask_software="all")
    assert strict["mrr"] <= result["mrr"] <= names_only["mrr"]


def _fake_case(gold: str, rows: dict[str, dict[str, float]]):
    from types import SimpleNamespace

    from ttpmap.attribute.rank import DEFAULT_WEIGHTS, ScoredGroup, weighted_score

    ranking = [ScoredGroup(g, weighted_score(c, DEFAULT_WEIGHTS), c) for g, c in rows.items()]
    ranking.sort(key=lambda s: (-s.score, s.id))
    return SimpleNamespace(case=SimpleNamespace(gold=frozenset({gold})), ranking=ranking)


def _components(**kw: float) -> dict[str, float]:
    from dataclasses import asdict

    from ttpmap.attribute.rank import DEFAULT_WEIGHTS

    base = dict.fromkeys(asdict(DEFAULT_WEIGHTS), 0.0)
    base.update(kw)
    return base


def test_fit_weights_learns_which_evidence_ranks_the_gold_group_first():
    from ttpmap.attribute.calibrate import fit_weights
    from ttpmap.attribute.rank import DEFAULT_WEIGHTS

    # the gold group always has more shared CVEs, a decoy always more shared techniques
    cases = [
        _fake_case(
            "G1", {"G1": _components(cves=0.5, techniques=1.0), "G2": _components(techniques=1.6 + i / 10)}
        )
        for i in range(5)
    ]
    assert all(c.ranking[0].id == "G2" for c in cases)  # default weights get them wrong
    fitted = fit_weights(cases)
    assert fitted.cves > DEFAULT_WEIGHTS.cves or fitted.techniques < DEFAULT_WEIGHTS.techniques
    from ttpmap.evaluate.attribution import reweight

    assert all(c.ranking[0].id == "G1" for c in reweight(cases, fitted))


def test_cross_validated_ranking_reports_out_of_sample_and_in_sample():
    from ttpmap.evaluate.attribution import cross_validated_ranking

    cases = [
        _fake_case(
            "G1", {"G1": _components(cves=0.5, techniques=1.0), "G2": _components(techniques=1.6 + i / 40)}
        )
        for i in range(10)
    ]
    r = cross_validated_ranking(cases, folds=5)
    assert r["cross_validated"]["n"] == 10 and r["in_sample"]["n"] == 10
    assert r["in_sample"]["top1"] == 1.0
    assert 0.0 <= r["cross_validated"]["reliability"]["ece"] <= 1.0
    assert len(r["weights_per_fold"]) == 5


def test_reliability_svg_is_well_formed():
    import xml.etree.ElementTree as ET

    from ttpmap.evaluate.attribution import reliability_svg

    rel = reliability([(0.2, False), (0.25, True), (0.8, True), (0.85, True)], bins=10)
    svg = reliability_svg({"test <curve>": rel}, "Title & more")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    assert "test &lt;curve&gt;" in svg and "ECE" in svg
    assert svg.count("<circle") == sum(1 for b in rel["bins"] if b["n"])


def test_evaluate_stated_counts_gold_other_and_none(kb):
    from ttpmap.attribute import Attributor
    from ttpmap.evaluate.attribution import ReportCase, evaluate_stated

    cases = [
        ReportCase(
            "a",
            "t",
            "The intrusion was carried out by APT29, a Russian group.",
            frozenset({"G0016"}),
            frozenset(),
        ),
        ReportCase("b", "t", "The intrusion was carried out by APT28.", frozenset({"G0016"}), frozenset()),
        ReportCase("c", "t", "An unknown actor phished staff.", frozenset({"G0016"}), frozenset()),
    ]
    r = evaluate_stated(cases, kb, Attributor.fit(kb))
    assert (r["gold"], r["other"], r["none"]) == (1, 1, 1)
