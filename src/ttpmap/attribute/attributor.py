"""The fitted attributor: group profiles, name tables, the text index and a calibrator for one KB.

``Attributor.fit(kb)`` builds everything attribution needs from the KB (plus the MISP galaxies); the
pipeline receives the object explicitly, so nothing lives in module globals. ``rank`` is pure scoring.
The fitted parameters (calibrator and weights) are stored as JSON in the cache directory, keyed by the
KB's sha256 and the artefact version; the profiles are rebuilt deterministically from the KB (under a
second). Fitting a calibrator for a KB other than the embedded one imports the fitting code (scipy);
ranking never does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ttpmap.attribute.calibrator import DEFAULT_CALIBRATOR, Calibrator
from ttpmap.attribute.profiles import ProfileSet, build_profiles, mine_kb
from ttpmap.attribute.rank import (
    DEFAULT_WEIGHTS,
    AttributionQuery,
    RankWeights,
    query_from_findings,
    rank_campaigns,
    rank_groups,
)
from ttpmap.errors import UsageError
from ttpmap.extract.stated import GroupTarget, find_stated_attribution, group_name_index
from ttpmap.kb import KnowledgeBase
from ttpmap.kb.galaxy import Galaxy, load_galaxy
from ttpmap.models import (
    CampaignCandidate,
    Document,
    Findings,
    GroupCandidate,
    StatedAttribution,
    Victimology,
)

ARTEFACT_VERSION = 5
"""Bumped whenever what ``fit`` computes changes; older cached parameters are then refitted."""
EMBEDDED_KB_SHA256 = "7318ac9cd5f91d88964bca52e29e1980fb36f431615d723e0ffc893efa584323"
"""The embedded ATT&CK v15.0 Enterprise bundle, on which :data:`DEFAULT_CALIBRATOR` was fitted."""


@dataclass(frozen=True)
class Attributor:
    """Everything attribution needs for one KB, fitted by :meth:`fit`; :meth:`rank` is pure scoring."""

    kb_sha256: str
    profiles: ProfileSet
    calibrator: Calibrator = DEFAULT_CALIBRATOR
    weights: RankWeights = DEFAULT_WEIGHTS
    galaxy: Galaxy | None = None
    group_countries: Mapping[str, str] = field(default_factory=dict)
    """Each group's country of origin: the MISP galaxy's, else the one its ATT&CK description states."""
    name_index: Mapping[str, GroupTarget] = field(default_factory=dict, repr=False)
    """Every group name of the KB and of the galaxy's actors -> what it resolves to."""

    @classmethod
    def fit(
        cls,
        kb: KnowledgeBase,
        *,
        galaxy: Galaxy | None = None,
        weights: RankWeights = DEFAULT_WEIGHTS,
        calibrator: Calibrator | None = None,
        use_galaxy: bool = True,
    ) -> Attributor:
        """Build profiles, name tables and text index for ``kb``; fit a calibrator on the KB's own cases
        unless one is given (the shipped one for the embedded bundle)."""
        if galaxy is None and use_galaxy:
            galaxy = load_galaxy(kb)
        facts = mine_kb(kb, galaxy)
        profiles = build_profiles(kb, facts=facts)
        if calibrator is None:
            if kb.info.sha256 == EMBEDDED_KB_SHA256 and weights == DEFAULT_WEIGHTS:
                calibrator = DEFAULT_CALIBRATOR
            else:
                from ttpmap.attribute.calibrate import fit_calibrator, kb_cases, score_cases

                calibrator = fit_calibrator(score_cases(kb_cases(kb, facts=facts), weights))
        countries: dict[str, str] = {}
        for gid, prof in profiles.profiles.items():
            known = galaxy.group_country(gid) if galaxy else None
            if known is None and prof.origin:
                known = next(iter(prof.origin))
            if known:
                countries[gid] = known
        return cls(
            kb_sha256=kb.info.sha256,
            profiles=profiles,
            calibrator=calibrator,
            weights=weights,
            galaxy=galaxy,
            group_countries=countries,
            name_index=group_name_index(kb, galaxy),
        )

    def _check(self, kb: KnowledgeBase) -> None:
        if kb.info.sha256 != self.kb_sha256:
            raise UsageError(
                f"the attributor was fitted on another ATT&CK bundle than {kb.version} "
                f"({kb.info.sha256[:12]})"
            )

    def query(self, findings: Findings, kb: KnowledgeBase) -> AttributionQuery:
        """The behavioural query of a report's findings (names never enter it)."""
        return query_from_findings(findings, kb)

    def stated(
        self, doc: Document, kb: KnowledgeBase, victimology: Victimology | None = None
    ) -> StatedAttribution:
        """What the report itself says about the actor (see :func:`find_stated_attribution`)."""
        return find_stated_attribution(doc, kb, self.galaxy, victimology, self.name_index)

    def rank(
        self,
        findings: Findings | AttributionQuery,
        kb: KnowledgeBase,
        *,
        top: int = 5,
        include_weak: bool = False,
        stated: StatedAttribution | None = None,
    ) -> list[GroupCandidate]:
        """Groups whose tradecraft fits the findings, best first, with calibrated probabilities."""
        self._check(kb)
        if stated is None and isinstance(findings, Findings):
            stated = findings.stated
        return rank_groups(
            findings,
            kb,
            top=top,
            include_weak=include_weak,
            profiles=self.profiles,
            weights=self.weights,
            calibrator=self.calibrator,
            stated=stated,
            group_countries=self.group_countries,
        )

    def rank_campaigns(
        self, findings: Findings | AttributionQuery, kb: KnowledgeBase, top: int = 3
    ) -> list[CampaignCandidate]:
        """Known campaigns whose recorded behaviour most resembles the findings."""
        self._check(kb)
        return rank_campaigns(findings, kb, top, profiles=self.profiles)

    def parameters(self) -> dict[str, object]:
        """The fitted parameters as plain data (what the on-disk cache holds)."""
        return {
            "version": ARTEFACT_VERSION,
            "kb_sha256": self.kb_sha256,
            "calibrator": asdict(self.calibrator),
            "weights": asdict(self.weights),
        }


def load_or_fit(kb: KnowledgeBase, cache: Path | None = None, *, galaxy: Galaxy | None = None) -> Attributor:
    """The Attributor for ``kb``: fitted parameters from the cache (JSON) when present, else fitted now
    and cached."""
    from ttpmap.config import cache_dir

    path = (
        cache or cache_dir() / "attribution"
    ) / f"attributor-{kb.info.sha256[:16]}-v{ARTEFACT_VERSION}.json"
    params = None
    if path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("kb_sha256") == kb.info.sha256 and raw.get("version") == ARTEFACT_VERSION:
                params = raw
        except (OSError, ValueError):
            params = None
    if params is not None:
        return Attributor.fit(
            kb,
            galaxy=galaxy,
            weights=RankWeights(**params["weights"]),
            calibrator=Calibrator(**params["calibrator"]),
        )
    attributor = Attributor.fit(kb, galaxy=galaxy)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(attributor.parameters(), indent=1), encoding="utf-8")
    except OSError:
        pass  # a read-only cache only costs a refit next time
    return attributor
