"""Reviewing a report: decisions change what is published, spans become labelled sentences, text is inert."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from workbench_helpers import DEFAULT_VERSION, seed

from ttpmap.server.training import labelled_sentences


@pytest.fixture
def report(sqlite_workbench, analysis_apt, apt_text):
    return seed(sqlite_workbench.store, analysis_apt, apt_text)


def _layer_ids(client, rid) -> set[str]:
    r = client.get(f"/api/v1/reports/{rid}/download/layer.json")
    assert r.status_code == 200
    return {t["techniqueID"] for t in r.json()["techniques"] if "score" in t}


def test_reject_change_and_add_are_reflected_in_every_download(sqlite_workbench, report, apt_text):
    analyst = sqlite_workbench.client("analyst")
    before = _layer_ids(analyst, report)
    assert {"T1190", "T1505.003"} <= before and "T1566.001" not in before
    start = apt_text.index("web shell")
    steps = [
        {"action": "reject", "technique_id": "T1190"},
        {"action": "change", "technique_id": "T1505.003", "new_technique_id": "T1059.003"},
        {"action": "add", "technique_id": "T1566.001", "start": start, "end": start + 40},
    ]
    for body in steps:
        r = analyst.post(f"/api/v1/reports/{report}/reviews", json=body)
        assert r.status_code == 201, r.text
    after = _layer_ids(analyst, report)
    assert "T1190" not in after and "T1505.003" not in after
    assert {"T1059.003", "T1566.001"} <= after
    rows = list(
        csv.DictReader(io.StringIO(analyst.get(f"/api/v1/reports/{report}/download/techniques.csv").text))
    )
    ids = {row.get("technique_id") or row.get("id") or next(iter(row.values())) for row in rows}
    assert "T1190" not in ids and "T1566.001" in ids
    stix = analyst.get(f"/api/v1/reports/{report}/download/stix.json").json()
    patterns = {
        ref["external_id"]
        for o in stix["objects"]
        if o["type"] == "attack-pattern"
        for ref in o.get("external_references", [])
        if ref.get("source_name") == "mitre-attack"
    }
    assert "T1566.001" in patterns and "T1190" not in patterns
    analysis = analyst.get(f"/api/v1/reports/{report}").json()["analysis"]
    added = next(t for t in analysis["techniques"] if t["id"] == "T1566.001")
    assert added["origin"] == "analyst" and added["evidence"][0]["text"] == apt_text[start : start + 40]
    assert analysis["review"] == {"reviews": 3, "reviewers": ["analyst"]}


def test_reviews_become_labelled_sentences_with_reviewer_and_time(sqlite_workbench, report, apt_text):
    analyst = sqlite_workbench.client("analyst")
    analyst.post(f"/api/v1/reports/{report}/reviews", json={"action": "accept", "technique_id": "T1190"})
    analyst.post(f"/api/v1/reports/{report}/reviews", json={"action": "reject", "technique_id": "T1505.003"})
    start = apt_text.index("web shell")
    analyst.post(
        f"/api/v1/reports/{report}/reviews",
        json={"action": "add", "technique_id": "T1566.001", "start": start, "end": start + 30},
    )
    sentences = labelled_sentences(sqlite_workbench.store)
    assert sorted(s["label"] for s in sentences) == ["T1190", "T1566.001", "none"]
    assert all(s["reviewer"] == "analyst" and s["reviewed_at"] and s["text"] for s in sentences)


def test_ioc_drop_removes_it_from_the_published_indicators(sqlite_workbench, report, analysis_apt):
    analyst = sqlite_workbench.client("analyst")
    value = analysis_apt.iocs[0].value
    assert value in analyst.get(f"/api/v1/reports/{report}/download/iocs.csv").text
    r = analyst.post(f"/api/v1/reports/{report}/reviews", json={"action": "drop", "ioc_value": value})
    assert r.status_code == 201
    assert value not in analyst.get(f"/api/v1/reports/{report}/download/iocs.csv").text
    misp = analyst.get(f"/api/v1/reports/{report}/download/misp.json").text
    assert value not in misp
    analyst.post(f"/api/v1/reports/{report}/reviews", json={"action": "keep", "ioc_value": value})
    assert value in analyst.get(f"/api/v1/reports/{report}/download/iocs.csv").text


@pytest.mark.parametrize(
    "body",
    [
        {"action": "reject", "technique_id": "T9999"},
        {"action": "reject", "technique_id": "T1566.002"},  # real, but not in this report
        {"action": "change", "technique_id": "T1190", "new_technique_id": "nonsense"},
        {"action": "add", "technique_id": "T1566.001", "start": 50, "end": 10},
        {"action": "add", "technique_id": "T1566.001", "start": 0, "end": 10**7},
        {"action": "drop", "ioc_value": "not-an-ioc-of-this-report"},
    ],
)
def test_bad_reviews_are_one_line_400s(sqlite_workbench, report, body):
    r = sqlite_workbench.client("analyst").post(f"/api/v1/reports/{report}/reviews", json=body)
    assert r.status_code in (400, 422), r.text
    assert r.json()["detail"] and "\n" not in r.json()["detail"]


def test_unknown_report_is_404(sqlite_workbench):
    client = sqlite_workbench.client("viewer")
    assert client.get("/api/v1/reports/999").status_code == 404
    assert client.get("/api/v1/reports/1/download/virus.exe").status_code == 404


def test_report_page_highlights_evidence_and_defangs_indicators(
    sqlite_workbench, report, analysis_apt, apt_text
):
    client, _ = sqlite_workbench.browser("viewer")
    page = client.get(f"/reports/{report}").text
    t1190 = analysis_apt.techniques[0]
    span = t1190.evidence[0]
    assert f'data-s="{span.start}"' in page and re.search(r'data-t="[^"]*T1190', page)
    ip = next(i for i in analysis_apt.iocs if i.type == "ipv4")
    assert ip.defanged in page and ip.value not in page.replace(f'data-ioc="{ip.value}"', "")
    assert "Accept" not in page  # viewers see no review buttons
    assert "layer.json" in page and "advisory.pdf" in page


def test_hostile_report_text_is_escaped_and_never_linked(sqlite_workbench, analysis_apt):
    hostile = (
        'Intro <script>alert("x")</script> and <img src=x onerror=alert(1)> then '
        '[click](javascript:alert(2)) and <a href="javascript:alert(3)">here</a> via http://evil.example/p.'
    )
    first = analysis_apt.techniques[0]
    first = first.model_copy(
        update={
            "evidence": [first.evidence[0].model_copy(update={"start": 6, "end": 40}), *first.evidence[1:]]
        }
    )
    document = analysis_apt.document.model_copy(
        update={"sha256": "f" * 64, "title": "<script>alert('title')</script>"}
    )
    evil = analysis_apt.model_copy(update={"document": document, "techniques": [first], "iocs": []})
    rid = seed(sqlite_workbench.store, evil, hostile)
    client, _ = sqlite_workbench.browser("viewer")
    for path in (f"/reports/{rid}", "/", "/?text=script"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page
        assert 'href="javascript:' not in page.lower()
        assert "&lt;script&gt;" in page
    page = client.get(f"/reports/{rid}").text
    assert "hxxp://evil" in page and "http://evil" not in page


def test_list_filters_and_full_text_search(sqlite_workbench, report, analysis_apt):
    viewer = sqlite_workbench.client("viewer")
    assert viewer.get("/api/v1/reports").json()["total"] == 1
    assert viewer.get("/api/v1/reports", params={"technique": "T1190"}).json()["total"] == 1
    assert viewer.get("/api/v1/reports", params={"technique": "T1566.002"}).json()["total"] == 0
    assert viewer.get("/api/v1/reports", params={"text": "MARITIME engineering"}).json()["total"] == 1
    assert viewer.get("/api/v1/reports", params={"text": "no such phrase 42"}).json()["total"] == 0
    assert viewer.get("/api/v1/reports", params={"text": "100%_"}).json()["total"] == 0
    assert viewer.get("/api/v1/reports", params={"reviewed": "reviewed"}).json()["total"] == 0
    sqlite_workbench.client("analyst").post(
        f"/api/v1/reports/{report}/reviews", json={"action": "accept", "technique_id": "T1190"}
    )
    rows = viewer.get("/api/v1/reports", params={"reviewed": "reviewed"}).json()["reports"]
    assert [r["id"] for r in rows] == [report] and rows[0]["status"] == "reviewed"
    assert rows[0]["top_techniques"][0] == "T1190"
    assert viewer.get("/api/v1/reports", params={"since": "yesterday"}).status_code == 400


def test_technique_picker_searches_ids_and_names(sqlite_workbench):
    viewer = sqlite_workbench.client("viewer")
    by_id = viewer.get("/api/v1/techniques", params={"q": "T1566"}).json()
    assert by_id[0]["id"] == "T1566" and any(h["id"] == "T1566.001" for h in by_id)
    by_name = viewer.get("/api/v1/techniques", params={"q": "spearphishing att"}).json()
    assert any(h["id"] == "T1566.001" for h in by_name)


def test_corpus_page_layer_and_related(sqlite_workbench, report, analysis_apt, apt_text):
    document = analysis_apt.document.model_copy(update={"sha256": "e" * 64, "title": "Second report"})
    other = analysis_apt.model_copy(update={"document": document})
    second = seed(sqlite_workbench.store, other, apt_text)
    viewer = sqlite_workbench.client("viewer")
    layer = viewer.get("/api/v1/corpus/layer").json()
    t1190 = next(t for t in layer["techniques"] if t["techniqueID"] == "T1190")
    assert t1190["score"] == 100 and "2 of 2" in t1190["comment"]
    related = viewer.get(f"/api/v1/reports/{report}/related").json()
    assert related[0]["id"] == second and related[0]["shared"]
    client, _ = sqlite_workbench.browser("viewer")
    page = client.get("/corpus").text
    assert "2 reports selected" in page and "heat-5" in page
    page = client.get("/corpus", params={"related": report}).text
    assert f'href="/reports/{second}">Second report</a>' in page
    assert client.get("/corpus", params={"related": 999}).status_code == 400


def test_models_page_and_api_show_the_active_default(sqlite_workbench):
    versions = sqlite_workbench.client("viewer").get("/api/v1/models").json()
    assert [(v["name"], v["active"]) for v in versions] == [("default", True)]
    client, _ = sqlite_workbench.browser("admin")
    page = client.get("/models").text
    assert "Retrain now" in page and DEFAULT_VERSION in page


def test_reanalyse_is_one_action_and_queues_a_job(sqlite_workbench, report):
    analyst = sqlite_workbench.client("analyst")
    job = analyst.post(f"/api/v1/reports/{report}/reanalyze").json()
    assert job["kind"] == "reanalyze" and job["document_id"] == report and job["status"] == "queued"
    all_jobs = analyst.post("/api/v1/models/reanalyze-all").json()["jobs"]
    assert len(all_jobs) == 1
    assert json.loads(analyst.get("/api/v1/jobs", params={"status": "queued"}).text)["counts"]["queued"] == 2


def test_pdf_downloads_are_pdfs_or_one_line_when_pango_is_missing(sqlite_workbench, report):
    r = sqlite_workbench.client("viewer").get(f"/api/v1/reports/{report}/download/brief.pdf")
    if r.status_code == 503:
        pytest.skip(f"PDF rendering unavailable here: {r.json()['detail']}")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert r.headers["content-disposition"] == f'attachment; filename="report-{report}-brief.pdf"'


def test_report_page_lists_each_candidates_typed_explanation(sqlite_workbench, report):
    viewer, _ = sqlite_workbench.browser("viewer")
    page = viewer.get(f"/reports/{report}").text
    assert "behavioural_rank: 1" in page and "groups_ranked: 170" in page
    assert "named_claim" in page and "gated_rank" not in page  # unset (None) fields are left out
