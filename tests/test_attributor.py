"""The fitted Attributor: explicit state, cached parameters as JSON, pure ranking, provenance classes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ttpmap.attribute import AttributionQuery, Attributor, RankWeights
from ttpmap.attribute.attributor import ARTEFACT_VERSION, load_or_fit
from ttpmap.attribute.provenance import BESPOKE, classify_software, load_provenance, provenance_weight
from ttpmap.errors import UsageError
from ttpmap.models import StatedAttribution

EXCHANGE = {"techniques": ["T1190", "T1505.003"], "software": ["China Chopper"], "cves": ["CVE-2021-26855"]}


@pytest.fixture(scope="module")
def attributor(kb):
    return Attributor.fit(kb)


def test_fit_builds_everything_for_its_kb(kb, attributor):
    assert attributor.kb_sha256 == kb.info.sha256
    assert len(attributor.profiles) == len(kb.groups)
    assert attributor.galaxy is not None and attributor.group_countries["G0065"] == "China"
    assert "APT40" in attributor.name_index


def test_rank_is_pure_and_repeatable(kb, attributor):
    q = AttributionQuery.build(kb, **EXCHANGE)
    first = attributor.rank(q, kb, include_weak=True)
    assert [(c.id, c.score) for c in first] == [
        (c.id, c.score) for c in attributor.rank(q, kb, include_weak=True)
    ]
    assert attributor.rank(q, kb, top=3, include_weak=True)[0].id == first[0].id


def test_explanations_use_the_fitted_weights(kb, attributor):
    q = AttributionQuery.build(kb, **EXCHANGE)
    heavy = Attributor(kb.info.sha256, attributor.profiles, weights=RankWeights(cves=10.0))
    top = heavy.rank(q, kb, top=1, include_weak=True)[0]
    base = attributor.rank(q, kb, include_weak=True)
    same = next(c for c in base if c.id == top.id)
    assert top.explanation.score_components["cves"] == pytest.approx(
        10 * same.explanation.score_components["cves"], rel=1e-3
    )


def test_stated_nationality_gates_candidates_and_says_so(kb, attributor):
    q = AttributionQuery.build(kb, **EXCHANGE)
    stated = StatedAttribution(nationality=["Iran"])
    ranked = attributor.rank(q, kb, top=5, include_weak=True, stated=stated)
    assert ranked and all(attributor.group_countries.get(c.id) in (None, "Iran") for c in ranked)
    assert ranked[0].explanation.gated_groups > 0
    checks = [c.explanation.nationality_check for c in ranked]
    assert any(ch and ch.consistent for ch in checks)


def test_parameters_are_cached_as_json_and_reused(kb, tmp_path):
    first = load_or_fit(kb, tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".json"
    raw = json.loads(files[0].read_text())
    assert raw["version"] == ARTEFACT_VERSION and raw["kb_sha256"] == kb.info.sha256
    raw["calibrator"]["intercept"] = -3.0  # what is on disk is what is used
    files[0].write_text(json.dumps(raw))
    second = load_or_fit(kb, tmp_path)
    assert second.calibrator.intercept == -3.0 and first.calibrator.intercept != -3.0
    files[0].write_text("not json")  # a broken cache is refitted, not fatal
    assert load_or_fit(kb, tmp_path).calibrator == first.calibrator


def test_an_attributor_refuses_another_kb(kb, attributor):
    other = Attributor("0" * 64, attributor.profiles)
    with pytest.raises(UsageError):
        other.rank(AttributionQuery.build(kb, **EXCHANGE), kb)


def test_ranking_imports_no_scipy():
    code = (
        "import sys; from ttpmap.kb import load_kb;"
        "from ttpmap.attribute import Attributor, AttributionQuery;"
        "kb = load_kb(); a = Attributor.fit(kb);"
        "a.rank(AttributionQuery.build(kb, techniques=['T1190']), kb, include_weak=True);"
        "print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_provenance_classes(kb, attributor):
    classes = classify_software(kb, attributor.profiles.utilities)
    assert classes["S0154"] == "open-source-or-red-team"  # Cobalt Strike
    assert classes["S0039"] == "os-utility"  # Net
    assert classes["S0559"] == BESPOKE  # SUNBURST
    assert classes["S0002"] == "open-source-or-red-team"  # Mimikatz
    assert provenance_weight(BESPOKE) == 1.0 > provenance_weight("commodity")
    # no curated name is listed in two classes, and every class has a weight
    lex = load_provenance()
    assert set(lex.by_name.values()) <= set(lex.weights)


def test_shared_commodity_software_counts_less_than_shared_bespoke(kb, attributor):
    from ttpmap.attribute.rank import score_groups

    def best_software(names):
        q = AttributionQuery.build(kb, software=names)
        return max(s.components["software"] for s in score_groups(q, attributor.profiles))

    # SUNBURST (bespoke, one group) against Cobalt Strike (red-team framework)
    assert best_software(["SUNBURST"]) > 3 * best_software(["Cobalt Strike"])


def test_galaxy_victimology_priors_enter_group_profiles(kb):
    from ttpmap.attribute.profiles import mine_kb
    from ttpmap.kb.galaxy import load_galaxy

    galaxy = load_galaxy(kb)
    plain, primed = mine_kb(kb).sources["G0065"], mine_kb(kb, galaxy).sources["G0065"]
    # the galaxy's suspected victims of APT40 include countries ATT&CK's own text does not name
    assert set(primed.victimology["countries"]) > set(plain.victimology["countries"])
    assert "Malaysia" in primed.victimology["countries"]
