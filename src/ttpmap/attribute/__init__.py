"""Attribution: rank the threat groups (and campaigns) whose recorded tradecraft fits a report.

Behaviour only (techniques, software, CVEs, victimology) feeds the score; groups named in the report
are flagged, never scored. Probabilities are calibrated on held-out cases derived from ATT&CK itself.
"""

from ttpmap.attribute.attributor import Attributor
from ttpmap.attribute.calibrator import DEFAULT_CALIBRATOR, Calibrator
from ttpmap.attribute.explain import explain_candidate
from ttpmap.attribute.profiles import GroupProfile, ProfileSet, build_profiles
from ttpmap.attribute.rank import (
    AttributionQuery,
    RankWeights,
    confidence_word,
    query_from_findings,
    rank_campaigns,
    rank_groups,
    score_groups,
)

__all__ = [
    "DEFAULT_CALIBRATOR",
    "AttributionQuery",
    "Attributor",
    "Calibrator",
    "GroupProfile",
    "ProfileSet",
    "RankWeights",
    "build_profiles",
    "confidence_word",
    "explain_candidate",
    "query_from_findings",
    "rank_campaigns",
    "rank_groups",
    "score_groups",
]
