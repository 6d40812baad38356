"""What the knowledge base says each threat group does: its techniques, software, CVEs and victims.

A profile joins three routes to a technique: the group's own procedures, the campaigns attributed to
it, and the software it uses (weaker: a tool's capabilities are not proof the group used them). Every
piece of evidence gets an IDF-like weight from how many groups share it, so that a technique used by
three groups counts for far more than one used by a hundred.

Profiles are built by :class:`ttpmap.attribute.Attributor` when it is fitted; nothing is kept in module
globals.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from ttpmap.attribute import textsim
from ttpmap.attribute.provenance import classify_software
from ttpmap.attribute.textsim import SourceText, TextIndex
from ttpmap.extract.cves import cve_mentions
from ttpmap.extract.victimology import find_victimology, masking_pattern, region_of
from ttpmap.kb import KnowledgeBase, Software
from ttpmap.kb.galaxy import Galaxy

SOFTWARE_TECHNIQUE_WEIGHT = 0.5
"""Strength of a technique the group has only through a tool it uses (direct use counts 1)."""
SOFTWARE_CVE_WEIGHT = 0.5
"""Strength of a CVE the group has only through a tool it uses."""
CLUSTER_SOFTWARE_WEIGHT = 3.0
"""In activity-cluster similarity, a software item weighs this many times its IDF (techniques: 1x)."""

# A built-in utility is described by what the operating system provides ("is a Windows utility", "the
# Windows command-line interpreter", "packaged with Windows", "schedule tasks on a system"); third-party
# tools are described by where they come from ("open source", "publicly available", "Sysinternals").
_UTILITY = re.compile(
    r"\butilit(?:y|ies)\b|\bcommand[- ]line (?:interpreter|utility|tool)\b|\boperating system\b"
    r"|\b(?:on|within) (?:a|the local) (?:\w+ )?system\b|\ba system's\b",
    re.IGNORECASE,
)
_THIRD_PARTY = re.compile(
    r"open[- ]source|publicly[- ]available|openly available|\bfree\b|penetration|post-exploitation|"
    r"Sysinternals|downloader|legitimate|commercial|remote (?:access|administration)|dump",
    re.IGNORECASE,
)


def find_cves(text: str) -> list[str]:
    """CVE identifiers in ``text`` (upper case, in order of first mention), by the one CVE extractor."""
    return list(cve_mentions(text or ""))


def is_system_utility(software: Software) -> bool:
    """True for a tool the KB describes as part of an operating system (Net, ipconfig, cmd, schtasks...).

    Every intrusion uses these, so naming one says little about who is behind it, however few groups
    the KB happens to record with it.
    """
    if software.kind != "tool":
        return False
    text = re.sub(r"\(Citation:[^)]*\)", "", software.description)
    first = re.split(r"(?<=[.!?])\s+", text.strip(), maxsplit=1)[0]
    return bool(_UTILITY.search(first)) and not _THIRD_PARTY.search(text)


@dataclass(frozen=True)
class ActivityCluster:
    """One body of recorded activity: a group's own procedures, or one campaign's."""

    id: str
    techniques: frozenset[str]
    software: frozenset[str]


@dataclass(frozen=True)
class GroupProfile:
    """Everything the KB associates with one group, each item with its strength (0..1] and sources.

    ``techniques`` maps a technique ID to its strength; ``technique_sources`` says where it came from
    (the group ID itself, campaign IDs, or software IDs). ``sectors``/``countries``/``regions``/``origin``
    hold mention counts mined from the group's and its campaigns' text.
    """

    id: str
    name: str
    aliases: tuple[str, ...]
    techniques: Mapping[str, float]
    technique_sources: Mapping[str, tuple[str, ...]]
    software: Mapping[str, float]
    software_sources: Mapping[str, tuple[str, ...]]
    cves: Mapping[str, float]
    sectors: Mapping[str, int]
    countries: Mapping[str, int]
    regions: Mapping[str, int]
    origin: Mapping[str, int]
    campaigns: tuple[str, ...]
    clusters: tuple[ActivityCluster, ...] = ()
    text_terms: Mapping[str, float] = field(default_factory=dict)
    """Term counts of the group's descriptions and procedures (names removed), for text similarity."""

    @property
    def names(self) -> tuple[str, ...]:
        """The group's name followed by its aliases."""
        return (self.name, *self.aliases)

    def parents(self) -> dict[str, float]:
        """Strength of each parent technique, counting a sub-technique as use of its parent."""
        out: dict[str, float] = {}
        for tid, s in self.techniques.items():
            p = tid.split(".", 1)[0]
            if s > out.get(p, 0.0):
                out[p] = s
        return out


@dataclass(frozen=True)
class ProfileSet:
    """All group profiles of one KB plus the distinctiveness (IDF) of every kind of evidence."""

    kb_sha256: str
    profiles: Mapping[str, GroupProfile]
    parents: Mapping[str, Mapping[str, float]]
    technique_idf: Mapping[str, float]
    parent_idf: Mapping[str, float]
    software_idf: Mapping[str, float]
    cve_idf: Mapping[str, float]
    sector_idf: Mapping[str, float]
    country_idf: Mapping[str, float]
    region_idf: Mapping[str, float]
    origin_idf: Mapping[str, float]
    campaigns: Mapping[str, ActivityCluster]
    cluster_norms: Mapping[str, float]
    technique_groups: Mapping[str, int]
    software_groups: Mapping[str, int]
    excluded_campaigns: frozenset[str] = frozenset()
    default_idf: float = field(default=0.0)
    text_index: TextIndex | None = None
    utilities: frozenset[str] = frozenset()
    """Software that is a built-in system utility (:func:`is_system_utility`)."""
    provenance: Mapping[str, str] = field(default_factory=dict)
    """Each software item's provenance class (:mod:`ttpmap.attribute.provenance`)."""

    def __len__(self) -> int:
        return len(self.profiles)

    def __getitem__(self, group_id: str) -> GroupProfile:
        return self.profiles[group_id]

    def __contains__(self, group_id: object) -> bool:
        return group_id in self.profiles

    def technique_weight(self, technique_id: str) -> float:
        """IDF of a technique; unseen techniques get the maximum."""
        return self.technique_idf.get(technique_id, self.default_idf)

    def software_weight(self, software_id: str) -> float:
        """IDF of a software item; unseen software gets the maximum."""
        return self.software_idf.get(software_id, self.default_idf)

    def cluster_norm(self, cluster: ActivityCluster) -> float:
        """Euclidean norm of a cluster's IDF vector (cached for the clusters of this set)."""
        cached = self.cluster_norms.get(cluster.id)
        return cached if cached is not None else _norm(self, cluster)

    def with_profile(self, profile: GroupProfile) -> ProfileSet:
        """A copy in which one group's profile is replaced (IDF tables kept: a hold-out approximation)."""
        profiles = dict(self.profiles)
        profiles[profile.id] = profile
        parents = dict(self.parents)
        parents[profile.id] = MappingProxyType(profile.parents())
        norms = dict(self.cluster_norms)
        for cluster in profile.clusters:
            norms[cluster.id] = _norm(self, cluster)
        return replace(
            self,
            profiles=MappingProxyType(profiles),
            parents=MappingProxyType(parents),
            cluster_norms=MappingProxyType(norms),
            text_index=self.text_index.with_group(profile.id, profile.text_terms)
            if self.text_index
            else None,
        )

    def characteristic_techniques(self, group_id: str, limit: int = 10) -> list[tuple[str, float]]:
        """The group's own (not tool-derived) techniques, most distinctive first, with their weight."""
        prof = self.profiles[group_id]
        scored = [
            (tid, s * self.technique_idf.get(tid, self.default_idf))
            for tid, s in prof.techniques.items()
            if s >= 1.0
        ]
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:limit]


@dataclass(frozen=True)
class _SourceFacts:
    """What a group, campaign or software's own text says: CVEs and victimology."""

    cves: tuple[str, ...]
    victimology: Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class KBFacts:
    """What the KB's own text says, mined once per fit: each group's, campaign's and software's CVEs and
    victimology, and the name-free term counts of its description and procedures."""

    sources: Mapping[str, _SourceFacts]
    texts: Mapping[str, SourceText]


def mine_kb(kb: KnowledgeBase, galaxy: Galaxy | None = None) -> KBFacts:
    """Mine CVEs, victimology (entity names masked) and term counts from every group, campaign and
    software text of the KB; with ``galaxy``, a group's victimology also reads what the MISP galaxy says
    about the actors tied to it (description, target categories, suspected victims)."""
    facts: dict[str, _SourceFacts] = {}
    mask = kb_name_mask(kb)
    for table, mine_victims in ((kb.groups, True), (kb.campaigns, True), (kb.software, False)):
        for oid, obj in table.items():
            texts = [obj.description, *(p.text for p in kb.uses(oid) if p.text)]
            if galaxy is not None and table is kb.groups:
                texts += [a.victimology_text() for a in galaxy.group_actors(oid)]
            cves = tuple(dict.fromkeys(c for t in texts for c in find_cves(t)))
            victims = find_victimology("\n".join(texts), names=mask) if mine_victims else {}
            facts[oid] = _SourceFacts(cves, MappingProxyType(victims))
    return KBFacts(MappingProxyType(facts), MappingProxyType(textsim.source_texts(kb)))


def kb_name_mask(kb: KnowledgeBase) -> re.Pattern[str] | None:
    """Every group, software and campaign name and alias of the KB, to blank before victimology."""
    names = [
        n for t in (kb.groups, kb.software, kb.campaigns) for o in t.values() for n in (o.name, *o.aliases)
    ]
    return masking_pattern(names)


def _idf(df: Mapping[str, float], n: int) -> dict[str, float]:
    return {k: math.log((n + 1.0) / (v + 0.5)) for k, v in df.items()}


def _merge_counts(target: Counter, source: Mapping[str, int]) -> None:
    for k, v in source.items():
        target[k] += v


def build_group_profile(
    kb: KnowledgeBase,
    group_id: str,
    *,
    exclude_campaigns: Iterable[str] = (),
    exclude_targets: Iterable[str] = (),
    facts: KBFacts | None = None,
) -> GroupProfile:
    """One group's profile; ``exclude_campaigns`` and ``exclude_targets`` drop evidence (for hold-out tests).

    ``exclude_targets`` removes the group's (and its campaigns') direct use of those techniques or software,
    as if the KB had never recorded them. ``facts`` (:func:`mine_kb`) is mined now when not given.
    """
    mined = facts or mine_kb(kb)
    facts_by_source = mined.sources
    excluded = set(exclude_campaigns)
    drop = set(exclude_targets)
    group = kb.groups[group_id]
    campaigns = tuple(
        cid for cid, c in kb.campaigns.items() if group_id in c.attributed_to and cid not in excluded
    )
    tech: dict[str, float] = {}
    tech_src: dict[str, list[str]] = defaultdict(list)
    soft: dict[str, float] = {}
    soft_src: dict[str, list[str]] = defaultdict(list)
    clusters: list[ActivityCluster] = []
    cves: dict[str, float] = {}
    sectors: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    origin: Counter[str] = Counter()

    for source in (group_id, *campaigns):
        c_tech: set[str] = set()
        c_soft: set[str] = set()
        for proc in kb.uses(source):
            target = proc.target_id
            if target in drop:
                continue
            if target in kb.techniques:
                tech[target] = 1.0
                tech_src[target].append(source)
                c_tech.add(target)
            elif target in kb.software:
                soft[target] = 1.0
                soft_src[target].append(source)
                c_soft.add(target)
        if c_tech or c_soft:
            clusters.append(ActivityCluster(source, frozenset(c_tech), frozenset(c_soft)))
        f = facts_by_source.get(source)
        if f is None:
            continue
        for cve in f.cves:
            cves[cve] = 1.0
        v = f.victimology
        _merge_counts(sectors, v.get("sectors", {}))
        _merge_counts(countries, v.get("countries", {}))
        _merge_counts(regions, v.get("regions", {}))
        _merge_counts(origin, v.get("origin", {}))
    for country in list(countries):
        region = region_of(country)
        if region:
            regions[region] = max(regions[region], 1)  # a targeted country implies its region

    for sid in sorted(soft):
        for proc in kb.uses(sid):
            target = proc.target_id
            if target in kb.techniques:
                if tech.get(target, 0.0) < SOFTWARE_TECHNIQUE_WEIGHT:
                    tech[target] = SOFTWARE_TECHNIQUE_WEIGHT
                if sid not in tech_src[target]:
                    tech_src[target].append(sid)
        f = facts_by_source.get(sid)
        for cve in f.cves if f else ():
            cves.setdefault(cve, SOFTWARE_CVE_WEIGHT)

    return GroupProfile(
        id=group_id,
        name=group.name,
        aliases=group.aliases,
        techniques=MappingProxyType(dict(sorted(tech.items()))),
        technique_sources=MappingProxyType({k: tuple(v) for k, v in sorted(tech_src.items())}),
        software=MappingProxyType(dict(sorted(soft.items()))),
        software_sources=MappingProxyType({k: tuple(v) for k, v in sorted(soft_src.items())}),
        cves=MappingProxyType(dict(sorted(cves.items()))),
        sectors=MappingProxyType(dict(sectors.most_common())),
        countries=MappingProxyType(dict(countries.most_common())),
        regions=MappingProxyType(dict(regions.most_common())),
        origin=MappingProxyType(dict(origin.most_common())),
        campaigns=campaigns,
        clusters=tuple(clusters),
        text_terms=MappingProxyType(textsim.group_terms(mined.texts, (group_id, *campaigns), soft, drop)),
    )


def campaign_cluster(kb: KnowledgeBase, campaign_id: str) -> ActivityCluster:
    """A campaign's recorded techniques and software."""
    procs = kb.uses(campaign_id)
    return ActivityCluster(
        campaign_id,
        frozenset(p.target_id for p in procs if p.target_id in kb.techniques),
        frozenset(p.target_id for p in procs if p.target_id in kb.software),
    )


def _norm(ps: ProfileSet, cluster: ActivityCluster) -> float:
    sq = sum(ps.technique_weight(t) ** 2 for t in cluster.techniques)
    sq += sum((CLUSTER_SOFTWARE_WEIGHT * ps.software_weight(s)) ** 2 for s in cluster.software)
    return math.sqrt(sq)


def assemble(
    kb: KnowledgeBase, profiles: Mapping[str, GroupProfile], excluded: Iterable[str] = ()
) -> ProfileSet:
    """Compute the IDF tables over a set of profiles (document frequency weighted by strength)."""
    excluded = frozenset(excluded)
    n = len(profiles)
    parents = {gid: MappingProxyType(p.parents()) for gid, p in profiles.items()}
    df_t: defaultdict[str, float] = defaultdict(float)
    df_p: defaultdict[str, float] = defaultdict(float)
    df_s: defaultdict[str, float] = defaultdict(float)
    df_c: defaultdict[str, float] = defaultdict(float)
    df_sec: Counter[str] = Counter()
    df_cty: Counter[str] = Counter()
    df_reg: Counter[str] = Counter()
    df_org: Counter[str] = Counter()
    for gid, prof in profiles.items():
        for k, s in prof.techniques.items():
            df_t[k] += s
        for k, s in parents[gid].items():
            df_p[k] += s
        for k, s in prof.software.items():
            df_s[k] += s
        for k, s in prof.cves.items():
            df_c[k] += s
        df_sec.update(prof.sectors.keys())
        df_cty.update(prof.countries.keys())
        df_reg.update(prof.regions.keys())
        df_org.update(prof.origin.keys())
    campaigns = {cid: campaign_cluster(kb, cid) for cid in kb.campaigns if cid not in excluded}
    utilities = frozenset(sid for sid, sw in kb.software.items() if is_system_utility(sw))
    tech_groups = Counter(t for p in profiles.values() for t in p.techniques)
    soft_groups = Counter(s for p in profiles.values() for s in p.software)
    ps = ProfileSet(
        kb_sha256=kb.info.sha256,
        profiles=MappingProxyType(dict(profiles)),
        parents=MappingProxyType(parents),
        technique_idf=MappingProxyType(_idf(df_t, n)),
        parent_idf=MappingProxyType(_idf(df_p, n)),
        software_idf=MappingProxyType(_idf(df_s, n)),
        cve_idf=MappingProxyType(_idf(df_c, n)),
        sector_idf=MappingProxyType(_idf(df_sec, n)),
        country_idf=MappingProxyType(_idf(df_cty, n)),
        region_idf=MappingProxyType(_idf(df_reg, n)),
        origin_idf=MappingProxyType(_idf(df_org, n)),
        campaigns=MappingProxyType(campaigns),
        cluster_norms=MappingProxyType({}),
        technique_groups=MappingProxyType(dict(tech_groups)),
        software_groups=MappingProxyType(dict(soft_groups)),
        excluded_campaigns=excluded,
        default_idf=math.log((n + 1.0) / 0.5),
        text_index=TextIndex.fit({gid: p.text_terms for gid, p in profiles.items()}),
        utilities=utilities,
        provenance=MappingProxyType(classify_software(kb, utilities)),
    )
    norms = {c.id: _norm(ps, c) for prof in profiles.values() for c in prof.clusters}
    norms.update({c.id: _norm(ps, c) for c in campaigns.values()})
    return replace(ps, cluster_norms=MappingProxyType(norms))


def build_profiles(
    kb: KnowledgeBase, exclude_campaigns: Iterable[str] = (), facts: KBFacts | None = None
) -> ProfileSet:
    """Profiles of every group in ``kb`` (``facts`` from :func:`mine_kb`, mined now when not given).

    ``exclude_campaigns`` removes everything the KB knows only through those campaigns (their
    procedures, software, CVEs and text), as leave-one-campaign-out evaluation needs.
    """
    excluded = frozenset(exclude_campaigns)
    facts = facts or mine_kb(kb)
    profiles = {
        gid: build_group_profile(kb, gid, exclude_campaigns=excluded, facts=facts) for gid in kb.groups
    }
    return assemble(kb, profiles, excluded)
