"""Download official ATT&CK releases from MITRE's attack-stix-data repository and make one the default.

Only ``ttpmap kb update`` reaches the network. A release is written to ``cache_dir()/bundles/``, loaded
once to prove it parses, and only then named in ``default-bundle.json``; any failure keeps the current
default and says so in one line.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ttpmap.config import DOMAINS, attack_base_url, cache_dir
from ttpmap.errors import KnowledgeBaseError, UsageError
from ttpmap.kb.load import (
    EMBEDDED_VERSION,
    _write_atomic,
    default_pointer,
    download_failure,
    fetch_url,
    guess_version,
    load_kb,
)
from ttpmap.kb.store import KnowledgeBase

DEFAULT_BASE_URL = "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master"
_OFFICIAL_HOST = "raw.githubusercontent.com"
_OFFICIAL_REPO = ("mitre-attack", "attack-stix-data")
_VERSION = re.compile(r"^\d{1,3}\.\d{1,3}$")
_COLLECTION_NAMES = {"enterprise": "enterprise att&ck", "mobile": "mobile att&ck", "ics": "ics att&ck"}


def resolve_base_url(override: str | None = None) -> str:
    """Where releases come from: the argument, else ``TTPMAP_ATTACK_BASE_URL``, else MITRE's repository."""
    url = override or attack_base_url() or DEFAULT_BASE_URL
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"ATT&CK base URL must be http(s): {url}")
    return url.rstrip("/")


def bundles_dir() -> Path:
    """Directory holding downloaded release bundles."""
    return cache_dir() / "bundles"


def release_url(version: str, domain: str = "enterprise", *, base: str | None = None) -> str:
    """URL of one release's bundle in an attack-stix-data layout."""
    return f"{resolve_base_url(base)}/{domain}-attack/{domain}-attack-{version}.json"


def list_releases(
    domain: str = "enterprise", *, base_url: str | None = None, timeout: float = 30
) -> list[tuple[str, str]]:
    """(version, url) of every release of a domain in the repository's ``index.json``, oldest first."""
    _check_domain(domain)
    base = resolve_base_url(base_url)
    index_url = f"{base}/index.json"
    try:
        index = json.loads(fetch_url(index_url, timeout))
    except KnowledgeBaseError as exc:
        raise KnowledgeBaseError(
            f"cannot read the ATT&CK release index {index_url}: {_reason(exc)}; {_keeping(domain)}"
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(
            f"the ATT&CK release index {index_url} is not valid JSON; {_keeping(domain)}"
        ) from exc
    releases = _releases_in_index(index, domain, base)
    if not releases:
        raise KnowledgeBaseError(
            f"the ATT&CK release index {index_url} lists no {domain} releases; {_keeping(domain)}"
        )
    return releases


def update(
    version: str | None = None,
    domain: str = "enterprise",
    *,
    base_url: str | None = None,
    timeout: float = 30,
) -> KnowledgeBase:
    """Download the newest (or the given) official release, verify it loads, and make it the default."""
    _check_domain(domain)
    base = resolve_base_url(base_url)
    if version is None:
        version, url = list_releases(domain, base_url=base, timeout=timeout)[-1]
    else:
        version = version.strip().lstrip("vV")
        if not _VERSION.match(version):
            raise UsageError(f"not an ATT&CK release number: {version!r} (expected e.g. 17.1)")
        url = release_url(version, domain, base=base)

    dest = bundles_dir() / f"{domain}-attack-{version}.json"
    kb = _verified(dest, domain)
    if kb is None:
        kb = _download(url, dest, version, domain, timeout)
    _set_default(domain, dest)
    return kb


def reset_default(domain: str = "enterprise") -> None:
    """Forget the downloaded default of a domain, so that the embedded v15.0 bundle is used again."""
    _check_domain(domain)
    pointer = default_pointer()
    entries = _pointer_entries()
    if entries.pop(domain, None) is None:
        return
    if entries:
        _write_atomic(pointer, json.dumps(entries, indent=2, sort_keys=True).encode())
    else:
        pointer.unlink(missing_ok=True)


def current_default(domain: str = "enterprise") -> str:
    """A short description of the bundle used when none is named: ``ATT&CK 15.0 (embedded)``."""
    path = _pointer_entries().get(domain)
    if isinstance(path, str) and Path(path).is_file():
        version = guess_version(path, embedded=False)
        return f"ATT&CK {version} ({Path(path).name})" if version != "unknown" else f"the bundle {path}"
    return f"ATT&CK {EMBEDDED_VERSION} (embedded)"


# ---- internals ---------------------------------------------------------------------------------------
def _check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise UsageError(f"unknown ATT&CK domain {domain!r}; choose one of {', '.join(DOMAINS)}")


def _keeping(domain: str) -> str:
    return f"keeping {current_default(domain)}"


def _reason(exc: KnowledgeBaseError) -> str:
    """The cause of a failed fetch or load, without the URL or path the message around it names."""
    return download_failure(exc.__cause__) if exc.__cause__ is not None else str(exc.args[0])


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _releases_in_index(index: object, domain: str, base: str) -> list[tuple[str, str]]:
    """The domain's (version, url) pairs in an attack-stix-data collection index, oldest first."""
    collections = index.get("collections") if isinstance(index, dict) else None
    if not isinstance(collections, list):
        return []
    found: dict[str, str] = {}
    for collection in collections:
        if not isinstance(collection, dict) or not isinstance(collection.get("versions"), list):
            continue
        name = str(collection.get("name", "")).strip().lower()
        versions = [v for v in collection["versions"] if isinstance(v, dict)]
        urls = [str(v.get("url", "")) for v in versions]
        folder = re.compile(rf"(?:^|/){domain}-attack/")
        if name != _COLLECTION_NAMES[domain] and not any(folder.search(u) for u in urls):
            continue
        for entry in versions:
            version = str(entry.get("version", "")).strip()
            if not _VERSION.match(version):
                continue
            url = str(entry.get("url") or "") or f"{domain}-attack/{domain}-attack-{version}.json"
            found[version] = _rebase(url, base)
    return sorted(found.items(), key=lambda item: _version_key(item[0]))


def _rebase(url: str, base: str) -> str:
    """Point an index URL at ``base``: the index names raw.githubusercontent.com even on a mirror."""
    parts = urlsplit(url)
    if not parts.scheme:
        return urljoin(base + "/", url)
    segments = parts.path.split("/")  # "", owner, repo, ref, path...
    if parts.netloc == _OFFICIAL_HOST and tuple(segments[1:3]) == _OFFICIAL_REPO and len(segments) > 4:
        return f"{base}/{'/'.join(segments[4:])}"
    return url


def _verified(path: Path, domain: str) -> KnowledgeBase | None:
    """The knowledge base in an already downloaded bundle, or None if it is absent or broken."""
    if not path.is_file():
        return None
    try:
        return load_kb(str(path), domain)
    except KnowledgeBaseError:
        return None


def _download(url: str, dest: Path, version: str, domain: str, timeout: float) -> KnowledgeBase:
    """Fetch a bundle next to ``dest``, load it, and only then move it into place."""
    try:
        raw = fetch_url(url, timeout)
    except KnowledgeBaseError as exc:
        raise KnowledgeBaseError(
            f"cannot download ATT&CK {version} from {url}: {_reason(exc)}; {_keeping(domain)}"
        ) from exc
    dest.parent.mkdir(parents=True, exist_ok=True)
    # the staging name carries the version, so a bundle without a collection object is still labelled
    staging = dest.with_name(f".{dest.name}.part")
    try:
        staging.write_bytes(raw)
        try:
            load_kb(str(staging), domain)
        except KnowledgeBaseError as exc:
            raise KnowledgeBaseError(
                f"ATT&CK {version} from {url} does not load ({exc.args[0]}); {_keeping(domain)}"
            ) from exc
        os.replace(staging, dest)
    except OSError as exc:
        raise KnowledgeBaseError(
            f"cannot store ATT&CK {version} in {dest.parent}: {exc.strerror}; {_keeping(domain)}"
        ) from exc
    finally:
        staging.unlink(missing_ok=True)
    return load_kb(str(dest), domain)


def _pointer_entries() -> dict[str, str]:
    try:
        data = json.loads(default_pointer().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _set_default(domain: str, bundle: Path) -> None:
    entries = _pointer_entries()
    entries[domain] = str(bundle.resolve())
    try:
        _write_atomic(default_pointer(), json.dumps(entries, indent=2, sort_keys=True).encode())
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot record the default ATT&CK bundle: {exc.strerror}") from exc
