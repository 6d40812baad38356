"""Finding candidate indicators: ioc-finder parses and refangs; this module batches the text so that
ioc-finder stays fast on long reports and blobs, takes over the path and registry grammars, drops what
ioc-finder over-reports (file names as domains, prose swallowed into paths, credentials as mailboxes)
and counts each value where it stands on its own. CVEs come from ``extract/cves.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ioc_finder import find_iocs as _ioc_finder
from ioc_finder import prepare_text as _fang

from ttpmap.extract.iocs.names import is_file_name, is_non_domain
from ttpmap.extract.iocs.scan import Found, Scan
from ttpmap.extract.iocs.validation import (
    REGISTRY_RE,
    UNIX_PATH_RE,
    WINDOWS_PATH_RE,
    keep_file_path,
    normalise,
    trim_path,
)
from ttpmap.models import IocType

# ioc-finder key -> our type. ATT&CK IDs (attack_ids.py), CVEs (cves.py) and TLP labels (a document
# marking, not an indicator) are left out.
_TYPE_NAMES: dict[str, IocType] = {
    "ipv4s": IocType.IPV4,
    "ipv4_cidrs": IocType.IPV4_CIDR,
    "ipv6s": IocType.IPV6,
    "ipv6_cidrs": IocType.IPV6_CIDR,
    "socket_addresses": IocType.SOCKET_ADDRESS,
    "domains": IocType.DOMAIN,
    "urls": IocType.URL,
    "urls_complete": IocType.URL,
    "email_addresses": IocType.EMAIL,
    "email_addresses_complete": IocType.EMAIL,
    "xmpp_addresses": IocType.XMPP_ADDRESS,
    "md5s": IocType.MD5,
    "sha1s": IocType.SHA1,
    "sha256s": IocType.SHA256,
    "sha512s": IocType.SHA512,
    "imphashes": IocType.IMPHASH,
    "authentihashes": IocType.AUTHENTIHASH,
    "ssdeeps": IocType.SSDEEP,
    "registry_key_paths": IocType.REGISTRY_KEY,
    "file_paths": IocType.FILE_PATH,
    "asns": IocType.ASN,
    "mac_addresses": IocType.MAC_ADDRESS,
    "user_agents": IocType.USER_AGENT,
    "bitcoin_addresses": IocType.BITCOIN_ADDRESS,
    "monero_addresses": IocType.MONERO_ADDRESS,
    "google_analytics_tracker_ids": IocType.GOOGLE_ANALYTICS_ID,
    "google_adsense_publisher_ids": IocType.GOOGLE_ADSENSE_ID,
}

# The "complete" URL/e-mail grammars are slow and, on base64 blobs, quadratic; the main pass runs the
# narrow ones and the complete ones run only on lines that need them (userinfo URLs, quoted locals).
_COMPLETE_TYPES = ["urls_complete", "email_addresses_complete"]
_MAIN_TYPES = [k for k in _TYPE_NAMES if k not in _COMPLETE_TYPES]
_NEEDS_COMPLETE = re.compile(r"://[^\s/@]+@|[\")]@")

# ---- splitting and pre-filtering ------------------------------------------------------------------
# ioc-finder's cost is per candidate and some grammars degrade on very long whitespace-free runs, so
# the text is cut at paragraph boundaries, runs longer than _MAX_RUN (blobs) are dropped, and only
# pieces that could hold an indicator are parsed, in batches of about _BATCH characters.
_MAX_PIECE = 8000
_MAX_RUN = 2048
_BATCH = 16000
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_LONG_RUN = re.compile(r"\S{" + str(_MAX_RUN + 1) + ",}")
_RUN_SEPARATORS = re.compile(r"[,;|]+")
# A superset of what any enabled ioc-finder type (after its refanging) can start from.
_MAY_HOLD_IOC = re.compile(
    r"\w\.\w|[\[({<]\s{0,3}(?:\.|,|:|dot|punto|punkt|at|et|@|arroba|www|-|https?|/)\s{0,3}[\])}>]"
    r"|dot|punto|punkt|@|\\|/|\w:\w|::|[0-9a-f]{2}-[0-9a-f]{2}-|[a-z0-9]{25}|cve|as\s*n?\s*\d"
    r"|pub-\d|ua-\d|xxxx|\^|\d,\d",
    re.IGNORECASE,
)
_MAY_HOLD_IOC_CASED = re.compile(r"DOT|AT|ET|ARROBA|h[xA-Z]{2}ps?")


def _drop_blobs(piece: str) -> str:
    def shorten(m: re.Match[str]) -> str:
        parts = _RUN_SEPARATORS.split(m.group())
        return " ".join(p for p in parts if len(p) <= _MAX_RUN)

    return _LONG_RUN.sub(shorten, piece) if len(piece) > _MAX_RUN else piece


Piece = tuple[int, int, str]  # the span of the text it comes from, and the text to parse


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        yield start, m.start()
        start = m.end()
    yield start, len(text)


def _pieces(text: str) -> Iterator[Piece]:
    for start, end in _paragraphs(text):
        para = text[start:end]
        if len(para) <= _MAX_PIECE:
            yield start, end, _drop_blobs(para)
            continue
        offset = start
        for raw_line in para.splitlines(keepends=True):
            line_start, offset = offset, offset + len(raw_line)
            line = _drop_blobs((raw_line.splitlines() or [""])[0])
            while len(line) > _MAX_PIECE:
                cut = line.rfind(" ", 0, _MAX_PIECE)
                cut = cut if cut > 0 else _MAX_PIECE
                yield line_start, offset, line[:cut]
                line = line[cut:]
            yield line_start, offset, line


def _batches(text: str) -> Iterator[list[Piece]]:
    buf: list[Piece] = []
    size = 0
    for piece in _pieces(text):
        if not (_MAY_HOLD_IOC.search(piece[2]) or _MAY_HOLD_IOC_CASED.search(piece[2])):
            continue
        buf.append(piece)
        size += len(piece[2]) + 2
        if size >= _BATCH:
            yield buf
            buf, size = [], 0
    if buf:
        yield buf


# Whatever ioc_fanger would rewrite (a superset); pieces without any are their own refanged form,
# which spares refanging most prose a second time.
_B = r"[\[\](){}<>]"
_DEFANGED = re.compile(
    rf"{_B}\s{{0,3}}[.,:]\s{{0,3}}{_B}|{_B}\s{{0,3}}(?:dot|punto|punkt)|(?:dot|punto|punkt)\s{{0,3}}{_B}"
    r"|-(?:dot|punto|punkt)-|[\[(]\s{0,3}(?:://|www|htt)|(?:www|https?)\s{0,3}[\])]|\[-\]|:///|://\s"
    r"|:\s+//|https?/|https?\s+:|xxxx|\s@\s|\d,\d{1,3},\d|\\/|\^|\\\.",
    re.IGNORECASE,
)
_DEFANGED_CASED = re.compile(
    rf"{_B}\s{{0,3}}(?:@|at|et|arroba|AT|ET|ARROBA)|(?:@|at|et|arroba|AT|ET|ARROBA)\s{{0,3}}{_B}"
    r"|DOT|[a-z] *(?:AT|ET|ARROBA) *[a-z]|h[xA-Z]{2}p"
)


def _refang(piece: str) -> str:
    return _fang(piece) if _DEFANGED.search(piece) or _DEFANGED_CASED.search(piece) else piece


def _drop_prefixes(items: list[Found]) -> list[Found]:
    """Drop paths and keys that are truncations of a longer one found in the same text, and the ones
    ioc-finder reported but that do not occur as written."""
    values = sorted({i.value.lower() for i in items if i.located})
    truncated: set[str] = set()
    for k, short in enumerate(values):
        for longer in values[k + 1 :]:
            if not longer.startswith(short):
                break
            if longer[len(short)] in "\\/.-_ ":
                truncated.add(short)
                break
    return [i for i in items if i.located and i.value.lower() not in truncated]


def find_candidates(text: str) -> list[Found]:
    """Candidate indicators of ``text`` (refanged, normalised, deduplicated case-insensitively, counted),
    ordered by type (``IocType`` order) then first occurrence."""
    scan = Scan()
    for pieces in _batches(text):
        raws = [p for _, _, p in pieces]
        batch_text = "\n\n".join(raws)
        b = scan.add_batch(raws, [_refang(p) for p in raws], [(s, e) for s, e, _ in pieces])
        raw = _ioc_finder(batch_text, included_ioc_types=_MAIN_TYPES)
        complete_lines = [line for line in batch_text.splitlines() if _NEEDS_COMPLETE.search(line)]
        if complete_lines:
            extra = _ioc_finder("\n".join(complete_lines), included_ioc_types=_COMPLETE_TYPES)
            raw = {**raw, **extra}
        for key, values in raw.items():
            ioc_type = _TYPE_NAMES.get(key)
            if ioc_type is None or not isinstance(values, list):
                continue
            for value in values:
                if ioc_type == IocType.FILE_PATH and not keep_file_path(value):
                    continue
                if ioc_type == IocType.REGISTRY_KEY and not REGISTRY_RE.fullmatch(value):
                    continue
                norm = normalise(ioc_type, value)
                if norm:
                    scan.record(b, ioc_type, norm)
        for regex, ioc_type in (
            (REGISTRY_RE, IocType.REGISTRY_KEY),
            (WINDOWS_PATH_RE, IocType.FILE_PATH),
            (UNIX_PATH_RE, IocType.FILE_PATH),
        ):
            for m in regex.finditer(batch_text):
                value = trim_path(m.group())
                if (
                    ioc_type == IocType.FILE_PATH
                    and value.count("\\") + value.count("/") < 2
                    and "." not in value
                ):
                    continue  # "C:\Windows", "~/x" on its own say little
                scan.record(b, ioc_type, value)
    return _finish(scan)


_TYPE_RANK = {t: i for i, t in enumerate(IocType)}


def _finish(scan: Scan) -> list[Found]:
    by_type: dict[IocType, list[Found]] = {}
    for item in scan.found.values():
        by_type.setdefault(item.ioc_type, []).append(item)
    for ioc_type in (IocType.FILE_PATH, IocType.REGISTRY_KEY):
        if ioc_type in by_type:
            by_type[ioc_type] = _drop_prefixes(by_type[ioc_type])
    paths = [i.value for i in by_type.get(IocType.FILE_PATH, [])]
    if IocType.DOMAIN in by_type:
        by_type[IocType.DOMAIN] = [
            i
            for i in by_type[IocType.DOMAIN]
            if not is_file_name(i, scan, paths) and not is_non_domain(i, scan)
        ]
    if IocType.EMAIL in by_type and IocType.URL in by_type:
        # "user:pass@host" in a URL is credentials, not a mailbox
        userinfo = [u.value.lower() for u in by_type[IocType.URL] if "@" in u.value]
        by_type[IocType.EMAIL] = [
            e
            for e in by_type[IocType.EMAIL]
            if not any(f":{e.value}" in u or f"//{e.value}" in u for u in userinfo)
        ]
    if IocType.URL in by_type:
        urls = by_type[IocType.URL]
        # a narrow-grammar URL that only exists inside a complete one ("pass@host/x")
        by_type[IocType.URL] = [
            u for u in urls if u.located or not any(o.value != u.value and u.value in o.value for o in urls)
        ]
    out: list[Found] = []
    for ioc_type in sorted(by_type, key=lambda t: _TYPE_RANK[t]):
        seen: set[str] = set()
        for item in sorted(by_type[ioc_type], key=lambda i: (i.first, i.value)):
            key = item.value.lower()
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out
