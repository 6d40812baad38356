"""The analysis store on SQLite and (when a server is configured) PostgreSQL: the same tests on both."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from store_backends import BACKENDS, backend_url
from ttpmap.errors import StoreError
from ttpmap.models import Analysis, Indicator
from ttpmap.store import RunKey, analysed, open_store, record_failure, save_analysis
from ttpmap.store import query as q
from ttpmap.store.schema import AnalysisRow, Base, DocumentRow, FailureRow, TechniqueRow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
KEY = RunKey("default-v2", "a" * 64)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    gen = backend_url(request.param, tmp_path)
    url = next(gen)
    s = open_store(url)
    yield s
    s.close()
    gen.close()


@pytest.fixture(scope="module")
def apt_text() -> str:
    return (EXAMPLES / "apt-exchange-intrusion.md").read_text(encoding="utf-8")


def _variant(analysis: Analysis, sha: str, *, keep: int, iocs: list[Indicator] | None = None) -> Analysis:
    """A copy of ``analysis`` as if it were another document with fewer techniques."""
    copy = analysis.model_copy(deep=True)
    copy.document.sha256 = sha
    copy.document.title = f"Report {sha[:4]}"
    copy.techniques = copy.techniques[:keep]
    copy.entities.software = []
    copy.entities.groups = []
    copy.entities.cves = []
    copy.attribution = []
    copy.iocs = iocs or []
    return copy


def test_migration_creates_the_orm_schema_exactly(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_reopening_is_idempotent_and_keeps_data(store, analysis_apt, apt_text):
    save_analysis(store, analysis_apt, apt_text, KEY)
    again = open_store(store.url.render_as_string(hide_password=False))
    with again.session() as s:
        assert s.scalar(select(func.count()).select_from(DocumentRow)) == 1
    again.close()


def test_save_is_one_analysis_per_key_and_replaces_query_rows(store, analysis_apt, apt_text):
    save_analysis(store, analysis_apt, apt_text, KEY, seconds=1.5)
    fewer = analysis_apt.model_copy(deep=True)
    fewer.techniques = fewer.techniques[:3]
    second = save_analysis(store, fewer, apt_text, KEY)
    other = save_analysis(store, analysis_apt, apt_text, RunKey("named@123", KEY.kb_sha256))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(DocumentRow)) == 1
        assert s.scalar(select(func.count()).select_from(AnalysisRow)) == 2
        n = s.scalar(select(func.count()).select_from(TechniqueRow).where(TechniqueRow.analysis_id == second))
        assert n == 3
        row = s.get(AnalysisRow, other)
        assert row.result["schema"] == "ttpmap.analysis/1"
        assert Analysis.model_validate(row.result).document.sha256 == analysis_apt.document.sha256
        doc = s.get(DocumentRow, row.document_id)
        assert doc.text == apt_text
    assert analysed(store, [analysis_apt.document.sha256, "f" * 64], KEY) == {analysis_apt.document.sha256}
    assert analysed(store, [analysis_apt.document.sha256], RunKey("other", KEY.kb_sha256)) == set()


def test_failure_is_recorded_and_cleared_by_a_success(store, analysis_apt, apt_text):
    sha = analysis_apt.document.sha256
    record_failure(store, sha, "a.pdf", "a.pdf: encrypted\nPDF", KEY)
    record_failure(store, sha, "a.pdf", "a.pdf: encrypted PDF", KEY)
    with store.session() as s:
        rows = s.scalars(select(FailureRow)).all()
        assert [r.reason for r in rows] == ["a.pdf: encrypted PDF"]
    save_analysis(store, analysis_apt, apt_text, KEY)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(FailureRow)) == 0


def test_search_by_technique_software_ioc_cve_and_group(store, analysis_apt, apt_text):
    save_analysis(store, analysis_apt, apt_text, KEY)
    save_analysis(store, _variant(analysis_apt, "b" * 64, keep=2), "other text", KEY)
    both = q.search(store, q.Filters(techniques=(analysis_apt.techniques[0].id,)))
    assert len(both) == 2
    hits = q.search(store, q.Filters(techniques=("T1190",), software=("S0020",)))
    assert [m.sha256 for m in hits] == [analysis_apt.document.sha256]
    kinds = {e["kind"] for e in hits[0].evidence}
    assert kinds == {"technique", "software"}
    tech = next(e for e in hits[0].evidence if e["kind"] == "technique")
    t1190 = next(t for t in analysis_apt.techniques if t.id == "T1190")
    best = max(t1190.evidence, key=lambda e: e.score)
    assert tech["text"][:40] == " ".join(apt_text[best.start : best.end].split())[:40]
    # parent IDs match their sub-techniques
    assert q.search(store, q.Filters(techniques=("T1505",)))
    ip = next(i for i in analysis_apt.iocs if i.type == "ipv4")
    assert len(q.search(store, q.Filters(iocs=(ip.defanged,)))) == 1
    found = q.search(store, q.Filters(iocs=(ip.value,)))
    assert found[0].evidence[0]["text"] == ip.defanged
    assert len(q.search(store, q.Filters(cves=("cve-2021-26855",)))) == 1
    assert len(q.search(store, q.Filters(groups=("G0065",)))) == 1
    assert q.search(store, q.Filters(techniques=("T1190",), cves=("CVE-1999-0001",))) == []
    future = datetime.now(UTC) + timedelta(days=1)
    assert q.search(store, q.Filters(since=future)) == []
    assert len(q.search(store, q.Filters(since=q.parse_since("2000-01-01")))) == 2


def test_search_evidence_defangs_network_indicators(store, analysis_apt, apt_text):
    analysis = analysis_apt.model_copy(deep=True)
    url = "https://evil.example.com/x"
    text_ = f"The actor exploited the portal and fetched {url} for staging."
    t = analysis.techniques[0]
    t.evidence = [t.evidence[0].model_copy(update={"start": 0, "end": len(text_), "score": 1.0})]
    analysis.iocs = [Indicator(type="url", value=url, defanged="hxxps://evil.example[.]com/x")]
    save_analysis(store, analysis, text_, KEY)
    hit = q.search(store, q.Filters(techniques=(t.id,)))[0]
    shown = hit.evidence[0]["text"]
    assert "https://" not in shown and "evil.example.com" not in shown and "hxxps://" in shown


def test_related_ranks_shared_iocs_and_explains(store, analysis_apt, apt_text):
    ip = next(i for i in analysis_apt.iocs if i.type == "ipv4")
    save_analysis(store, analysis_apt, apt_text, KEY)
    save_analysis(store, _variant(analysis_apt, "b" * 64, keep=1, iocs=[ip]), "b", KEY)
    save_analysis(store, _variant(analysis_apt, "c" * 64, keep=1), "c", KEY)
    doc = q.resolve_document(store, analysis_apt.document.sha256[:10])
    found = q.related(store, doc)
    assert found[0].sha256 == "b" * 64
    assert found[0].shared["ioc:ipv4"] == [ip.value]
    assert all(r.score <= found[0].score for r in found)
    with pytest.raises(Exception, match="no document"):
        q.resolve_document(store, "0123456789")


def test_corpus_counts_summary_and_layer(store, kb, analysis_apt, apt_text, capsys):
    from mitreattack.navlayers import Layer

    from ttpmap.publish.corpus_layer import corpus_layer

    save_analysis(store, analysis_apt, apt_text, KEY)
    save_analysis(store, _variant(analysis_apt, "b" * 64, keep=2), "b", KEY)
    total, counts = q.technique_counts(store, q.Filters())
    assert total == 2
    top = analysis_apt.techniques[0].id
    assert counts[top] == 2 and counts[analysis_apt.techniques[5].id] == 1
    summary = q.summary(store, q.Filters(), top=3)
    assert summary.documents == 2 and summary.techniques[0][1] == 2
    assert summary.software and summary.software[0][2] == 1
    layer = corpus_layer(total, counts, kb, selection="all")
    loaded = Layer()
    loaded.from_dict(json.loads(json.dumps(layer)))
    assert capsys.readouterr().out == ""
    entry = next(e for e in layer["techniques"] if e["techniqueID"] == top)
    assert entry["score"] == 100 and entry["comment"].startswith("2 of 2 documents")
    assert layer["legendItems"] and layer["versions"]["attack"] == "15"
    filtered = q.technique_counts(store, q.Filters(software=("S0020",)))
    assert filtered[0] == 1


def test_newer_schema_is_refused_not_touched(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    open_store(url).close()
    s = open_store(url, migrate=False)
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    s.close()
    with pytest.raises(StoreError, match="newer than this ttpmap"):
        open_store(url)


def test_foreign_database_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    s = open_store(url, migrate=False)
    with s.engine.begin() as conn:
        conn.execute(text("CREATE TABLE documents (x INTEGER)"))
    s.close()
    with pytest.raises(StoreError, match="no schema version"):
        open_store(url)


def test_unreachable_server_fails_fast_with_one_line():
    start = time.monotonic()
    with pytest.raises(StoreError) as info:
        open_store("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert time.monotonic() - start < 10
    assert "\n" not in str(info.value) and "127.0.0.1" in str(info.value)


def test_bad_urls_are_usage_level_errors(tmp_path):
    with pytest.raises(StoreError, match="unsupported store"):
        open_store("mysql://x@y/z")
    path = tmp_path / "plain.sqlite"
    open_store(str(path)).close()
    assert path.is_file()


def test_default_url_follows_env(monkeypatch, tmp_path):
    from ttpmap.store import default_url

    monkeypatch.setenv("TTPMAP_STORE", f"sqlite:///{tmp_path}/e.sqlite")
    assert default_url().endswith("e.sqlite")
    monkeypatch.delenv("TTPMAP_STORE")
    assert default_url().startswith("sqlite:///") and default_url().endswith("store.sqlite")
