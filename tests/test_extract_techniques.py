"""The technique mapper on short texts, with the real default model (trained once per session)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ttpmap.extract.techniques import is_prose, map_techniques, prose_sentences, readable_text
from ttpmap.ingest import from_text, load
from ttpmap.learn.artifacts import load_or_train
from ttpmap.learn.phrases import PHRASES, phrase_hits
from ttpmap.models import Document

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "advisory-appendix.md"

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
    assert not is_prose("C:\\ProgramData\\x\\a.aspx C:\\inetpub\\wwwroot\\b.aspx C:\\temp\\c.aspx")
    assert is_prose("The malware creates a scheduled task for persistence.")
    assert (
        readable_text("| Execution | The actor ran PowerShell. |") == "Execution; The actor ran PowerShell."
    )


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


def test_an_appendix_of_observed_procedures_is_read(kb, model):
    # The procedures sit in a table after the Mitigations section: no heading silences them.
    doc = load(str(EXAMPLE))
    decisions, _ = map_techniques(doc, kb, model)
    found = {r.id: r for r in decisions}
    appendix = doc.text.index("Appendix A")
    expected = {"T1190", "T1505.003", "T1059.001", "T1053.005", "T1003.001", "T1021.001", "T1560", "T1041"}
    assert expected <= {r.id.split(".")[0] if r.id.split(".")[0] in expected else r.id for r in decisions}
    for tech in ("T1053.005", "T1003.001", "T1021.001", "T1041"):
        assert found[tech].evidence[0].start > appendix  # quoted from the appendix rows


def test_a_mitigations_section_is_not_read(kb, model):
    doc = load(str(EXAMPLE))
    decisions, _ = map_techniques(doc, kb, model)
    mitigations = (doc.text.index("\nMitigations"), doc.text.index("Appendix A"))
    quoted = [ev for r in decisions for ev in r.evidence if mitigations[0] <= ev.start < mitigations[1]]
    assert quoted == []
    advice_only = document(doc.text[mitigations[0] : mitigations[1]])
    assert map_techniques(advice_only, kb, model)[0] == []


def test_indicator_tables_and_headings_are_not_prose():
    doc = load(str(EXAMPLE))
    texts = [p.text for p in prose_sentences(doc)]
    assert not any("203.0.113.45" in t or "3f79bb7b" in t for t in texts)
    assert "Appendix A: Observed Procedures" not in texts and "Mitigations" not in texts


def test_disabling_exploit_mitigations_is_behaviour(kb, model):
    text = "The malware disables exploit mitigations such as DEP before injecting its payload."
    assert model.behaviour([text])[0] > 0.5
    assert map_techniques(document(text), kb, model)[0]


def test_a_lone_proxy_in_a_list_of_tools_decides_nothing(kb, model):
    text = (
        "The intrusion began with a phishing email that carried a malicious attachment. "
        "The operators then ran encoded PowerShell commands and created a scheduled task for persistence. "
        "They dumped credentials from LSASS memory and moved laterally over RDP. "
        "Tools recovered from the host: proxy, nmap, 7zip, AdFind."
    )
    decisions, _ = map_techniques(document(text), kb, model)
    assert "T1090" not in {r.id.split(".")[0] for r in decisions}


def test_rows_of_an_ioc_table_are_records_not_evidence():
    from ttpmap.extract.techniques import is_indicator_row

    ioc_rows = [
        "Email | netops.kwan@seamail-box.com | Registrant address of msexch-health[.]com",
        "Domain | msexch-health[.]com | Fallback download location used by upd.ps1",
        "File path | C:\\ProgramData\\Adobe\\ARM\\rar.exe | Renamed WinRAR console utility",
        "Registry key | HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\WDigest | set to 1",
        "45.77.10[.]22 | VPS | download",
    ]
    procedure_rows = [
        "Initial Access | The actors exploited CVE-2021-26855 on Exchange servers | T1190",
        "Persistence | Web shells were placed in the OWA directory | T1505.003",
        "The actor dumped LSASS with comsvcs.dll and rundll32.exe.",
    ]
    assert all(is_indicator_row(r) for r in ioc_rows)
    assert not any(is_indicator_row(r) for r in procedure_rows)
