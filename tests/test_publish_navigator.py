"""ATT&CK Navigator layer export."""

from __future__ import annotations

import json

from mitreattack.navlayers import Layer

from ttpmap.publish import navigator


def test_layer_loads_in_mitreattack_without_warnings(kb, analysis_apt, capsys):
    layer = navigator.to_layer(analysis_apt, kb)
    loaded = Layer()
    loaded.from_dict(json.loads(json.dumps(layer)))
    assert capsys.readouterr().out == ""
    assert loaded.to_dict()["techniques"]
    assert len(loaded.to_dict()["techniques"]) == len(layer["techniques"])


def test_versions_domain_and_styling(kb, analysis_apt):
    layer = navigator.to_layer(analysis_apt, kb)
    assert layer["versions"] == {"attack": "15", "navigator": "5.1.0", "layer": "4.5"}
    assert layer["domain"] == "enterprise-attack"
    assert layer["gradient"]["colors"][0].lower() == "#ffffff"
    assert layer["gradient"]["minValue"] == 0 and layer["gradient"]["maxValue"] == 100
    assert layer["legendItems"] and layer["description"]


def test_one_entry_per_technique_and_tactic(kb, analysis_apt):
    layer = navigator.to_layer(analysis_apt, kb)
    scored = [(e["techniqueID"], e["tactic"]) for e in layer["techniques"] if "score" in e]
    expected = {(t.id, tactic) for t in analysis_apt.techniques for tactic in t.tactics}
    assert sorted(scored) == sorted(expected)
    valid = [e for e in layer["techniques"] if e["techniqueID"] == "T1078.002"]
    assert {e["tactic"] for e in valid} == {
        "defense-evasion",
        "persistence",
        "privilege-escalation",
        "initial-access",
    }
    for entry in layer["techniques"]:
        if "score" in entry:
            assert isinstance(entry["score"], int) and 0 <= entry["score"] <= 100
            assert len(entry["comment"]) <= 300
            assert any(m["name"] == "evidence" for m in entry["metadata"])


def test_parents_of_observed_sub_techniques_are_expanded(kb, analysis_apt):
    layer = navigator.to_layer(analysis_apt, kb)
    parent = [e for e in layer["techniques"] if e["techniqueID"] == "T1505"]
    assert parent and all(e["showSubtechniques"] for e in parent)
    assert all("score" not in e for e in parent)
    web_shell = [e for e in layer["techniques"] if e["techniqueID"] == "T1505.003"]
    assert web_shell[0]["score"] == 95


def test_output_is_stable(kb, analysis_apt):
    assert navigator.to_json(analysis_apt, kb) == navigator.to_json(analysis_apt, kb)
