"""STIX 2.1 bundle export: validity, modelling and reproducibility."""

from __future__ import annotations

import json

import pytest
from stix2patterns.validator import run_validator
from stix2validator import ValidationOptions, validate_string

from ttpmap.models import Indicator
from ttpmap.publish import stix

# uuid5 IDs (reproducible output) draw {103} "not a UUIDv4" warnings; ATT&CK references carry a URL
# without a hash ({302}), exactly as in MITRE's own bundles. Neither is an error.
EXPECTED_WARNINGS = ("{103}", "{302}")


@pytest.fixture(scope="module")
def bundle(kb, analysis_apt) -> dict:
    return json.loads(stix.to_json(analysis_apt, kb))


def _objects(bundle: dict, kind: str) -> list[dict]:
    return [o for o in bundle["objects"] if o["type"] == kind]


def test_bundle_validates(kb, analysis_apt):
    results = validate_string(stix.to_json(analysis_apt, kb), ValidationOptions(version="2.1"))
    assert results.is_valid, [str(e) for e in results.errors]
    assert not results.errors
    assert all(any(code in str(w) for code in EXPECTED_WARNINGS) for w in results.warnings)


def test_output_is_reproducible(kb, analysis_apt):
    assert stix.to_json(analysis_apt, kb) == stix.to_json(analysis_apt, kb)


def test_timestamps_come_from_the_analysis(bundle):
    report = _objects(bundle, "report")[0]
    assert report["published"].startswith("2024-05-14T09:30:00")
    assert all(o["created"].startswith("2024-05-14") for o in bundle["objects"] if o["type"] != "identity")


def test_report_references_everything(bundle):
    report = _objects(bundle, "report")[0]
    ids = {o["id"] for o in bundle["objects"] if o["type"] != "report"}
    assert set(report["object_refs"]) == ids
    identity = _objects(bundle, "identity")[0]
    assert identity["name"] == "ttpmap"
    assert all(
        o.get("created_by_ref") == identity["id"] for o in bundle["objects"] if o["type"] != "identity"
    )


def test_attack_patterns_carry_attack_references(bundle, analysis_apt):
    patterns = _objects(bundle, "attack-pattern")
    assert len(patterns) == len(analysis_apt.techniques)
    for p in patterns:
        ref = p["external_references"][0]
        assert ref["source_name"] == "mitre-attack"
        assert ref["url"].startswith("https://attack.mitre.org/techniques/")
        assert p["kill_chain_phases"][0]["kill_chain_name"] == "mitre-attack"


def test_vulnerabilities_mitigations_and_attribution(bundle, analysis_apt):
    cves = {o["name"] for o in _objects(bundle, "vulnerability")}
    assert cves == {"CVE-2021-26855", "CVE-2021-27065", "CVE-2019-18935"}
    assert all(o["external_references"][0]["source_name"] == "cve" for o in _objects(bundle, "vulnerability"))
    relations = _objects(bundle, "relationship")
    by_id = {o["id"]: o for o in bundle["objects"]}
    mitigates = [r for r in relations if r["relationship_type"] == "mitigates"]
    assert mitigates
    assert all(by_id[r["source_ref"]]["type"] == "course-of-action" for r in mitigates)
    assert all(by_id[r["target_ref"]]["type"] == "attack-pattern" for r in mitigates)
    attributed = [r for r in relations if r["relationship_type"] == "attributed-to"]
    assert len(attributed) == len(analysis_apt.attribution)
    confidences = {by_id[r["target_ref"]]["name"]: r["confidence"] for r in attributed}
    assert confidences == {g.name: round(g.score * 100) for g in analysis_apt.attribution}
    assert all(by_id[r["source_ref"]]["type"] == "campaign" for r in attributed)
    indicates = [r for r in relations if r["relationship_type"] == "indicates"]
    assert len(indicates) == len(_objects(bundle, "indicator"))


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("ipv4", "45.77.10[.]22", "[ipv4-addr:value = '45.77.10.22']"),
        ("domain", "evil[.]example", "[domain-name:value = 'evil.example']"),
        ("url", "hxxps://evil[.]example/a?b='c'", "[url:value = 'https://evil.example/a?b=\\'c\\'']"),
        ("email", "a[@]evil[.]example", "[email-addr:value = 'a@evil.example']"),
        ("sha256", "A" * 64, "[file:hashes.'SHA-256' = '" + "a" * 64 + "']"),
        ("sha1", "b" * 40, "[file:hashes.'SHA-1' = '" + "b" * 40 + "']"),
        ("md5", "c" * 32, "[file:hashes.MD5 = '" + "c" * 32 + "']"),
        (
            "registry_key",
            "HKLM\\SOFTWARE\\Run",
            "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Run']",
        ),
        (
            "file_path",
            "C:\\Temp\\a.exe",
            "[file:name = 'a.exe' AND file:parent_directory_ref.path = 'C:\\\\Temp']",
        ),
        ("filename", "it's.exe", "[file:name = 'it\\'s.exe']"),
        ("cve", "CVE-2021-26855", None),
    ],
)
def test_indicator_patterns_are_valid_and_escaped(kind, value, expected):
    pattern = stix.indicator_pattern(Indicator(type=kind, value=value, defanged=value))
    assert pattern == expected
    if pattern:
        assert run_validator(pattern, stix_version="2.1") == []
