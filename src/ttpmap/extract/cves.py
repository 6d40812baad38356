"""The one CVE extractor, used by the indicator list and the named entities alike."""

from __future__ import annotations

import re

from ttpmap.models import CVERef

# "CVE-2021-26855", "cve 2021-26855", "CVE–2021–26855" (en dash from PDFs); the ID has 4 to 7 digits
_CVE = re.compile(r"(?<![A-Za-z0-9])CVE[-‐‑–—\s]{1,2}(\d{4})[-‐‑–—]{1,2}(\d{4,7})(?!\d)", re.IGNORECASE)


def cve_mentions(text: str) -> dict[str, list[tuple[int, int]]]:
    """Each CVE ID in ``text`` (upper case, in order of first mention) with the spans of its mentions."""
    out: dict[str, list[tuple[int, int]]] = {}
    for m in _CVE.finditer(text):
        out.setdefault(f"CVE-{m.group(1)}-{m.group(2)}", []).append(m.span())
    return out


def find_cves(text: str) -> list[CVERef]:
    """The CVE IDs ``text`` cites with their mention counts, most mentioned first, then by ID."""
    counts = {cve: len(spans) for cve, spans in cve_mentions(text).items()}
    return [CVERef(id=c, count=n) for c, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]
