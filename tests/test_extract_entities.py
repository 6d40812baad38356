"""Groups, software and campaigns named in reports: aliases, the guard against everyday words, CVEs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ttpmap.extract.entities import find_entities
from ttpmap.ingest import from_text
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Document, Entities

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def make_doc(text: str) -> Document:
    return from_text(text, source="test.txt")


def named(text: str, kb: KnowledgeBase) -> set[str]:
    found = find_entities(make_doc(text), kb)
    return {r.id for r in found.groups + found.software + found.campaigns}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kryptonite Panda targeted shipbuilders in 2023.", {"G0065"}),
        ("The intrusion set TEMP.Periscope reused the same certificate.", {"G0065"}),
        ("Attributed with moderate confidence to APT40.", {"G0065"}),
        ("The actors used Cobalt Strike and Mimikatz on the domain controller.", {"S0154", "S0002"}),
        ("A China Chopper web shell and a PlugX sample were recovered.", {"S0020", "S0013"}),
        ("Several lures resembled those of Operation Dream Job.", {"C0022"}),
        ("Credential dumping relied on mimikatz and psexec.", {"S0002", "S0029"}),
        ("The Lazarus Group and HAFNIUM were both active.", {"G0032", "G0125"}),
        ("Explicit references: G0065, S0002 and C0022.", {"G0065", "S0002", "C0022"}),
    ],
)
def test_names_and_aliases(text: str, expected: set[str], kb: KnowledgeBase) -> None:
    assert named(text, kb) == expected


@pytest.mark.parametrize(
    "text",
    [
        "We used the net result of the survey.",
        "Ping me at noon about the report.",
        "At the time the server was not patched.",
        "The attack began at 02:14 local time.",
        "They avoided dropping a tool at all.",
        "The agent executed it at command line level.",
        "Logins came from staff at utility companies.",
        "The cutting edge of defence is patching.",
        "A cobalt blue patchwork of networks.",
        "The Royal Navy and the Ping Identity portal were unaffected.",
        "New-Object Net.WebClient downloaded the file over .NET and Net-NTLM hashes were relayed.",
        "The page returned an empty result; route traffic elsewhere.",
        "Files were uploaded via ftp://files.example.org/ and the /tor/ path.",
        "Expand the section below to see the page.",
    ],
)
def test_everyday_words_are_not_entities(text: str, kb: KnowledgeBase) -> None:
    assert named(text, kb) == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The actor ran `net user /domain` on the server.", {"S0039"}),
        ('They ran net group "Domain Admins" /domain and net view \\\\FS01 /all.', {"S0039"}),
        ("cmd.exe /c whoami was spawned by w3wp.exe.", {"S0106"}),
        ("Reachability was checked with ping -n 1 10.0.0.1.", {"S0097"}),
        ("The Ping utility was used for discovery.", {"S0097"}),
        ("reg add HKLM\\SYSTEM\\X /v Y /t REG_DWORD /d 1 persisted the change.", {"S0075"}),
        ("They scheduled at 13:00 /every:M cmd.exe /c c:\\x.bat on the host.", {"S0110", "S0106"}),
        ("The operators used the at command to schedule it.", {"S0110"}),
        ("The portal linked to a negotiation site on the Tor network.", {"S0183"}),
        ("We attribute the activity to the Equation group.", {"G0020"}),
        ("The operators used Patchwork infrastructure again.", {"G0040"}),
        ("Later the Cutting Edge campaign hit VPN appliances.", {"C0029"}),
        ("route print and netstat -ano listed the interfaces.", {"S0103", "S0104"}),
    ],
)
def test_everyday_words_with_supporting_context(text: str, expected: set[str], kb: KnowledgeBase) -> None:
    assert named(text, kb) == expected


def test_ambiguous_names_follow_their_keyword(kb: KnowledgeBase) -> None:
    assert named("Samples of the Machete malware were found.", kb) == {"S0409"}
    assert named("We track the Machete group since 2010.", kb) == {"G0095"}


def test_mentions_are_aggregated(kb: KnowledgeBase) -> None:
    text = (
        "Leviathan phished the targets. Later APT40 deployed China Chopper; "
        "China Chopper was found on two servers, then China Chopper again, and Mimikatz once."
    )
    found = find_entities(make_doc(text), kb)
    (group,) = found.groups
    assert (group.id, group.name, group.mention, group.count) == ("G0065", "Leviathan", "Leviathan", 2)
    assert (group.start, group.end) == (0, len("Leviathan"))
    assert [(r.name, r.count) for r in found.software] == [("China Chopper", 3), ("Mimikatz", 1)]
    first = found.software[0]
    assert text[first.start : first.end] == "China Chopper"
    assert first.start == text.index("China Chopper")


def test_a_short_name_proven_once_counts_everywhere(kb: KnowledgeBase) -> None:
    text = "Tor was used for C2. The portal ran on the Tor network."
    (tor,) = find_entities(make_doc(text), kb).software
    assert tor.count == 2


def test_cves(kb: KnowledgeBase) -> None:
    text = (
        "ProxyLogon (CVE-2021-26855, cve-2021-26855) and CVE-2021-27065; "
        "also CVE-2019-18935 twice: CVE-2019-18935."
    )
    cves = find_entities(make_doc(text), kb).cves
    assert [(c.id, c.count) for c in cves] == [
        ("CVE-2019-18935", 2),
        ("CVE-2021-26855", 2),
        ("CVE-2021-27065", 1),
    ]


def test_empty_document(kb: KnowledgeBase) -> None:
    assert find_entities(make_doc(""), kb) == Entities()


# Three paragraphs written for this test in the style of vendor reporting; every entity they name is
# listed below, so any extra is a false positive.
REPORT = """\
In March the group we track as Mustang Panda sent spearphishing emails with ZIP attachments to
ministries in South-East Asia. Each archive held a signed executable that side-loaded a PlugX
loader; at the time of writing the C2 servers were still live. The operators used net view and
net use to find shares, and ran `ipconfig /all` and `systeminfo` on every host they reached. We
saw no use of Cobalt Strike in this cluster, which sets it apart from the APT41 activity we reported
in January.

A second intrusion, at a logistics company, began with exploitation of a Citrix appliance. Within an
hour the actor dropped Mimikatz, dumped LSASS and moved with PsExec. Data was staged with WinRAR and
sent to MEGA with Rclone. The ransomware deployed at the end, Black Basta, deleted shadow copies
with vssadmin. Net result: 40 servers encrypted and a week of downtime. At one point the operators
pinged the backup server to check it was up, and later they used the Tor browser to reach a
negotiation page.

Detection advice: monitor for route print, for reg save of the SAM hive and for AdFind queries.
These steps are common to many crews, so they do not on their own point to Wizard Spider or any
other group. Expand logging on domain controllers and review it at least weekly.
"""

REPORT_ENTITIES = {
    "G0129",  # Mustang Panda
    "S0013",  # PlugX
    "S0039",  # Net (net view / net use)
    "S0100",  # ipconfig
    "S0096",  # Systeminfo
    "S0154",  # Cobalt Strike (named, if only to say it was absent)
    "G0096",  # APT41
    "S0002",  # Mimikatz
    "S0029",  # PsExec
    "S1040",  # Rclone
    "S1070",  # Black Basta
    "S0103",  # route (route print)
    "S0075",  # Reg (reg save)
    "S0552",  # AdFind
    "G0102",  # Wizard Spider
    "S0183",  # Tor ("the Tor browser")
}


def test_realistic_prose_precision(kb: KnowledgeBase) -> None:
    found = named(REPORT, kb)
    assert found - REPORT_ENTITIES == set(), "false positives"
    assert REPORT_ENTITIES - found == set(), "missed"


def test_long_text_finds_every_repeat(kb: KnowledgeBase) -> None:
    # speed is measured in benchmarks/extraction_speed.py, not here
    copies = 100_000 // len(REPORT) + 1
    found = find_entities(make_doc(REPORT * copies), kb)
    assert {r.id for r in found.software} | {r.id for r in found.groups} >= REPORT_ENTITIES & {
        r for r in REPORT_ENTITIES if r.startswith(("S", "G"))
    }


@pytest.mark.skipif(not (EXAMPLES / "expected.json").is_file(), reason="example reports not present")
def test_example_reports(kb: KnowledgeBase) -> None:
    expected = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8"))
    for name, truth in expected.items():
        path = EXAMPLES / str(truth.get("file", ""))
        if name.startswith("_") or "groups" not in truth or not path.is_file():
            continue
        found = find_entities(make_doc(path.read_text(encoding="utf-8")), kb)
        assert {r.id for r in found.groups} == set(truth["groups"]), name
        software = {r.id for r in found.software}
        resolvable = {s for s in truth.get("software", []) if kb.get(s) is not None}
        assert resolvable <= software, name
        # Tor is named in the ransomware report ("a Tor hidden service") though the truth omits it
        allowed = set(truth.get("software", [])) | set(truth.get("software_acceptable", [])) | {"S0183"}
        assert software <= allowed, f"{name}: {sorted(software - allowed)}"
        assert {c.id for c in found.cves} == set(truth.get("cves", [])), name


def test_cue_word_lists_come_from_data_files() -> None:
    from ttpmap import lexicon

    for name in ("software_cues", "group_cues", "campaign_cues"):
        cues = lexicon.words(f"entities/{name}")
        assert cues and all(c.isalpha() for c in cues), name
    utilities = [line.partition(":")[0] for line in lexicon.lines("entities/subcommands")]
    assert utilities == ["net", "reg", "route", "netsh"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # false positives the cue lists must not create
        ("The net result of the operation was a loss for the team.", set()),
        ("Register the route in the add-on catalogue before the campaign.", set()),
        ("Our group reviewed the net figures and the regional team's plan.", set()),
        # a listed sub-command makes the bare utility name a command line
        ("The intruders ran net user /domain on the host.", {"S0039"}),
    ],
)
def test_cue_words_false_positives(text: str, expected: set[str], kb: KnowledgeBase) -> None:
    assert named(text, kb) == expected
