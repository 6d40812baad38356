"""The versioned JSON contract: committed schemas equal the generated ones; loading is strict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from contract import SCHEMAS, assert_valid
from ttpmap.errors import SchemaError
from ttpmap.models import (
    Analysis,
    AttributionReport,
    MitigationReport,
    TechniqueResult,
    load_versioned,
)
from ttpmap.schema import MODELS, main, render

FIXTURE = Path(__file__).parent / "fixtures" / "analysis_apt.json"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_committed_schema_equals_generated(name: str) -> None:
    committed = (SCHEMAS / name).read_text(encoding="utf-8")
    assert committed == render(MODELS[name]), "stale: run `python -m ttpmap.schema` and commit schemas/"


def test_generator_check_mode(tmp_path: Path) -> None:
    assert main([str(tmp_path), "--check"]) == 1  # nothing written yet
    assert main([str(tmp_path)]) == 0
    assert main([str(tmp_path), "--check"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(MODELS)
    (tmp_path / "ttpmap.analysis-1.json").write_text("{}", encoding="utf-8")
    assert main([str(tmp_path), "--check"]) == 1


def test_schema_requires_every_emitted_key_and_forbids_others() -> None:
    schema = json.loads((SCHEMAS / "ttpmap.analysis-1.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {"schema", "document", "attack", "techniques", "iocs", "entities"}
    tech = schema["$defs"]["TechniqueResult"]
    assert {"count", "original_id"} <= set(tech["required"])
    mitigation = schema["$defs"]["MitigationResult"]
    assert {"coverage", "weight_share", "layer", "url", "advice"} <= set(mitigation["required"])


def test_fixture_and_its_round_trip_validate(analysis_apt: Analysis) -> None:
    assert_valid(json.loads(FIXTURE.read_text(encoding="utf-8")))
    assert_valid(json.loads(analysis_apt.to_json()))
    assert load_versioned(Analysis, analysis_apt.to_json()) == analysis_apt


def test_unknown_version_is_one_line_schema_error() -> None:
    raw = json.loads(FIXTURE.read_text(encoding="utf-8"))
    raw["schema"] = "ttpmap.analysis/999"
    with pytest.raises(SchemaError) as info:
        load_versioned(Analysis, raw)
    message = str(info.value)
    assert "ttpmap.analysis/999" in message and "ttpmap.analysis/1" in message
    assert "\n" not in message
    with pytest.raises(SchemaError, match="unsupported schema"):
        load_versioned(AttributionReport, {"schema": "ttpmap.analysis/1"})


@pytest.mark.parametrize(
    ("path", "where"),
    [((), "surprise"), (("techniques", 0), "techniques.0.surprise"), (("document",), "document.surprise")],
)
def test_unknown_keys_are_rejected(path: tuple, where: str) -> None:
    raw = json.loads(FIXTURE.read_text(encoding="utf-8"))
    target = raw
    for key in path:
        target = target[key]
    target["surprise"] = 1
    with pytest.raises(SchemaError) as info:
        load_versioned(Analysis, json.dumps(raw))
    assert where in str(info.value) and "\n" not in str(info.value)


def test_outputs_are_immutable(analysis_apt: Analysis) -> None:
    with pytest.raises(ValidationError):
        analysis_apt.created = "2000-01-01T00:00:00Z"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        analysis_apt.techniques[0].score = 0.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        TechniqueResult(id="T1190", name="x", score=1.0, undeclared=True)  # type: ignore[call-arg]


def test_attribute_and_mitigate_reports_validate(analysis_apt: Analysis) -> None:
    attribution = AttributionReport(attribution=analysis_apt.attribution, campaigns=analysis_apt.campaigns)
    defence = MitigationReport(mitigations=analysis_apt.mitigations, detections=analysis_apt.detections)
    for report in (attribution, defence):
        data = json.loads(report.to_json())
        assert_valid(data)
        assert load_versioned(type(report), data) == report
    assert json.loads(attribution.to_json())["schema"] == "ttpmap.attribution/1"
    assert json.loads(defence.to_json())["schema"] == "ttpmap.mitigation/1"


def test_validator_catches_a_missing_declared_key(analysis_apt: Analysis) -> None:
    data = json.loads(analysis_apt.to_json())
    del data["mitigations"][0]["layer"]
    with pytest.raises(AssertionError, match="layer"):
        assert_valid(data)
