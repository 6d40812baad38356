"""Cleaning ATT&CK description text: citations, markdown links, HTML code tags."""

from __future__ import annotations

import re

_CITATION = re.compile(r"\s*\(Citation:[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_CODE = re.compile(r"</?code>")
_ATTACK_URL = re.compile(r"https?://attack\.mitre\.org/(groups|software|campaigns|techniques)/")


def clean_description(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Remove citations and ``<code>`` tags; turn markdown links into their names.

    Returns the clean text and the spans of names that linked to ATT&CK groups, software or campaigns.
    """
    text = _CODE.sub("", _CITATION.sub("", text or ""))
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    length = 0
    for m in _LINK.finditer(text):
        chunk = text[pos : m.start()]
        out.append(chunk)
        length += len(chunk)
        name = m.group(1)
        if _ATTACK_URL.match(m.group(2)) and "/techniques/" not in m.group(2):
            spans.append((length, length + len(name)))
        out.append(name)
        length += len(name)
        pos = m.end()
    out.append(text[pos:])
    joined = "".join(out)
    lead = len(joined) - len(joined.lstrip())
    return joined.strip(), tuple((s - lead, e - lead) for s, e in spans)


def plain(text: str) -> str:
    """Description text without citations or link markup."""
    return clean_description(text)[0]
