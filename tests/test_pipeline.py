"""The pipeline's own logic: merging evidence, findings from stated evidence or a saved analysis."""

from __future__ import annotations

import json

import pytest

from ttpmap.errors import SchemaError, UsageError
from ttpmap.ingest import from_text
from ttpmap.models import Evidence, TechniqueResult
from ttpmap.pipeline import (
    Options,
    analyze_document,
    findings_from_analysis,
    findings_from_evidence,
    load_findings,
    merge_techniques,
    read_analysis,
)


def _hit(tid: str, score: float, start: int, origin: str) -> TechniqueResult:
    ev = Evidence(text="x", start=start, end=start + 1, score=score)
    return TechniqueResult(id=tid, name=tid, score=score, evidence=[ev], origin=origin)


def test_merge_keeps_both_kinds_of_evidence() -> None:
    merged = merge_techniques(
        [_hit("T1059.001", 0.6, 10, "text"), _hit("T1105", 0.9, 30, "text")],
        [_hit("T1059.001", 1.0, 50, "explicit-id"), _hit("T1190", 1.0, 70, "explicit-id")],
    )
    by_id = {t.id: t for t in merged}
    assert [t.id for t in merged] == ["T1059.001", "T1190", "T1105"]
    assert by_id["T1059.001"].origin == "text+explicit-id"
    assert by_id["T1059.001"].score == 1.0
    assert {e.start for e in by_id["T1059.001"].evidence} == {10, 50}


def test_findings_from_evidence_resolves_ids_and_names(kb) -> None:
    found = findings_from_evidence(kb, ["T1086", "T1190"], ["china chopper", "S0002"], ["cve-2021-26855"])
    assert [t.id for t in found.techniques] == ["T1059.001", "T1190"]  # revoked T1086 mapped
    assert [s.id for s in found.entities.software] == ["S0020", "S0002"]
    assert [c.id for c in found.entities.cves] == ["CVE-2021-26855"]
    with pytest.raises(UsageError):
        findings_from_evidence(kb, ["T9999"])
    with pytest.raises(UsageError):
        findings_from_evidence(kb, [], ["no such tool"])


def test_saved_analysis_round_trips_to_findings(kb) -> None:
    text = "The actors exploited CVE-2021-26855 and used China Chopper. See T1505.003 for details."
    analysis = analyze_document(from_text(text, source="note.txt"), kb, None, Options(techniques=False))
    assert [t.id for t in analysis.techniques] == ["T1505.003"]
    found = findings_from_analysis(analysis)
    assert found.document.source == "note.txt"
    assert [t.id for t in found.techniques] == ["T1505.003"]
    assert [s.id for s in found.entities.software] == ["S0020"]
    assert [c.id for c in found.entities.cves] == ["CVE-2021-26855"]


def test_load_findings_reads_a_saved_analysis_or_a_report(kb, tmp_path) -> None:
    text = "The actors used China Chopper. See T1505.003 for details."
    analysis = analyze_document(from_text(text, source="note.txt"), kb, None, Options(techniques=False))
    saved = tmp_path / "note.json"
    saved.write_text(analysis.to_json(), encoding="utf-8")
    assert read_analysis(saved) == analysis

    def no_model() -> None:
        raise AssertionError("a saved analysis needs no model")

    found = load_findings(str(saved), kb, no_model)
    assert [t.id for t in found.techniques] == ["T1505.003"]
    report = tmp_path / "note.md"
    report.write_text(text, encoding="utf-8")
    assert read_analysis(report) is None
    found = load_findings(str(report), kb, lambda: None, options=Options(techniques=False))
    assert [t.id for t in found.techniques] == ["T1505.003"]
    other = tmp_path / "other.json"
    other.write_text('{"type": "bundle", "objects": []}', encoding="utf-8")
    assert read_analysis(other) is None  # a STIX bundle is a report, not a saved analysis


def test_saved_analysis_with_unknown_version_names_the_file(kb, tmp_path) -> None:
    analysis = analyze_document(from_text("See T1190.", source="x"), kb, None, Options(techniques=False))
    raw = json.loads(analysis.to_json())
    raw["schema"] = "ttpmap.analysis/2"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        load_findings(str(path), kb, lambda: None)
    assert str(path) in str(info.value) and "ttpmap.analysis/2" in str(info.value)


def test_analysis_is_built_once_with_candidates_only_when_asked(kb) -> None:
    from pathlib import Path

    from ttpmap.ingest import load
    from ttpmap.pipeline import default_model

    doc = load(str(Path(__file__).resolve().parents[1] / "examples" / "phishing-campaign.md"))
    model = default_model(kb)
    plain = analyze_document(doc, kb, model, Options())
    assert plain.candidates == []
    scored = analyze_document(doc, kb, model, Options(all_scores=True))
    assert scored.candidates, "--all-scores keeps the below-threshold candidates"
    assert {c.id for c in scored.candidates}.isdisjoint(t.id for t in scored.techniques)
    assert scored.mitigations and all(m.layer >= 1 for m in scored.mitigations)


def test_saved_analysis_is_attributed_exactly_like_a_fresh_one(kb, tmp_path) -> None:
    from pathlib import Path

    from ttpmap.attribute import Attributor
    from ttpmap.models import Analysis
    from ttpmap.pipeline import extract

    text = (Path(__file__).resolve().parents[1] / "examples" / "apt-exchange-intrusion.md").read_text()
    attributor = Attributor.fit(kb)
    options = Options(techniques=False)
    fresh = extract(from_text(text, source="apt.md"), kb, None, options, attributor)
    analysis = analyze_document(from_text(text, source="apt.md"), kb, None, options, attributor)
    saved = Analysis.model_validate_json(analysis.to_json())
    again = findings_from_analysis(saved)
    assert again.victimology == fresh.victimology and again.text_terms == fresh.text_terms
    assert saved.stated_attribution.responsible[0].id == "G0065"
    a = attributor.rank(fresh, kb, top=10, include_weak=True)
    b = attributor.rank(again, kb, top=10, include_weak=True)
    assert [(c.id, c.score) for c in a] == [(c.id, c.score) for c in b]
    assert a and "China" not in saved.victimology.countries
    # the flagship's brief and advisory lead with the report's own attribution
    from ttpmap.publish.advisory import build_context
    from ttpmap.publish.brief import build_context as brief_context

    lead = "The report attributes this activity to APT40 (Leviathan)"
    assert brief_context(saved, kb)["who_headline"].startswith(lead)
    assert lead in " ".join(build_context(saved, kb)["summary"])
