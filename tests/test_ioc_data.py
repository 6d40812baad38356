"""The one defanger and the IOC word lists kept as data files: they load, and they do not catch what
they must not (false-positive checks)."""

from __future__ import annotations

import pytest

from ttpmap.defang import defang, defang_text, refang
from ttpmap.extract.iocs.disposition import _is_system_file, _reserved_kind, _standard_location
from ttpmap.lexicon import lines, words
from ttpmap.models import Indicator, IocRole, IocType

COMMON_TLDS = {"com", "net", "org", "io", "ru", "cn", "de", "uk", "info", "biz", "xyz", "top", "co"}


@pytest.mark.parametrize(
    ("value", "ioc_type", "shown"),
    [
        ("1.2.3.4", "ipv4", "1.2.3[.]4"),  # the one IPv4 style: last dot only
        ("evil.co.uk", "domain", "evil[.]co[.]uk"),
        ("https://1.2.3.4:8443/x", "url", "hxxps://1.2.3[.]4:8443/x"),
        ("1.2.3[.]4", "ipv4", "1.2.3[.]4"),  # idempotent
        ("hxxps://evil[.]com/a", "url", "hxxps://evil[.]com/a"),
        ("C:\\x\\a.exe", "file_path", "C:\\x\\a.exe"),
    ],
)
def test_defang_style_and_idempotence(value, ioc_type, shown):
    assert defang(value, ioc_type) == shown
    assert refang(shown) == refang(value)


def test_free_text_is_defanged():
    ioc = Indicator(type=IocType.DOMAIN, value="evil.com", defanged="evil[.]com")
    text = defang_text("Beacons to evil.com; see https://x.org and www.y.net.", [ioc])
    assert text == "Beacons to evil[.]com; see hxxps://x.org and www[.]y.net."


@pytest.mark.parametrize(
    "name",
    [
        "ioc/file_extensions",
        "ioc/file_first_tlds",
        "ioc/file_like_tlds",
        "ioc/file_words",
        "ioc/reverse_dns_labels",
        "ioc/system_files",
        "ioc/system_dirs",
        "ioc/not_ioc_cues",
    ],
)
def test_word_lists_load_lower_case(name):
    found = words(name)
    assert found and all(w == w.lower() for w in found)


def test_file_extensions_are_not_common_tlds():
    assert not words("ioc/file_extensions") & COMMON_TLDS
    assert not words("ioc/file_like_tlds") & COMMON_TLDS


def test_reserved_names_do_not_catch_real_domains():
    assert _reserved_kind("example.com") == "example"
    assert _reserved_kind("dc01.corp") == "internal"
    for real in ("example-cdn.net", "corp-mail.com", "local.ru", "notexample.com", "testbank.org"):
        assert _reserved_kind(real) is None, real


def test_system_files_need_a_system_directory():
    assert _is_system_file("C:\\Windows\\System32\\cmd.exe")
    assert _is_system_file("%SystemRoot%\\System32\\rundll32.exe")
    assert not _is_system_file("C:\\Users\\Public\\cmd.exe")  # masquerading copy: the actor's
    assert not _is_system_file("C:\\Windows\\System32\\evil32.dll")
    assert not _is_system_file("C:\\Windows\\Temp\\svchost.exe")


def test_standard_locations_are_exact():
    assert _standard_location(IocType.FILE_PATH, "C:\\ProgramData\\")
    assert _standard_location(IocType.REGISTRY_KEY, "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run")
    assert not _standard_location(IocType.FILE_PATH, "C:\\ProgramData\\mk.exe")
    assert not _standard_location(
        IocType.REGISTRY_KEY, "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\CredSync"
    )


def test_role_cue_file_names_valid_roles():
    for line in lines("ioc/roles"):
        role, _, cues = line.partition(":")
        assert cues.split(), line
        assert role == "none" or role in {r.value for r in IocRole}
