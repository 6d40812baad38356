"""Attribution: rank the threat groups (and campaigns) whose recorded tradecraft fits a report.

Behaviour only (techniques, software, CVEs, victimology) feeds the score; groups named in the report
are flagged, never scored. Probabilities are calibrated on held-out cases derived from ATT&CK itself.
"""

from ttpmap.attribute.calibrate import Calibrator, calibration_for, fit_calibrator, use_calibrator
from ttpmap.attribute.explain import explain_candidate
from ttpmap.attribute.profiles import GroupProfile, ProfileSet, build_profiles
from ttpmap.attribute.rank import (
    ABSTAIN_BELOW,
    AttributionQuery,
    RankWeights,
    confidence_word,
    query_from_findings,
    rank_campaigns,
    rank_groups,
    score_groups,
)

__all__ = [
    "ABSTAIN_BELOW",
    "AttributionQuery",
    "Calibrator",
    "GroupProfile",
    "ProfileSet",
    "RankWeights",
    "build_profiles",
    "calibration_for",
    "confidence_word",
    "explain_candidate",
    "fit_calibrator",
    "query_from_findings",
    "rank_campaigns",
    "rank_groups",
    "score_groups",
    "use_calibrator",
]
