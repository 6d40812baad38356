"""Sentence splitting on threat-report text: offsets, lists, tables, indicators, abbreviations, speed."""

from __future__ import annotations

import pytest

from ttpmap.text import MAX_SENTENCE_CHARS, split_sentences

REPORT = """APT99 targets the energy sector

In March 2024, APT99 sent spearphishing emails to the U.S. Department of Energy. The attachment \
dropped svchost.exe and install.sh into C:\\Temp. It then contacted hxxp://1.2.3[.]4/a.php and \
evil[.]com for version v2.1.3 of its loader.

Execution
The loader ran the following commands:
cmd.exe /c whoami & net user
powershell -nop -enc SQBFAFgA

- Initial access via phishing
- Persistence via Run keys
1. Collect credentials
2. Exfiltrate over HTTPS

Indicator | Type
evil[.]com | domain
10.1.2.3 | ipv4
"""


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def test_offsets_index_the_text_exactly_and_sentences_are_stripped() -> None:
    sentences = split_sentences(REPORT)
    assert len(sentences) == 15
    for s in sentences:
        assert REPORT[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
    starts = [s.start for s in sentences]
    assert starts == sorted(starts)


def test_report_sentences() -> None:
    assert texts(REPORT) == [
        "APT99 targets the energy sector",
        "In March 2024, APT99 sent spearphishing emails to the U.S. Department of Energy.",
        "The attachment dropped svchost.exe and install.sh into C:\\Temp.",
        "It then contacted hxxp://1.2.3[.]4/a.php and evil[.]com for version v2.1.3 of its loader.",
        "Execution",
        "The loader ran the following commands:",
        "cmd.exe /c whoami & net user",
        "powershell -nop -enc SQBFAFgA",
        "Initial access via phishing",
        "Persistence via Run keys",
        "Collect credentials",
        "Exfiltrate over HTTPS",
        "Indicator | Type",
        "evil[.]com | domain",
        "10.1.2.3 | ipv4",
    ]


def test_list_items_are_sentences_without_their_markers() -> None:
    text = "Tools used:\n- Mimikatz\n* PsExec\n• Cobalt Strike beacon\n1) AdFind\n2. nltest /dclist\n(3) net"
    assert texts(text) == [
        "Tools used:",
        "Mimikatz",
        "PsExec",
        "Cobalt Strike beacon",
        "AdFind",
        "nltest /dclist",
        "net",
    ]


def test_numbered_item_period_is_not_a_sentence_end() -> None:
    assert texts("1. The actor logged in. 2. It ran tools.") == ["The actor logged in.", "It ran tools."]


def test_table_rows_are_sentences_even_when_they_look_like_prose() -> None:
    text = "The table below lists indicators\nHash | Name\nabc123 | loader.dll\nend of table"
    assert texts(text) == [
        "The table below lists indicators",
        "Hash | Name",
        "abc123 | loader.dll",
        "end of table",
    ]


def test_blank_line_ends_a_paragraph_without_punctuation() -> None:
    assert texts("the first paragraph has no period\n\nthe second neither") == [
        "the first paragraph has no period",
        "the second neither",
    ]


def test_wrapped_prose_is_joined_but_headings_are_not() -> None:
    text = (
        "The actor used a custom loader that was delivered by a macro in a Word document and then\n"
        "decrypted its configuration with a hard-coded key, before it contacted the server at\n"
        "Microsoft Azure to fetch the second stage.\n"
        "Persistence\n"
        "A Run key launched the loader at every logon."
    )
    got = texts(text)
    assert len(got) == 3
    assert got[0].startswith("The actor used") and got[0].endswith("second stage.")
    assert got[1:] == ["Persistence", "A Run key launched the loader at every logon."]


@pytest.mark.parametrize(
    "sentence",
    [
        "The dropper ran cmd.exe /c whoami & net user /domain && ipconfig /all.",
        "It wrote svchost.exe, install.sh and payload.tar.gz to /tmp/.x/ before exit.",
        "Beacons went to 10.1.2.3, 192.168.0.254:8443 and 2001:db8::1 every 60 s.",
        "Defanged indicators were evil[.]com, hxxp://1.2.3[.]4/a.php and bad[.]example[.]org here.",
        "Domains such as login.microsoftonline.com.evil.net mimic real ones.",
        "Version v2.1.3 replaced 2.0.1 and build 10.0.19041.1 is affected.",
        "Payments of 3.5 BTC and $1,250.75 were demanded.",
        "Lateral tools, e.g. PsExec and WMI, i.e. built-in ones, were used.",
        "Tools like Mimikatz, Rubeus, etc. were found on the host.",
        "As shown in Fig. 3 and table No. 5, the loader checks the locale.",
        "It compared Windows vs. Linux builds from Acme Inc. and Foo Corp. with care.",
        "The U.S. Government and the U.K. NCSC attributed it to J. Smith and others.",
        "A path like C:\\Program Files\\App\\v1.2\\run.bat was used.",
    ],
)
def test_periods_inside_indicators_and_abbreviations_do_not_split(sentence: str) -> None:
    assert texts(sentence) == [sentence]


def test_etc_ends_a_sentence_when_a_capital_follows() -> None:
    assert texts("It used Mimikatz, Rubeus, etc. The next stage was a backdoor.") == [
        "It used Mimikatz, Rubeus, etc.",
        "The next stage was a backdoor.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He wrote "stop now." Then he left.', ['He wrote "stop now."', "Then he left."]),
        (
            "The loader is modular (see below.) It has 3 plugins.",
            ["The loader is modular (see below.)", "It has 3 plugins."],
        ),
        (
            "Was it APT99? Yes! It was 2024. 12 hosts fell.",
            ["Was it APT99?", "Yes!", "It was 2024.", "12 hosts fell."],
        ),
        ('It ended. "Quoted start" follows.', ["It ended.", '"Quoted start" follows.']),
        ("Wait... The end.", ["Wait...", "The end."]),
    ],
)
def test_split_after_punctuation_quotes_and_brackets(text: str, expected: list[str]) -> None:
    assert texts(text) == expected


def test_lower_case_after_period_does_not_split() -> None:
    assert texts("It beaconed to evil.com. then slept.") == ["It beaconed to evil.com. then slept."]


def test_long_sentences_are_cut_at_whitespace() -> None:
    text = " ".join(f"word{i}" for i in range(2000)) + "."
    sentences = split_sentences(text)
    assert len(sentences) > 1
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in sentences)
    assert all(text[s.start : s.end] == s.text for s in sentences)
    # Cut at whitespace: no word is split, and together the pieces hold every word.
    assert " ".join(s.text for s in sentences) == text


def test_a_giant_token_is_cut_hard() -> None:
    text = "A" * 3500
    sentences = split_sentences(text)
    assert [len(s.text) for s in sentences] == [1000, 1000, 1000, 500]
    assert "".join(s.text for s in sentences) == text


@pytest.mark.parametrize("text", ["", "   \n\n\t ", "----\n****\n| |"])
def test_nothing_to_split(text: str) -> None:
    assert split_sentences(text) == ()


def test_large_and_degenerate_inputs() -> None:
    # throughput is measured in benchmarks/extraction_speed.py, not here
    sentences = split_sentences(REPORT * 2000)
    assert len(sentences) == 15 * 2000
    junk = split_sentences(". " * 100_000 + "a. " * 100_000 + "\n" * 10_000 + " " * 100_000)
    assert all(len(s.text) <= 1000 for s in junk)
