"""MISP event export."""

from __future__ import annotations

import json

import pytest
from pymisp import MISPEvent

from ttpmap.publish import misp


@pytest.fixture(scope="module")
def event(kb, analysis_apt) -> MISPEvent:
    loaded = MISPEvent()
    loaded.load(misp.to_json(analysis_apt, kb))
    return loaded


def _attr(event: MISPEvent, value: str):
    return next(a for a in event.attributes if a.value == value)


def test_round_trips_through_pymisp(kb, analysis_apt, event):
    text = misp.to_json(analysis_apt, kb)
    assert "Event" in json.loads(text)
    assert event.info.startswith("State-Sponsored Intrusion")
    assert str(event.date) == "2024-05-14"
    assert int(event.threat_level_id) == 1
    assert int(event.analysis) == 0
    assert misp.to_json(analysis_apt, kb) == text


def test_attribute_types_categories_and_ids_flags(event):
    expected = {
        "45.77.10.22": ("ip-dst", "Network activity", True),
        "203.0.113.57": ("ip-dst", "Network activity", False),  # documentation range: not for IDS
        "update-check.example-cdn.net": ("domain", "Network activity", True),
        "https://msexch-health.com/api/v2/status": ("url", "Network activity", True),
        "netops.kwan@seamail-box.com": ("email-src", "Payload delivery", True),
        "f0603577aa6c55e0d19d3572186e5761": ("md5", "Payload delivery", True),
        "a84bba07931db925306a0799dc6ebd718b8c764d1c0acb3dea13519a60a077bb": (
            "sha256",
            "Payload delivery",
            True,
        ),
        "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\upd.ps1": ("filename", "Artifacts dropped", False),
        "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\WDigest": (
            "regkey",
            "Persistence mechanism",
            False,
        ),
        "CVE-2021-26855": ("vulnerability", "External analysis", False),
    }
    for value, (kind, category, to_ids) in expected.items():
        attr = _attr(event, value)
        assert (attr.type, attr.category, bool(attr.to_ids)) == (kind, category, to_ids), value


def test_galaxy_and_confidence_tags(event):
    tags = {t.name for t in event.tags}
    assert "tlp:clear" in tags
    assert 'misp-galaxy:mitre-attack-pattern="Exploit Public-Facing Application - T1190"' in tags
    assert 'misp-galaxy:mitre-attack-pattern="Web Shell - T1505.003"' in tags
    assert 'misp-galaxy:threat-actor="Leviathan"' in tags  # moderate confidence: above the threshold
    assert 'misp-galaxy:threat-actor="HAFNIUM"' not in tags  # low confidence: attribute only
    assert 'estimative-language:likelihood-probability="likely"' in tags
    hafnium = _attr(event, "HAFNIUM")
    assert hafnium.category == "Attribution"
    assert 'estimative-language:confidence-in-analytic-judgment="low"' in {t.name for t in hafnium.tags}


def test_threshold_can_be_raised(kb, analysis_apt):
    event = misp.to_event(analysis_apt, kb, min_confidence="high")
    assert not any(t.name.startswith("misp-galaxy:threat-actor") for t in event.tags)
