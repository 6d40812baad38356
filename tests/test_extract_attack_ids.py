"""Explicit ATT&CK IDs in report text: validation against the KB, revoked IDs, evidence sentences."""

from __future__ import annotations

from ttpmap.extract.attack_ids import find_attack_ids, find_other_ids
from ttpmap.ingest import from_text
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Document


def make_doc(text: str) -> Document:
    return from_text(text, source="test.txt")


TEXT = (
    "The actor ran PowerShell (T1086) to stage tools. "
    "It then used scheduled tasks, see https://attack.mitre.org/techniques/T1053/005/ for details.\n"
    "Our mapping: T1059.001, T1053.005 and T9999. Old scripting IDs such as T1064 are deprecated."
)


def test_explicit_techniques_are_validated(kb: KnowledgeBase) -> None:
    results = find_attack_ids(make_doc(TEXT), kb)
    assert [r.id for r in results] == ["T1059.001", "T1053.005"]
    powershell, task = results
    assert powershell.name == "PowerShell"
    assert powershell.tactics == ["Execution"]
    assert powershell.score == 1.0
    assert powershell.origin == "explicit-id"
    assert set(task.tactics) >= {"Execution", "Persistence", "Privilege Escalation"}


def test_revoked_id_maps_to_replacement(kb: KnowledgeBase) -> None:
    doc = make_doc("Execution through T1086 was observed.")
    (result,) = find_attack_ids(doc, kb)
    assert result.id == "T1059.001"
    assert result.model_dump()["original_id"] == "T1086"


def test_unknown_and_deprecated_ids_are_dropped(kb: KnowledgeBase) -> None:
    assert "T1064" in kb.deprecated
    assert find_attack_ids(make_doc("We saw T9999, T1064 and T1059.999 but nothing real."), kb) == []


def test_url_form_of_subtechnique(kb: KnowledgeBase) -> None:
    doc = make_doc("Reference: https://attack.mitre.org/techniques/T1003/001/")
    assert [r.id for r in find_attack_ids(doc, kb)] == ["T1003.001"]


def test_ids_inside_words_are_ignored(kb: KnowledgeBase) -> None:
    doc = make_doc("Model AT1059 and T10590 and part T1059a are not technique IDs.")
    assert find_attack_ids(doc, kb) == []


def test_evidence_is_the_sentences_naming_the_id(kb: KnowledgeBase) -> None:
    doc = make_doc(TEXT)
    (powershell, _) = find_attack_ids(doc, kb)
    assert powershell.model_dump()["count"] == 2
    texts = [e.text for e in powershell.evidence]
    assert texts == [
        "The actor ran PowerShell (T1086) to stage tools.",
        "Our mapping: T1059.001, T1053.005 and T9999.",
    ]
    for ev in powershell.evidence:
        assert doc.text[ev.start : ev.end] == ev.text
        assert ev.score == 1.0


def test_same_sentence_is_evidence_once(kb: KnowledgeBase) -> None:
    (result,) = find_attack_ids(make_doc("T1059.001 and again T1059.001 in one sentence."), kb)
    assert len(result.evidence) == 1
    assert result.model_dump()["count"] == 2


def test_other_ids_by_kind(kb: KnowledgeBase) -> None:
    revoked_group = next(old for old, new in sorted(kb.revoked.items()) if old.startswith("G"))
    text = (
        f"Tactic TA0002, group G0065, old group {revoked_group}, software S0002, mitigation M1036, "
        "campaign C0022; bogus G9999, S9999 and technique T1059 are not listed here."
    )
    ids = find_other_ids(make_doc(text), kb)
    assert ids == {
        "tactics": ["TA0002"],
        "groups": ["G0065", kb.resolve(revoked_group)],
        "software": ["S0002"],
        "mitigations": ["M1036"],
        "campaigns": ["C0022"],
    }
