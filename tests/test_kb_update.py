"""`kb update`: download official releases from an attack-stix-data layout, served on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from attack_bundles import enterprise_slice, to_stix21
from ttpmap.errors import KnowledgeBaseError, UsageError
from ttpmap.kb import embedded_bundle, load_kb
from ttpmap.kb.load import default_pointer, resolve_source
from ttpmap.kb.update import (
    DEFAULT_BASE_URL,
    _rebase,
    _releases_in_index,
    bundles_dir,
    current_default,
    list_releases,
    reset_default,
    resolve_base_url,
    update,
)

OFFICIAL = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master"


def _index(versions: list[str], domain_urls: bool = True) -> dict:
    def entries(domain: str, vs: list[str]) -> list[dict]:
        return [
            {
                "version": v,
                "url": f"{OFFICIAL}/{domain}-attack/{domain}-attack-{v}.json",
                "modified": "2030-01-01T00:00:00.000Z",
            }
            for v in vs
        ]

    return {
        "id": "5efbaa66-3660-4c8a-b76c-a3e4d925f9b6",
        "name": "MITRE ATT&CK",
        "description": "test mirror",
        "created": "2018-01-17T12:56:55.080000+00:00",
        "modified": "2030-01-01T00:00:00.000000+00:00",
        "collections": [
            {
                "id": "x-mitre-collection--1f5f1533-f617-4ca8-9ab4-6a02367fa019",
                "name": "Enterprise ATT&CK",
                "created": "2018-01-17T12:56:55.080Z",
                "versions": entries("enterprise", versions),
            },
            {
                "id": "x-mitre-collection--dac0d2d7-8653-445c-9bff-82f934c1e858",
                "name": "Mobile ATT&CK",
                "created": "2018-01-17T12:56:55.080Z",
                "versions": entries("mobile", ["99.5"]),
            },
        ],
    }


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving attack-stix-data look-alikes; yields its root URL.

    ``/good``: index.json (99.1 newest, listed out of order) and enterprise-attack-99.1.json in STIX 2.1.
    ``/junk``: an HTML page as index.json and release files that are not bundles.
    """
    root = tmp_path_factory.mktemp("mirror")
    good = root / "good"
    (good / "enterprise-attack").mkdir(parents=True)
    (good / "index.json").write_text(json.dumps(_index(["9.0", "99.1", "10.0"])))
    bundle = to_stix21(enterprise_slice(), "99.1")
    (good / "enterprise-attack" / "enterprise-attack-99.1.json").write_text(json.dumps(bundle))
    (good / "enterprise-attack" / "enterprise-attack-99.2.json").write_text(
        json.dumps(to_stix21(enterprise_slice(), "99.2"))
    )

    junk = root / "junk"
    (junk / "enterprise-attack").mkdir(parents=True)
    (junk / "index.json").write_text("<html><body>rate limited</body></html>")
    (junk / "enterprise-attack" / "enterprise-attack-99.3.json").write_text("<html>nope</html>")
    empty = {"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": []}
    (junk / "enterprise-attack" / "enterprise-attack-99.4.json").write_text(json.dumps(empty))
    (junk / "no-enterprise").mkdir()
    index = _index([])
    index["collections"] = index["collections"][1:]
    (junk / "no-enterprise" / "index.json").write_text(json.dumps(index))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("TTPMAP_CACHE", str(path))
    monkeypatch.delenv("TTPMAP_ATTACK_BASE_URL", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the local mirror must never go through a proxy
    return path


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_update_downloads_the_newest_release_and_makes_it_default(mirror: str, cache: Path) -> None:
    assert current_default() == "ATT&CK 15.0 (embedded)"
    kb = update(base_url=f"{mirror}/good")
    assert (kb.version, kb.info.spec_version) == ("99.1", "2.1")
    dest = bundles_dir() / "enterprise-attack-99.1.json"
    assert dest.is_file()
    assert kb.info.source == str(dest)
    assert json.loads(default_pointer().read_text()) == {"enterprise": str(dest.resolve())}
    assert load_kb().version == "99.1"
    assert "T1190" in load_kb().techniques
    assert current_default() == "ATT&CK 99.1 (enterprise-attack-99.1.json)"
    assert not list(bundles_dir().glob(".*"))  # no staging files left behind
    # other domains keep the embedded bundle
    assert resolve_source(None, "mobile") == str(embedded_bundle("mobile"))


def test_update_to_a_given_version(mirror: str, cache: Path) -> None:
    update(base_url=f"{mirror}/good")
    kb = update("99.2", base_url=f"{mirror}/good")
    assert kb.version == "99.2"
    assert load_kb().version == "99.2"
    assert sorted(p.name for p in bundles_dir().iterdir()) == [
        "enterprise-attack-99.1.json",
        "enterprise-attack-99.2.json",
    ]


def test_missing_version_fails_and_keeps_the_default(mirror: str, cache: Path) -> None:
    update(base_url=f"{mirror}/good")
    with pytest.raises(KnowledgeBaseError) as err:
        update("98.0", base_url=f"{mirror}/good")
    message = str(err.value)
    assert "\n" not in message
    assert f"{mirror}/good/enterprise-attack/enterprise-attack-98.0.json" in message
    assert "HTTP 404" in message
    assert message.endswith("keeping ATT&CK 99.1 (enterprise-attack-99.1.json)")
    assert load_kb().version == "99.1"
    assert not (bundles_dir() / "enterprise-attack-98.0.json").exists()


def test_base_url_from_the_environment(mirror: str, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTPMAP_ATTACK_BASE_URL", f"{mirror}/good/")
    assert resolve_base_url() == f"{mirror}/good"
    assert update().version == "99.1"


def test_junk_index_fails_cleanly(mirror: str, cache: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match=r"not valid JSON; keeping ATT&CK 15.0 \(embedded\)") as err:
        update(base_url=f"{mirror}/junk")
    assert "\n" not in str(err.value)
    assert not default_pointer().exists()


@pytest.mark.parametrize(("version", "cause"), [("99.3", "not valid JSON"), ("99.4", "no active enterprise")])
def test_junk_bundle_fails_cleanly_and_keeps_the_default(
    mirror: str, cache: Path, version: str, cause: str
) -> None:
    update(base_url=f"{mirror}/good")
    with pytest.raises(KnowledgeBaseError, match=cause) as err:
        update(version, base_url=f"{mirror}/junk")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"ATT&CK {version} from {mirror}/junk/")
    assert message.endswith("keeping ATT&CK 99.1 (enterprise-attack-99.1.json)")
    assert load_kb().version == "99.1"
    assert [p.name for p in bundles_dir().iterdir()] == ["enterprise-attack-99.1.json"]


def test_index_without_the_domain_fails(mirror: str, cache: Path) -> None:
    with pytest.raises(KnowledgeBaseError, match="lists no enterprise releases"):
        update(base_url=f"{mirror}/junk/no-enterprise")


def test_unreachable_base_url_fails_in_one_line(mirror: str, cache: Path, closed_port_url: str) -> None:
    update(base_url=f"{mirror}/good")
    with pytest.raises(KnowledgeBaseError) as err:
        update(base_url=closed_port_url, timeout=5)
    message = str(err.value)
    assert "\n" not in message
    assert message == (
        f"cannot read the ATT&CK release index {closed_port_url}/index.json: ConnectionError; "
        "keeping ATT&CK 99.1 (enterprise-attack-99.1.json)"
    )
    with pytest.raises(
        KnowledgeBaseError, match=r"cannot download ATT&CK 97.0 from .*: ConnectionError; keeping"
    ):
        update("97.0", base_url=closed_port_url, timeout=5)
    assert load_kb().version == "99.1"


def test_unreachable_when_nothing_was_downloaded_names_the_embedded_bundle(
    cache: Path, closed_port_url: str
) -> None:
    with pytest.raises(KnowledgeBaseError, match=r"keeping ATT&CK 15.0 \(embedded\)$"):
        update("18.1", base_url=closed_port_url, timeout=5)
    assert not default_pointer().exists()


def test_a_silent_server_times_out(cache: Path) -> None:
    with socket.socket() as sock:  # accepts connections (backlog) but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(KnowledgeBaseError, match="ReadTimeout; keeping"):
            update("18.1", base_url=url, timeout=0.3)


def test_a_downloaded_release_is_reused_offline(mirror: str, cache: Path, closed_port_url: str) -> None:
    update("99.2", base_url=f"{mirror}/good")
    reset_default()
    kb = update("99.2", base_url=closed_port_url, timeout=5)
    assert kb.version == "99.2"
    assert load_kb().version == "99.2"


def test_a_broken_download_in_the_cache_is_fetched_again(mirror: str, cache: Path) -> None:
    bundles_dir().mkdir(parents=True)
    (bundles_dir() / "enterprise-attack-99.1.json").write_text("truncated {")
    assert update("99.1", base_url=f"{mirror}/good").version == "99.1"


def test_reset_default_goes_back_to_the_embedded_bundle(mirror: str, cache: Path) -> None:
    update(base_url=f"{mirror}/good")
    default_pointer().write_text(
        json.dumps({**json.loads(default_pointer().read_text()), "mobile": str(bundles_dir() / "m.json")})
    )
    reset_default("enterprise")
    assert resolve_source(None, "enterprise") == str(embedded_bundle("enterprise"))
    assert "enterprise" not in json.loads(default_pointer().read_text())
    reset_default("mobile")
    assert not default_pointer().exists()
    reset_default("ics")  # nothing to forget
    assert current_default() == "ATT&CK 15.0 (embedded)"


def test_bad_arguments_are_usage_errors(cache: Path) -> None:
    with pytest.raises(UsageError, match="not an ATT&CK release number"):
        update("../../etc/passwd", base_url="http://127.0.0.1:1")
    with pytest.raises(UsageError, match="unknown ATT&CK domain"):
        update("17.1", domain="cloud")
    with pytest.raises(UsageError, match="must be http"):
        update("17.1", base_url="file:///etc")
    with pytest.raises(UsageError):
        reset_default("cloud")


def test_version_prefix_v_is_accepted(mirror: str, cache: Path) -> None:
    assert update("v99.2", base_url=f"{mirror}/good").version == "99.2"


def test_list_releases_sorts_numerically_and_rebases(mirror: str, cache: Path) -> None:
    releases = list_releases(base_url=f"{mirror}/good")
    assert [v for v, _ in releases] == ["9.0", "10.0", "99.1"]
    assert releases[-1][1] == f"{mirror}/good/enterprise-attack/enterprise-attack-99.1.json"
    assert list_releases("mobile", base_url=f"{mirror}/good") == [
        ("99.5", f"{mirror}/good/mobile-attack/mobile-attack-99.5.json")
    ]


def test_index_parsing_edge_cases() -> None:
    base = "http://mirror.test/attack"
    index = {
        "collections": [
            {"name": "Enterprise ATT&CK", "versions": [{"version": "8.2"}, {"version": "latest"}, "junk"]},
            {
                "name": "Something else",
                "versions": [{"version": "1.0", "url": "enterprise-attack/x-1.0.json"}],
            },
            {
                "name": "ICS ATT&CK",
                "versions": [{"version": "18.1", "url": "https://elsewhere.test/ics.json"}],
            },
            "junk",
        ]
    }
    assert _releases_in_index(index, "enterprise", base) == [
        ("1.0", f"{base}/enterprise-attack/x-1.0.json"),
        ("8.2", f"{base}/enterprise-attack/enterprise-attack-8.2.json"),
    ]
    assert _releases_in_index(index, "ics", base) == [("18.1", "https://elsewhere.test/ics.json")]
    assert _releases_in_index({"collections": {}}, "enterprise", base) == []
    assert _releases_in_index([], "enterprise", base) == []


def test_rebase_keeps_the_path_below_the_repository() -> None:
    base = "http://127.0.0.1:8000/mirror"
    assert _rebase(f"{OFFICIAL}/enterprise-attack/enterprise-attack-18.1.json", base) == (
        f"{base}/enterprise-attack/enterprise-attack-18.1.json"
    )
    main = (
        "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/main/ics-attack/ics-attack-9.0.json"
    )
    assert _rebase(main, base) == f"{base}/ics-attack/ics-attack-9.0.json"
    assert _rebase(main, DEFAULT_BASE_URL) == f"{DEFAULT_BASE_URL}/ics-attack/ics-attack-9.0.json"
    assert _rebase("enterprise-attack/enterprise-attack-1.0.json", base) == (
        f"{base}/enterprise-attack/enterprise-attack-1.0.json"
    )


def test_default_base_url_is_mitres_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TTPMAP_ATTACK_BASE_URL", raising=False)
    assert resolve_base_url() == OFFICIAL
    assert resolve_base_url("http://127.0.0.1:9/x/") == "http://127.0.0.1:9/x"


def test_attack_option_loads_a_bundle_from_a_url(mirror: str, cache: Path) -> None:
    url = f"{mirror}/good/enterprise-attack/enterprise-attack-99.2.json"
    kb = load_kb(url)
    assert (kb.version, kb.info.source) == ("99.2", url)
    assert load_kb().version == "15.0"  # a one-off --attack URL does not change the default


def test_attack_option_with_a_bad_url_is_one_clear_error(mirror: str, cache: Path) -> None:
    with pytest.raises(KnowledgeBaseError) as err:
        load_kb(f"{mirror}/good/enterprise-attack/enterprise-attack-0.1.json")
    assert "404" in str(err.value) and "\n" not in str(err.value)
