"""Defence: which mitigations and which data sources address the observed techniques."""

from ttpmap.defend.detections import rank_detections
from ttpmap.defend.mitigations import rank_mitigations

__all__ = ["rank_detections", "rank_mitigations"]
