"""File names and dotted identifiers that look like domains: ``invoice.pdf``, ``README.md``,
``Microsoft.Exchange``, ``com.apple``. The word lists are data files under ``data/ioc/``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ttpmap.extract.iocs.scan import Found, Scan
from ttpmap.lexicon import words

_WORD_RE = re.compile(r"[A-Za-z]+")


def is_file_name(item: Found, scan: Scan, path_values: Iterable[str]) -> bool:
    """Whether a "domain" is a file name: a file-only extension, or a file-like TLD with signs of a file."""
    labels = item.value.split(".")
    ext = labels[-1]
    if ext in words("ioc/file_extensions"):
        return True
    if ext not in (words("ioc/file_first_tlds") | words("ioc/file_like_tlds")) or len(labels) != 2:
        return False
    if any(item.value in p.lower() for p in path_values):
        return True
    name_len = len(labels[0])
    file_signal = "_" in labels[0]
    cased = bool(item.spots)
    for batch, pos in item.spots:
        before, after = scan.around(batch, pos)
        if before.endswith(("://", "@")):
            return False  # a URL host or a mail domain is a site, whatever its TLD
        if before.endswith(("\\", "/")):
            file_signal = True
        cased = cased and any(c.isupper() for c in scan.fanged[batch][pos : pos + name_len])
        near = {w.lower() for w in _WORD_RE.findall(before)[-3:]}
        next_word = _WORD_RE.match(after[len(item.value) :].lstrip(" "))
        if next_word:
            near.add(next_word.group().lower())
        file_signal = file_signal or not near.isdisjoint(words("ioc/file_words"))
    # "README.md", "Terminal.app": hosts are written in lower case, file names often are not
    return file_signal or cased or ext in words("ioc/file_first_tlds")


def is_non_domain(item: Found, scan: Scan) -> bool:
    """Dotted identifiers ("Microsoft.Exchange", "Mail.Read", "com.apple"), path components
    ("\\Microsoft.NET\\") and product names ("ASP.NET") are not domains."""
    if not item.located:
        return True
    labels = item.value.split(".")
    if len(labels) == 2 and labels[0] in words("ioc/reverse_dns_labels"):
        return True
    if not item.spots:
        return False
    tld = len(item.value) - len(labels[-1])
    in_paths = True
    cased_tld = True
    for batch, pos in item.spots:
        text = scan.fanged[batch]
        cased_tld = cased_tld and any(c.isupper() for c in text[pos + tld : pos + len(item.value)])
        in_paths = in_paths and pos > 0 and text[pos - 1] == "\\"
    return in_paths or cased_tld
