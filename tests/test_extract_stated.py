"""The report's own attribution: named groups with roles, galaxy synonyms, stated attributes."""

from __future__ import annotations

import pytest

from ttpmap.extract.stated import find_stated_attribution
from ttpmap.extract.victimology import find_victimology
from ttpmap.ingest import from_text
from ttpmap.kb.galaxy import load_galaxy
from ttpmap.models import Victimology


@pytest.fixture(scope="module")
def galaxy(kb):
    return load_galaxy(kb)


def _stated(kb, galaxy, text):
    doc = from_text(text, source="t")
    return find_stated_attribution(doc, kb, galaxy, Victimology(**find_victimology(text)))


def test_galaxy_resolves_vendor_names_to_attack_groups_or_known_actors(kb, galaxy):
    assert galaxy.actor("BRONZE SILHOUETTE").attack_group == "G1017"  # Secureworks name of Volt Typhoon
    assert galaxy.actor("TEMP.Periscope").attack_group == "G0065"
    storm = galaxy.actor("Storm-0558")
    assert storm is not None and storm.attack_group is None and storm.country == "China"
    assert "PlugX" in galaxy.malware_names


def test_roles_and_offsets(kb, galaxy):
    text = (
        "Volt Typhoon, also tracked as BRONZE SILHOUETTE, has targeted US critical infrastructure. "
        "Its tooling is similar to APT41. This cluster overlaps with APT28 infrastructure."
    )
    sa = _stated(kb, galaxy, text)
    roles = {g.id: g.role for g in sa.groups}
    assert roles == {"G1017": "responsible", "G0096": "compared", "G0007": "overlapping"}
    volt = sa.responsible[0]
    assert text[volt.start : volt.end] == volt.name and volt.count == 2
    assert volt.sentence.startswith("Volt Typhoon, also tracked as")


def test_stated_attributes(kb, galaxy):
    sa = _stated(
        kb,
        galaxy,
        "We attribute this espionage campaign with high confidence to Sandworm, a unit of Russia's GRU "
        "active since at least 2009.",
    )
    assert sa.responsible[0].id == "G0034"
    assert sa.nationality == ["Russia"]
    assert sa.sponsor == "GRU (Russia)"
    assert sa.motivation == ["espionage"]
    assert sa.active_since == 2009
    assert sa.confidence == "high"


def test_a_known_actor_outside_attack_is_reported_as_such(kb, galaxy):
    sa = _stated(kb, galaxy, "The intrusion was conducted by Storm-0558, a China-based actor.")
    actor = sa.responsible[0]
    assert actor.id is None and not actor.in_attack and actor.galaxy_actor == "Storm-0558"
    assert sa.nationality == ["China"]


def test_no_groups_no_attribution(kb, galaxy):
    sa = _stated(kb, galaxy, "An unknown actor exploited a web server and stole mail.")
    assert sa.groups == [] and sa.responsible == [] and sa.sponsor is None


def test_flagship_example_states_apt40(kb, galaxy):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "examples" / "apt-exchange-intrusion.md").read_text()
    sa = _stated(kb, galaxy, text)
    actor = sa.responsible[0]
    assert (actor.name, actor.id) == ("APT40", "G0065")
    assert sa.sponsor.startswith("Ministry of State Security") and "China" in sa.nationality
    assert sa.confidence == "moderate"


def test_names_match_in_any_letter_case_but_not_as_lower_case_words(kb, galaxy):
    sa = _stated(kb, galaxy, "BlueNoroff has targeted crypto exchanges. The turla plant was closed.")
    assert [(g.name, g.id, g.role) for g in sa.groups] == [("BlueNoroff", "G0082", "responsible")]


def test_the_only_group_a_report_keeps_naming_is_its_subject(kb, galaxy):
    sa = _stated(kb, galaxy, "WIRTE sent lures in Arabic. Later, WIRTE used a VBS downloader.")
    assert sa.responsible[0].id == "G0090"
    once = _stated(kb, galaxy, "Lures were sent in Arabic. Some resemble WIRTE lures.")
    assert once.responsible == []
