"""Calibrated attribution probabilities at run time: a softmax temperature and a Platt map (numpy only).

Fitting lives in :mod:`ttpmap.attribute.calibrate`; this module only applies fitted parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Calibrator:
    """Softmax temperature, then a Platt map on each candidate's softmax log-odds and score margin.

    The margin of a candidate is its raw score minus the best other score (negative below the top),
    which says how clearly the evidence separates it from the runner-up.
    """

    temperature: float
    slope: float = 1.0
    margin_slope: float = 0.0
    intercept: float = 0.0

    def softmax(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        """Softmax of raw scores at this temperature."""
        s = np.asarray(scores, dtype=float) / self.temperature
        if s.size == 0:
            return s
        e = np.exp(s - s.max())
        return e / e.sum()

    def probabilities(self, scores: Sequence[float] | np.ndarray) -> list[float]:
        """Calibrated probability that each candidate is the responsible group."""
        z = self.log_odds_features(scores) @ np.array([self.slope, self.margin_slope]) + self.intercept
        return [float(x) for x in 1.0 / (1.0 + np.exp(-z))]

    def log_odds_features(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        """Per candidate: softmax log-odds and margin over the best other candidate."""
        s = np.asarray(scores, dtype=float)
        if s.size == 0:
            return np.zeros((0, 2))
        p = np.clip(self.softmax(s), 1e-9, 1 - 1e-9)
        order = np.argsort(-s, kind="stable")
        best, second = s[order[0]], (s[order[1]] if s.size > 1 else s[order[0]])
        others = np.where(np.arange(s.size) == order[0], second, best)
        return np.column_stack([np.log(p / (1 - p)), s - others])


# fit_calibrator(score_cases(kb_cases(kb, 600, facts=mine_kb(kb, load_galaxy(kb))))) with kb = load_kb(), the
# embedded ATT&CK v15.0 bundle (12 LOCO + 600 synthetic cases; profiles with provenance weights and
# MISP galaxy victimology priors, victim prominence, default weights). Fitted on the KB and galaxies only.
DEFAULT_CALIBRATOR = Calibrator(
    temperature=6.435465, slope=0.272589, margin_slope=0.013328, intercept=-0.307345
)


def calibrator_to_dict(calibrator: Calibrator) -> dict[str, float]:
    """The calibrator's parameters as plain data (for the on-disk cache)."""
    return asdict(calibrator)
