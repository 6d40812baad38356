"""Procedure-text similarity: how much a report reads like what the KB says a group (and its tools) did.

ATT&CK's procedure examples describe each group's tooling in its own words (file names, commands,
infrastructure habits, lure themes), so the TF-IDF cosine between a report and a group's concatenated
procedure and description text is a strong signal even when every name is masked. Names never count:
the linked actor, software and campaign spans of KB text are cut out, and every group and campaign
name or alias is removed from both sides before tokenising, so a report that names a group gains
nothing from it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from ttpmap.extract import features
from ttpmap.extract.features import NameTable, actor_names, terms
from ttpmap.kb import KnowledgeBase

SOFTWARE_TEXT_WEIGHT = 0.5
"""Term counts from a tool's own procedures count this much in the profile of a group that uses it."""


@dataclass(frozen=True)
class SourceText:
    """Term counts of one KB object's text: its description and each of its procedures (by target)."""

    description: Mapping[str, int]
    procedures: Mapping[str, Mapping[str, int]]


def _cut(text: str, spans: Iterable[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in sorted(spans):
        out.append(text[pos:start])
        out.append(" ")
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)


def name_table(kb: KnowledgeBase) -> NameTable:
    """Every group and campaign name and alias as token sequences (see :func:`features.name_table`)."""
    return MappingProxyType(features.name_table(actor_names(kb)))


def source_texts(kb: KnowledgeBase) -> dict[str, SourceText]:
    """Term counts of every group, campaign and software description and procedure (mined once per fit
    by :func:`ttpmap.attribute.profiles.mine_kb`)."""
    names = name_table(kb)
    out: dict[str, SourceText] = {}
    for table in (kb.groups, kb.campaigns, kb.software):
        for oid, obj in table.items():
            procs: dict[str, Counter[str]] = {}
            for p in kb.uses(oid):
                if p.text:
                    procs.setdefault(p.target_id, Counter()).update(terms(_cut(p.text, p.mentions), names))
            desc = terms(obj.description, names)
            out[oid] = SourceText(MappingProxyType(dict(desc)), MappingProxyType(procs))
    return out


def group_terms(
    texts: Mapping[str, SourceText], sources: Iterable[str], software: Iterable[str], drop: Iterable[str] = ()
) -> dict[str, float]:
    """A group's text: its and its campaigns' descriptions and procedures, plus (weaker) those of the
    software it uses (``texts`` from :func:`source_texts`); procedures whose target is in ``drop`` are
    left out."""
    dropped = set(drop)
    out: Counter[str] = Counter()
    for src in sources:
        st = texts.get(src)
        if st is None:
            continue
        out.update(st.description)
        for target, counts in st.procedures.items():
            if target not in dropped:
                out.update(counts)
    acc: dict[str, float] = dict(out)
    for sid in software:
        st = texts.get(sid)
        if st is None:
            continue
        for counts in (st.description, *st.procedures.values()):
            for t, n in counts.items():
                acc[t] = acc.get(t, 0.0) + SOFTWARE_TEXT_WEIGHT * n
    return acc


@dataclass(frozen=True)
class TextIndex:
    """L2-normalised sublinear TF-IDF rows, one per group, over the groups' texts, as compressed sparse
    rows in plain numpy arrays (``indptr``, ``indices``, ``data``), so ranking needs no scipy."""

    group_ids: tuple[str, ...]
    vocabulary: Mapping[str, int]
    idf: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    overrides: Mapping[str, Mapping[int, float]] = field(default_factory=dict)

    @classmethod
    def fit(cls, texts: Mapping[str, Mapping[str, float]]) -> TextIndex:
        """IDF over the groups' term sets; terms of a single group count (they are the distinctive ones)."""
        gids = tuple(texts)
        df: Counter[str] = Counter()
        for counts in texts.values():
            df.update(counts.keys())
        vocab = {t: i for i, t in enumerate(sorted(df))}
        n = len(gids)
        idf = np.array([math.log((n + 1) / (df[t] + 1)) + 1.0 for t in sorted(df)])
        empty = np.zeros(0)
        index = cls(
            gids, MappingProxyType(vocab), idf, np.zeros(1, dtype=np.int64), empty.astype(np.int64), empty
        )
        indptr: list[int] = [0]
        indices: list[int] = []
        data: list[float] = []
        for gid in gids:
            row = sorted(index.vector(texts[gid]).items())
            indices.extend(c for c, _ in row)
            data.extend(v for _, v in row)
            indptr.append(len(indices))
        return cls(
            gids,
            index.vocabulary,
            idf,
            np.asarray(indptr, dtype=np.int64),
            np.asarray(indices, dtype=np.int64),
            np.asarray(data, dtype=float),
        )

    def vector(self, counts: Mapping[str, float]) -> dict[int, float]:
        """Sparse L2-normalised TF-IDF vector of term counts (terms outside the vocabulary ignored)."""
        vec = {}
        for t, n in counts.items():
            i = self.vocabulary.get(t)
            if i is not None and n > 0:
                vec[i] = (1.0 + math.log(n)) * self.idf[i] if n >= 1 else n * self.idf[i]
        norm = math.sqrt(sum(v * v for v in vec.values()))
        return {i: v / norm for i, v in vec.items()} if norm else {}

    def with_group(self, group_id: str, counts: Mapping[str, float]) -> TextIndex:
        """A copy in which one group's text is replaced (IDF kept: a hold-out approximation)."""
        overrides = dict(self.overrides)
        overrides[group_id] = MappingProxyType(self.vector(counts))
        return replace(self, overrides=MappingProxyType(overrides))

    def similarities(self, counts: Mapping[str, float]) -> dict[str, float]:
        """Cosine similarity of a text's term counts with every group's text."""
        q = self.vector(counts)
        if not q:
            return {}
        dense = np.zeros(len(self.idf))
        dense[np.fromiter(q.keys(), dtype=np.int64, count=len(q))] = np.fromiter(q.values(), dtype=float)
        # row sums of data * dense[indices] via a cumulative sum (empty rows give 0)
        cums = np.concatenate(([0.0], np.cumsum(self.data * dense[self.indices])))
        sims = cums[self.indptr[1:]] - cums[self.indptr[:-1]]
        out = {gid: float(s) for gid, s in zip(self.group_ids, sims, strict=True)}
        for gid, row in self.overrides.items():
            out[gid] = sum(v * row.get(i, 0.0) for i, v in q.items())
        return out
