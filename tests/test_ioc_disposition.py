"""Indicators worth acting on: disposition, role, warning lists and evidence, and exports that follow
them (the sample text of issue #14)."""

from __future__ import annotations

import json

import pytest
from pymisp import MISPEvent
from stix2validator import ValidationOptions, validate_string

from ttpmap.extract.cves import find_cves
from ttpmap.extract.entities import find_entities
from ttpmap.extract.iocs import find_iocs
from ttpmap.extract.iocs.disposition import role_from
from ttpmap.extract.iocs.tables import Tables
from ttpmap.extract.iocs.warninglists import list_kinds, warninglists
from ttpmap.ingest import from_text
from ttpmap.models import Analysis, AttackInfo, Disposition, DocumentInfo, IocRole
from ttpmap.publish import csv as csv_export
from ttpmap.publish import misp, stix

SAMPLE = (
    "The actor downloaded tools from github.com and checked connectivity against 8.8.8.8 and "
    "www.google.com before\nbeaconing to update-check.badcdn.net at 185.220.101.45. Victims were told to "
    "visit microsoft.com for patches.\nThe loader was hosted on raw.githubusercontent.com and pastebin.com. "
    "Telemetry from 127.0.0.1 and 10.0.0.5 was ignored.\nFiles: invoice.pdf, setup.exe, "
    "C:\\Windows\\System32\\cmd.exe, readme.txt. Version 1.2.3.4 of the tool was seen.\n"
)
ACTOR = {"update-check.badcdn.net", "185.220.101.45"}


@pytest.fixture(scope="module")
def sample() -> Analysis:
    iocs = find_iocs(SAMPLE)
    return Analysis(
        document=DocumentInfo(
            title="Issue 14 sample", source="sample.txt", sha256="0" * 64, chars=1, sentences=1
        ),
        attack=AttackInfo(domain="enterprise", version="15.0"),
        iocs=iocs,
        created="2024-05-14T09:30:00.000Z",
    )


def test_only_the_actors_values_are_actionable(sample):
    by_value = {i.value: i for i in sample.iocs}
    assert {v for v, i in by_value.items() if i.actionable} == ACTOR
    expected = {
        "8.8.8.8": Disposition.BENIGN,
        "www.google.com": Disposition.BENIGN,
        "microsoft.com": Disposition.BENIGN,
        "github.com": Disposition.ABUSED_SERVICE,
        "raw.githubusercontent.com": Disposition.ABUSED_SERVICE,
        "pastebin.com": Disposition.ABUSED_SERVICE,
        "127.0.0.1": Disposition.PRIVATE,
        "10.0.0.5": Disposition.PRIVATE,
        "1.2.3.4": Disposition.NOT_IOC,
        "C:\\Windows\\System32\\cmd.exe": Disposition.BENIGN,
    }
    assert {v: by_value[v].disposition for v in expected} == expected
    assert by_value["C:\\Windows\\System32\\cmd.exe"].role == IocRole.SYSTEM_FILE
    assert by_value["update-check.badcdn.net"].role == IocRole.C2
    assert "public-dns-v4" in by_value["8.8.8.8"].warninglists
    assert "google" in by_value["www.google.com"].warninglists
    assert "rfc1918" in by_value["10.0.0.5"].warninglists
    assert "version" in by_value["1.2.3.4"].reason


def test_the_json_says_why_with_evidence(sample):
    data = json.loads(sample.to_json())
    for ioc in data["iocs"]:
        assert ioc["reason"], ioc
        ev = ioc["evidence"]
        assert SAMPLE[ev["start"] : ev["end"]] == ev["text"]
        assert ioc["value"].split(":")[0].lower() in ev["text"].lower() or ioc["type"] == "file_path"


def test_stix_indicators_hold_exactly_the_actors_values(sample):
    text = stix.to_json(sample)
    assert validate_string(text, ValidationOptions(version="2.1")).is_valid
    objects = json.loads(text)["objects"]
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    assert sorted(patterns) == [
        "[domain-name:value = 'update-check.badcdn.net']",
        "[ipv4-addr:value = '185.220.101.45']",
    ]
    notes = [o for o in objects if o["type"] == "note"]
    assert len(notes) == len(sample.iocs) - 2
    assert all("8.8.8.8" not in n["content"] for n in notes)  # defanged in notes: 8.8.8[.]8
    assert any("8.8.8[.]8" in n["content"] and "public-dns-v4" in n["content"] for n in notes)


def test_misp_to_ids_holds_exactly_the_actors_values(sample):
    event = MISPEvent()
    event.load(misp.to_json(sample))
    assert {a.value for a in event.attributes if a.to_ids} == ACTOR
    google = next(a for a in event.attributes if a.value == "www.google.com")
    assert "google" in google.comment and not google.to_ids


def test_csv_shows_disposition_and_role(sample):
    rows = csv_export.iocs_csv(sample).splitlines()
    assert rows[0].startswith("type,kind,value,defanged,disposition,role,reason,warninglists")
    assert any("update-check[.]badcdn[.]net,actor,c2" in r for r in rows)


@pytest.mark.parametrize(
    ("text", "value", "disposition"),
    [
        ("The implant beaconed to 45.77.10.22 every hour.", "45.77.10.22", Disposition.ACTOR),
        (
            "Stage two was fetched from hxxps://pastebin[.]com/raw/x1Yz9 by the loader.",
            "https://pastebin.com/raw/x1Yz9",
            Disposition.ACTOR,
        ),
        (
            "Stage two was fetched from hxxps://pastebin[.]com/raw/x1Yz9 by the loader.",
            "pastebin.com",
            Disposition.ABUSED_SERVICE,
        ),
        ("The C2 name was evilhost.duckdns.org.", "evilhost.duckdns.org", Disposition.ACTOR),
        ("Mail at the victim's domain cmeng-group.com was read.", "cmeng-group.com", Disposition.NOT_IOC),
        ("See https://example.com/path for the format.", "example.com", Disposition.NOT_IOC),
        (
            "It replaced C:\\Users\\Public\\cmd.exe with its loader.",
            "C:\\Users\\Public\\cmd.exe",
            Disposition.ACTOR,
        ),
        (
            "The dropper wrote C:\\Windows\\System32\\evil32.dll.",
            "C:\\Windows\\System32\\evil32.dll",
            Disposition.ACTOR,
        ),
        ("The update server 2.3.4.5 answered; version 2.3.4.5 is old.", "2.3.4.5", Disposition.ACTOR),
    ],
)
def test_dispositions_and_their_false_positives(text, value, disposition):
    found = {i.value: i for i in find_iocs(text)}
    assert found[value].disposition == disposition, found[value]


def test_ioc_table_rows_keep_their_columns_as_context():
    text = (
        "Table 2 lists the actor's command-and-control servers.\n\n| Type | Indicator | Comment |\n"
        "| --- | --- | --- |\n| IPv4 | 45.77.10[.]22 | Leased VPS; staging server |\n"
        "| Domain | telemetry-cdn[.]net | beacon endpoint |\n"
    )
    found = {i.value: i for i in find_iocs(text)}
    ip = found["45.77.10.22"]
    assert ip.evidence is not None and ip.evidence.text.startswith("| IPv4 | 45.77.10[.]22")
    assert ip.evidence.context == {"Type": "IPv4", "Comment": "Leased VPS; staging server"}
    assert ip.role == IocRole.DOWNLOAD
    assert found["telemetry-cdn.net"].role == IocRole.C2
    rows = Tables(text).rows
    assert len(rows) == 2 and rows[0].caption.startswith("Table 2")


def test_prose_is_not_a_table():
    assert Tables("A line with a | pipe.\nAnd a line without one.\n").rows == []
    assert Tables("a | b | c\nd | e\nf | g\n").rows == []  # cells do not line up with the first line


@pytest.mark.parametrize(
    ("context", "role"),
    [
        ("exfiltrated the archives to", IocRole.EXFILTRATION),
        ("spearphishing emails were sent from", IocRole.PHISHING),
        ("mass scanning originated from", IocRole.SCANNER),
        ("checked connectivity against", None),
        ("a plain sentence that says nothing about", None),
    ],
)
def test_role_cues(context, role):
    assert role_from(context + " VALUE", len(context) + 1) == role


def test_warning_list_data_file_names_real_lists():
    kinds = list_kinds()
    assert {"public-dns-v4", "rfc1918", "dynamic-dns", "tranco"} <= set(kinds)
    lists = warninglists()
    assert lists.host("update-check.badcdn.net") == []  # no false positive on an unknown name
    assert lists.address("185.220.101.45")  # hosting range noted ...
    assert all(h.kind == "hosting" for h in lists.address("185.220.101.45"))  # ... and nothing else
    assert "empty-hashes" in [h.name for h in lists.exact("d41d8cd98f00b204e9800998ecf8427e")]


def test_one_cve_extractor_for_iocs_and_entities(kb):
    text = "Exploits CVE-2021-26855, cve-2021-26855, CVE–2021–27065 and CVE-2023-1234567 (not CVE-2021-1)."
    doc = from_text(text)
    iocs = [i.value for i in find_iocs(text) if i.type == "cve"]
    entities = [c.id for c in find_entities(doc, kb).cves]
    assert sorted(iocs) == sorted(entities) == ["CVE-2021-26855", "CVE-2021-27065", "CVE-2023-1234567"]
    assert (find_cves(text)[0].id, find_cves(text)[0].count) == ("CVE-2021-26855", 2)


@pytest.mark.parametrize("suffix", ["md", "html", "docx", "pdf"])
def test_example_report_gives_the_same_actor_indicators_in_every_format(suffix):
    from pathlib import Path

    from ttpmap.ingest import load

    examples = Path(__file__).resolve().parents[1] / "examples"
    doc = load(examples / f"apt-exchange-intrusion.{suffix}")
    found = {i.value: i for i in find_iocs(doc.text, doc.sentences)}
    assert sum(1 for i in found.values() if i.actionable) == 27
    ip = found["45.77.10.22"]
    assert ip.role == IocRole.DOWNLOAD and ip.evidence is not None
    assert "staging server" in ip.evidence.text
    if suffix != "pdf":  # PDF text loses the table's columns
        assert ip.evidence.context.get("Context") == "Leased VPS; hosted the tool staging server"
    assert found["203.0.113.57"].disposition == Disposition.PRIVATE
    assert found["C:\\Windows\\System32\\comsvcs.dll"].disposition == Disposition.BENIGN
