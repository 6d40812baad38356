"""Victimology lexicon: the data file loads, and known false positives stay out of the results."""

from __future__ import annotations

import pytest

from ttpmap.extract.victimology import (
    COUNTRIES,
    REGIONS,
    SECTORS,
    find_victimology,
    load_lexicon,
    masking_pattern,
    region_of,
)


def test_lexicon_loads_from_the_data_file():
    lex = load_lexicon()
    assert "energy" in lex.sectors and "China" in lex.countries and "Asia-Pacific" in lex.regions
    assert SECTORS is lex.sectors and COUNTRIES is lex.countries and REGIONS is lex.regions
    assert region_of("Malaysia") == "Southeast Asia"
    # every country's region is a known region
    assert {r for r, _ in COUNTRIES.values()} <= set(REGIONS)


@pytest.mark.parametrize(
    ("text", "kind", "absent"),
    [
        ("The actor ran built-in Windows utilities such as certutil and whoami.", "sectors", "energy"),
        ("The implant's modular architecture loads plugins at run time.", "sectors", "construction"),
        ("The victim opened a Korean-language lure document.", "countries", "South Korea"),
        ("Asia-Pacific organisations were hit.", "regions", "Oceania"),
        ("The loader was protected with a Chinese-made packer.", "countries", "China"),
        ("The actor wrote Russian-language comments in its scripts.", "countries", "Russia"),
    ],
)
def test_lexicon_false_positives(text, kind, absent):
    assert absent not in find_victimology(text)[kind]


def test_true_mentions_still_count():
    v = find_victimology(
        "Electric utilities and the energy sector in Germany; architecture firms in the Asia-Pacific region."
    )
    assert v["sectors"]["energy"] == 2
    assert "construction" in v["sectors"]
    assert v["countries"] == {"Germany": 1}
    assert "Asia-Pacific" in v["regions"]


def test_software_names_are_masked_before_the_country_lexicon():
    text = "Three China Chopper web shells and a China Chopper-style client hit a port operator in Malaysia."
    assert "China" in find_victimology(text)["countries"]  # unmasked: the bug
    v = find_victimology(text, names=["China Chopper"])
    assert "China" not in v["countries"] and "China" not in v["origin"]
    assert v["countries"] == {"Malaysia": 1}
    pattern = masking_pattern(["China Chopper", "X"])  # names under three characters are ignored
    assert pattern is not None and find_victimology(text, names=pattern)["countries"] == {"Malaysia": 1}


def test_masked_spans_are_ignored():
    text = "Targets in Japan. Targets in Japan."
    assert find_victimology(text, masked=[(11, 16)])["countries"] == {"Japan": 1}


def test_the_actors_own_country_is_not_a_victim():
    v = find_victimology(
        "A Chinese state-sponsored group targeted shipping firms in China and Vietnam; China is its home."
    )
    assert "China" in v["origin"]
    assert "China" not in v["countries"]
    assert v["countries"] == {"Vietnam": 1}


def test_malware_named_like_a_country_is_not_a_victim(kb):
    from ttpmap.extract.features import malware_mentions, report_victimology
    from ttpmap.ingest import from_text
    from ttpmap.models import Entities

    text = "Cuba ransomware hit a hospital in Germany. Analysts in Cuba were not involved."
    spans = malware_mentions(text, ["Cuba", "Royal"])
    assert [text[s:e] for s, e in spans] == ["Cuba"]  # only where the text uses it as malware
    v = report_victimology(from_text(text, source="t"), kb, Entities(), malware_names=["Cuba"])
    assert v.countries == {"Germany": 1, "Cuba": 1}
