"""Indicator extraction: refanging, display forms, the filters that keep prose out, counts and order."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

import pytest

from ttpmap.defang import defang
from ttpmap.extract.iocs import IOC_TYPES, find_iocs
from ttpmap.models import Indicator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def values(text: str, ioc_type: str) -> list[str]:
    return [i.value for i in find_iocs(text) if i.type == ioc_type]


def one(text: str, ioc_type: str, value: str) -> Indicator:
    matches = [i for i in find_iocs(text) if i.type == ioc_type and i.value == value]
    assert len(matches) == 1, find_iocs(text)
    return matches[0]


@pytest.mark.parametrize(
    ("text", "ioc_type", "value"),
    [
        ("beacon to hxxps://evil[.]com/gate.php now", "url", "https://evil.com/gate.php"),
        ("beacon to hXXp://evil[.]com/a now", "url", "http://evil.com/a"),
        ("see hxxp[:]//bad[.]ru/p", "url", "http://bad.ru/p"),
        ("resolves evil[.]com daily", "domain", "evil.com"),
        ("resolves evil(.)com daily", "domain", "evil.com"),
        ("resolves evil{.}com daily", "domain", "evil.com"),
        ("resolves evil[dot]com daily", "domain", "evil.com"),
        ("resolves www[.]evil[.]org daily", "domain", "www.evil.org"),
        ("C2 at 1.2.3[.]4 over 443", "ipv4", "1.2.3.4"),
        ("C2 at 8[.]8[.]4[.]4 over 443", "ipv4", "8.8.4.4"),
        ("from user[@]evil[.]com today", "email", "user@evil.com"),
        ("from admin[at]bad[.]net today", "email", "admin@bad.net"),
        ("from Bob.Smith@Evil-Corp.com today", "email", "bob.smith@evil-corp.com"),
    ],
)
def test_refangs_common_defang_styles(text: str, ioc_type: str, value: str) -> None:
    assert value in values(text, ioc_type)


@pytest.mark.parametrize(
    ("value", "ioc_type", "shown"),
    [
        ("https://evil.com/a", "url", "hxxps://evil[.]com/a"),
        ("http://1.2.3.4/panel", "url", "hxxp://1.2.3[.]4/panel"),
        ("http://user:pw@evil.com:8080/x", "url", "hxxp://user:pw[@]evil[.]com:8080/x"),
        ("evil.com/path/x.php", "url", "evil[.]com/path/x.php"),
        ("sub.evil.com", "domain", "sub[.]evil[.]com"),
        ("1.2.3.4", "ipv4", "1.2.3[.]4"),
        ("10.0.0.0/8", "ipv4_cidr", "10.0.0[.]0/8"),
        ("2001:db8::1", "ipv6", "2001[:]db8[:][:]1"),
        ("user@evil.com", "email", "user[@]evil[.]com"),
        ("d41d8cd98f00b204e9800998ecf8427e", "md5", "d41d8cd98f00b204e9800998ecf8427e"),
        ("C:\\Windows\\Temp\\a.exe", "file_path", "C:\\Windows\\Temp\\a.exe"),
        ("HKCU\\Software\\Run", "registry_key", "HKCU\\Software\\Run"),
    ],
)
def test_defang_display_forms(value: str, ioc_type: str, shown: str) -> None:
    assert defang(value, ioc_type) == shown


def test_indicators_carry_value_display_form_and_count() -> None:
    url = one(
        "Payload from hxxps://evil[.]com/a and again hxxps://evil[.]com/a.", "url", "https://evil.com/a"
    )
    assert url.defanged == "hxxps://evil[.]com/a"
    assert url.model_dump()["count"] == 2
    domain = one("Payload from hxxps://evil[.]com/a and again hxxps://evil[.]com/a.", "domain", "evil.com")
    assert domain.model_dump()["count"] == 2  # the domain of a URL is its own indicator


@pytest.mark.parametrize(
    "text",
    [
        "The actor compressed the data into archive.zip before exfiltration.",
        "It ran install.sh to fetch the miner.",
        "The dropper wrote /tmp/.x/install.sh and ran it.",
        "A renamed svchost.exe and error.aspx were found with report.pdf and config.json.",
        "See README.md for details and the helper main.py.",
        "The attachment invoice.one carried the script.",
        "Outputs were saved to C:\\Users\\Public\\Documents\\update.zip by the tool.",
        "It loaded Microsoft.Exchange.WebServices.dll and System.Management.Automation.dll.",
        "A flaw in an ASP.NET component and VB.NET code.",
        "Binaries under C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe were abused.",
        "The app requested Mail.Read and used com.apple.loginwindow plists.",
    ],
)
def test_file_and_product_names_are_not_domains(text: str) -> None:
    assert values(text, "domain") == []


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("Data was uploaded to transfer.sh by the operators.", "transfer.sh"),
        ("Phishing pages were hosted at hxxps://microsoft-update[.]zip/login.", "microsoft-update.zip"),
        ("The C2 evil.app answered on port 443.", "evil.app"),
        ("Traffic went to mega.nz.", "mega.nz"),
    ],
)
def test_real_domains_with_file_like_tlds_are_kept(text: str, domain: str) -> None:
    assert domain in values(text, "domain")


def test_hashes_of_each_length() -> None:
    md5 = "D41D8CD98F00B204E9800998ECF8427E"
    sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    sha512 = (
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        + "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    )
    text = f"Hashes: MD5 {md5}, SHA-1 {sha1}, SHA-256 {sha256} and SHA-512 {sha512}."
    found = {i.type: i.value for i in find_iocs(text)}
    assert found["md5"] == md5.lower()
    assert found["sha1"] == sha1
    assert found["sha256"] == sha256
    assert found["sha512"] == sha512
    assert one(text, "sha256", sha256).defanged == sha256


def test_registry_keys() -> None:
    text = (
        "It set HKCU\\Software\\Classes\\ms-settings\\shell\\open\\command and "
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\evil and then "
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\sethc.exe. "
        "Later: reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\WDigest "
        "/v UseLogonCredential."
    )
    assert values(text, "registry_key") == [
        "HKCU\\Software\\Classes\\ms-settings\\shell\\open\\command",
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\evil",
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options\\sethc.exe",
        "HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\WDigest",
    ]


def test_windows_and_unix_paths() -> None:
    text = (
        "Dropped C:\\Windows\\Temp\\pd64.exe and "
        "C:\\Program Files (x86)\\Microsoft Office\\root\\WINWORD.EXE, "
        "then %APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.lnk and \\\\fs01\\c$\\x.exe. "
        "On Linux it wrote /etc/cron.d/evil.sh, /var/tmp/.x/kworker and ~/.ssh/authorized_keys. "
        "It was copied to C:\\ProgramData\\ and executed via rundll32.exe."
    )
    assert values(text, "file_path") == [
        "C:\\Windows\\Temp\\pd64.exe",
        "C:\\Program Files (x86)\\Microsoft Office\\root\\WINWORD.EXE",
        "%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.lnk",
        "\\\\fs01\\c$\\x.exe",
        "/etc/cron.d/evil.sh",
        "/var/tmp/.x/kworker",
        "~/.ssh/authorized_keys",
    ]
    assert values(text, "domain") == []  # evil.sh is a file in a path


def test_command_lines_are_not_paths() -> None:
    text = (
        'schtasks /create /tn "\\Microsoft\\Windows\\Update" /tr "powershell.exe -nop" '
        "and nltest /dclist:corp.local"
    )
    assert values(text, "file_path") == []


def test_emails_and_userinfo() -> None:
    text = "Mail from billing@ledger-invoices.com and ftp://user:pass@files.example.org/drop/ was used."
    assert values(text, "email") == ["billing@ledger-invoices.com"]
    assert values(text, "url") == ["ftp://user:pass@files.example.org/drop/"]


def test_ip_addresses_keep_private_ranges_marked() -> None:
    text = "Hosts 45.77.10.22, 10.1.2.3, 192.0.2.201 and 2001:4860:4860::8888, fe80::1 and 10.0.0.5:8080."
    found = {(i.type, i.value): i.model_dump() for i in find_iocs(text)}
    assert found[("ipv4", "45.77.10.22")]["private"] is False
    assert found[("ipv4", "10.1.2.3")]["private"] is True
    assert found[("ipv4", "192.0.2.201")]["private"] is True  # documentation range: not routable
    assert found[("ipv6", "2001:4860:4860::8888")]["private"] is False
    assert found[("ipv6", "fe80::1")]["private"] is True
    assert found[("socket_address", "10.0.0.5:8080")]["private"] is True


def test_ipv6_is_normalised() -> None:
    assert values("Seen from 2001:DB8:0:0::1 twice.", "ipv6") == ["2001:db8::1"]


def test_cves_are_deduplicated_and_upper_case() -> None:
    text = "Exploits CVE-2021-26855, cve-2021-26855 and CVE-2021-27065."
    cves = [i for i in find_iocs(text) if i.type == "cve"]
    assert [(c.value, c.model_dump()["count"]) for c in cves] == [
        ("CVE-2021-26855", 2),
        ("CVE-2021-27065", 1),
    ]


def test_dedup_counts_and_order() -> None:
    text = (
        "First evil.com, then 1.2.3.4, then other.net and EVIL.com again; "
        "d41d8cd98f00b204e9800998ecf8427e and 9.9.9.9 and evil.com."
    )
    found = find_iocs(text)
    assert [(i.type, i.value) for i in found] == [
        ("ipv4", "1.2.3.4"),
        ("ipv4", "9.9.9.9"),
        ("domain", "evil.com"),
        ("domain", "other.net"),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ]
    assert found[2].model_dump()["count"] == 3
    ranks = [IOC_TYPES.index(i.type) for i in found]
    assert ranks == sorted(ranks)
    assert find_iocs(text) == found  # deterministic


def test_url_trailing_punctuation_and_markup() -> None:
    text = (
        "See http://evil.com/a. Also (https://evil.com/b), **https://evil.com/c** and <https://evil.com/d>."
    )
    assert values(text, "url") == [
        "http://evil.com/a",
        "https://evil.com/b",
        "https://evil.com/c",
        "https://evil.com/d",
    ]


def test_other_types() -> None:
    text = (
        "ASN AS13335, MAC 00:11:22:33:44:55, wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT and "
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq, UA Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36.\n"
        "Not a wallet: 1BoatSLRHtKNngkdXEeobR76b53LETtpyX."
    )
    found = {(i.type, i.value) for i in find_iocs(text)}
    assert ("asn", "ASN13335") in found
    assert ("mac_address", "00:11:22:33:44:55") in found
    assert ("bitcoin_address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT") in found
    assert ("bitcoin_address", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq") in found
    assert ("bitcoin_address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyX") not in found  # bad checksum
    ua = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0 Safari/537.36"
    )
    assert ("user_agent", ua) in found


def test_attack_ids_and_tlp_are_not_indicators() -> None:
    assert find_iocs("TLP:AMBER. The actor used T1059.001 (TA0002), mitigated by M1038.") == []


def test_empty_and_plain_text() -> None:
    assert find_iocs("") == []
    assert find_iocs("Nothing to see here, just prose about the weather.") == []


def test_blobs_do_not_stall() -> None:
    blob = base64.b64encode(random.Random(7).randbytes(300_000)).decode()
    found = find_iocs(f"payload:\n{blob}\nC2 evil[.]com")
    assert [i.value for i in found if i.type == "domain"] == ["evil.com"]


@pytest.mark.skipif(not (EXAMPLES / "expected.json").is_file(), reason="example reports not present")
def test_example_reports_indicator_tables_are_found() -> None:
    expected = json.loads((EXAMPLES / "expected.json").read_text(encoding="utf-8"))
    for name, truth in expected.items():
        path = EXAMPLES / str(truth.get("file", ""))
        if name.startswith("_") or "iocs" not in truth or not path.is_file():
            continue
        found = {(i.type, i.value.lower()) for i in find_iocs(path.read_text(encoding="utf-8"))}
        wanted = {(row["type"], row["value"].lower()) for row in truth["iocs"] if row["type"] in IOC_TYPES}
        assert wanted <= found, f"{name}: missing {sorted(wanted - found)}"
        found_values = {v for _, v in found}
        for bait in truth.get("not_iocs", []):
            token = bait.split(" (")[0].lower()
            if token in ("asp.net", "corvanta.local"):
                assert token not in found_values, f"{name}: {token} reported"
