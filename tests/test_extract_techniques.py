"""The technique mapper on short texts, with the real default model (trained once per session)."""

from __future__ import annotations

import re

import pytest

from ttpmap.extract.techniques import PHRASES, is_advice, is_prose, map_techniques, phrase_hits
from ttpmap.ingest import from_text
from ttpmap.learn.artifacts import load_or_train
from ttpmap.models import Document

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(kb):
    return load_or_train(kb)


def document(text: str) -> Document:
    return from_text(text, source="test")


INTRUSION = (
    "The attackers sent spearphishing emails with a malicious Word document attached. "
    "When the victim opened the attachment, a macro launched PowerShell to download the second-stage "
    "payload. For persistence, the malware created a scheduled task that runs the backdoor every hour."
)


def test_intrusion_paragraph(kb, model):
    doc = document(INTRUSION)
    decisions, _ = map_techniques(doc, kb, model)
    ids = {r.id for r in decisions}
    assert {"T1566.001", "T1059.001", "T1053.005"} <= ids
    for r in decisions:
        assert 0.0 <= r.score <= 1.0 and r.origin == "text" and r.tactics
        assert 1 <= len(r.evidence) <= 5
        for ev in r.evidence:
            assert doc.text[ev.start : ev.end] == ev.text
    by_id = {r.id: r for r in decisions}
    assert "attach" in by_id["T1566.001"].evidence[0].text
    assert "scheduled task" in by_id["T1053.005"].evidence[0].text
    assert by_id["T1053.005"].tactics == kb.tactic_names(kb.techniques["T1053.005"])


def test_threshold_and_top_k(kb, model):
    doc = document(INTRUSION)
    decisions, _ = map_techniques(doc, kb, model, top_k=1)
    assert len(decisions) == 1
    none, candidates = map_techniques(doc, kb, model, threshold=1.01)
    assert not none and len(candidates) >= 3


def test_advice_yields_nothing(kb, model):
    text = (
        "Disable PowerShell where it is not needed; enforce MFA. "
        "Organizations should block macros from the internet."
    )
    assert map_techniques(document(text), kb, model)[0] == []


def test_ioc_list_yields_nothing(kb, model):
    text = "45.77.12.3\nevil-domain[.]com\n5d41402abc4b2a76b9719d911017c592\nhxxp://bad[.]site/payload.exe\n"
    assert map_techniques(document(text), kb, model)[0] == []


def test_filters():
    assert not is_prose("5d41402abc4b2a76b9719d911017c592 evil.exe")
    assert is_prose("The malware creates a scheduled task for persistence.")
    assert is_advice("We recommend disabling macros.") and not is_advice("The actor disabled logging.")


def test_every_phrase_comes_from_attack_text(kb):
    # The admission rule of PHRASES: each phrase occurs in the name or description of its technique
    # or of one of its sub-techniques in the bundle, so none was taken from an evaluation corpus.
    for pattern, tech_id in PHRASES:
        family = [t for t in kb.techniques.values() if t.id == tech_id or t.parent == tech_id]
        text = "\n".join(f"{t.name}\n{t.description}" for t in family)
        assert re.search(rf"(?<![\w-])(?:{pattern})(?!\w)", text, re.IGNORECASE), (pattern, tech_id)


def test_phrase_hits_prefer_sub_technique_phrases():
    hits = phrase_hits("They sent spear-phishing attachments, then ran cmd.exe.")
    assert hits == ["T1566.001", "T1059.003"]
    assert phrase_hits("a phishing campaign") == ["T1566"]
    assert phrase_hits("the customer's torrent client") == []


def test_defensive_sections_and_headings_are_not_evidence() -> None:
    from ttpmap.extract.techniques import narrative_sentences

    text = (
        "Initial access\n"
        "The actor exploited the VPN appliance and dropped a web shell.\n"
        "Recommended mitigations\n"
        "Place Outlook Web App behind a reverse proxy that requires authentication.\n"
        "Detection\n"
        "Any access to the memory of lsass.exe by other processes should be investigated.\n"
        "Lateral movement\n"
        "The actor then moved laterally over RDP.\n"
    )
    doc = from_text(text)
    kept = [s.text for s in narrative_sentences(doc)]
    assert kept == [
        "The actor exploited the VPN appliance and dropped a web shell.",
        "The actor then moved laterally over RDP.",
    ]


def test_table_rows_do_not_end_a_defensive_section() -> None:
    from ttpmap.extract.techniques import narrative_sentences

    text = (
        "Indicators of Compromise\n"
        "Type | Indicator | Notes\n"
        "Scheduled task | \\Microsoft\\Windows\\Update | Runs upd.ps1 every six hours\n"
        "Timeline\n"
        "The actor returned in March.\n"
    )
    doc = from_text(text)
    assert [s.text for s in narrative_sentences(doc)] == ["The actor returned in March."]
