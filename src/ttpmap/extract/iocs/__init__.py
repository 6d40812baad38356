"""Indicators of compromise: candidates found and validated (``finding``), located in the text with the
sentence or IOC-table row that mentions them first, then given a disposition and a role
(``disposition``) using the MISP warning lists (``warninglists``).

Policy decisions, so that consumers can rely on them:

- Domains of URLs and e-mail addresses are also reported as ``domain`` indicators; their ``count``
  includes the mentions inside URLs and addresses.
- Every value the report mentions is kept; ``disposition`` says which ones are the actor's
  (``actor``: the only ones exports turn into detection indicators) and ``reason`` says why.
- ``private`` marks IP types that are not globally routable.
- The list is ordered by type (``IocType`` order), then by first mention in the text.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from ttpmap.defang import defang
from ttpmap.extract.cves import cve_mentions
from ttpmap.extract.iocs.disposition import decide
from ttpmap.extract.iocs.finding import find_candidates
from ttpmap.extract.iocs.scan import occurrences
from ttpmap.extract.iocs.tables import Tables
from ttpmap.extract.iocs.validation import IP_TYPES, is_private
from ttpmap.extract.iocs.warninglists import WarningLists, warninglists
from ttpmap.models import Indicator, IocEvidence, IocType, Sentence
from ttpmap.text import split_sentences

__all__ = ["IOC_TYPES", "find_iocs", "locate"]

IOC_TYPES: tuple[IocType, ...] = tuple(IocType)
_TYPE_RANK = {t: i for i, t in enumerate(IocType)}
_DOT = r"(?:\s?[\[({]\s?(?:\.|dot)\s?[\])}]\s?|\.)"
_AT = r"(?:\s?[\[({]\s?(?:@|at)\s?[\])}]\s?|@)"
_SCHEME = re.compile(r"^(h)tt(ps?)://|^(f)t(ps?)://", re.IGNORECASE)


def _pattern(value: str) -> re.Pattern[str]:
    scheme = ""
    m = _SCHEME.match(value)
    if m:
        scheme = (r"h(?:tt|xx)" + m.group(2)) if m.group(1) else (r"f(?:t|x)" + m.group(4))
        scheme += r"(?:\[?:\]?//|\[://\]|\[:/\]/|://)"
        value = value[m.end() :]
    body = "".join(
        _DOT if c == "." else _AT if c == "@" else r"(?:\[:\]|:)" if c == ":" else re.escape(c) for c in value
    )
    return re.compile(scheme + body, re.IGNORECASE)


def locate(
    text: str, value: str, ioc_type: IocType, region: tuple[int, int] | None = None
) -> tuple[int, int] | None:
    """The span of the first mention of ``value`` in ``text``, as written (defanged or not), looked for
    in ``region`` (where the finder saw it) first, then in the whole text."""
    for start, end in ([region] if region else []) + [(0, len(text))]:
        hay = text[start:end]
        hits = occurrences(hay.lower(), value.lower(), ioc_type)  # standing on its own, as written
        if hits:
            return start + hits[0], start + hits[0] + len(value)
        m = _pattern(value).search(hay)
        if m:
            return start + m.start(), start + m.end()
        i = hay.lower().find(value.lower())
        if i >= 0:
            return start + i, start + i + len(value)
    return None


def _linked(text: str, span: tuple[int, int]) -> bool:
    """Whether markup makes the mention a link or an image: ``](value`` or ``<value>``."""
    before = text[max(0, span[0] - 2) : span[0]]
    return before.endswith("](") or (before.endswith("<") and text[span[1] : span[1] + 1] == ">")


def _evidence(
    text: str, span: tuple[int, int], sentences: Sequence[Sentence], starts: list[int], tables: Tables
) -> tuple[IocEvidence, str, int]:
    """The evidence record, the text to read the role from, and the mention's offset in that text."""
    row = tables.row_at(span[0])
    if row is not None:
        mention = text[span[0] : span[1]]
        others = {k: v for k, v in row.cells.items() if mention not in v}
        context = " ".join([*others.values(), row.caption])
        return (
            IocEvidence(text=text[row.start : row.end], start=row.start, end=row.end, context=others),
            context,
            -1,
        )
    i = bisect.bisect_right(starts, span[0]) - 1
    if i >= 0 and sentences[i].start <= span[0] < sentences[i].end:
        s = sentences[i]
        return IocEvidence(text=s.text, start=s.start, end=s.end), s.text, span[0] - s.start
    start = text.rfind("\n", 0, span[0]) + 1
    end = text.find("\n", span[1])
    end = len(text) if end < 0 else end
    return IocEvidence(text=text[start:end], start=start, end=end), text[start:end], span[0] - start


def find_iocs(
    text: str, sentences: Sequence[Sentence] | None = None, lists: WarningLists | None = None
) -> list[Indicator]:
    """Indicators in ``text`` with display form, count, disposition, role, warning-list hits and the
    evidence (sentence or table row, with offsets) of their first mention."""
    sentences = split_sentences(text) if sentences is None else sentences
    starts = [s.start for s in sentences]
    tables = Tables(text)
    found: list[tuple[IocType, str, int, tuple[int, int] | None]] = [
        (c.ioc_type, c.value, max(c.count, 1), locate(text, c.value, c.ioc_type, c.region))
        for c in find_candidates(text)
    ]
    found += [(IocType.CVE, cve, len(spans), spans[0]) for cve, spans in cve_mentions(text).items()]
    found.sort(key=lambda f: (_TYPE_RANK[f[0]], f[3][0] if f[3] else len(text)))
    if found and lists is None:
        lists = warninglists()
    out: list[Indicator] = []
    for ioc_type, value, count, span in found:
        assert lists is not None
        evidence, context, at = (
            (None, "", -1) if span is None else _evidence(text, span, sentences, starts, tables)
        )
        linked = span is not None and _linked(text, span)
        decision = decide(ioc_type, value, context, at, lists, linked=linked)
        out.append(
            Indicator(
                type=ioc_type,
                value=value,
                defanged=defang(value, ioc_type),
                count=count,
                private=ioc_type in IP_TYPES and is_private(value),
                disposition=decision.disposition,
                role=decision.role,
                reason=decision.reason,
                warninglists=list(decision.warninglists),
                evidence=evidence,
            )
        )
    return out
