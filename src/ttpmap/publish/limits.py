"""Bounding what an analysis exports: indicators past the cap are dropped and counted in a note."""

from __future__ import annotations

from ttpmap.models import Analysis


def cap_iocs(analysis: Analysis, limit: int) -> Analysis:
    """The analysis with at most ``limit`` indicators (the first ones, in extraction order).

    When indicators are dropped, a note in ``analysis.notes`` says how many; the original is unchanged.
    """
    total = len(analysis.iocs)
    if total <= limit:
        return analysis
    note = (
        f"Only the first {limit:,} of {total:,} indicators are included; the rest were left out "
        "(TTPMAP_MAX_IOCS)."
    )
    return analysis.model_copy(update={"iocs": analysis.iocs[:limit], "notes": [*analysis.notes, note]})
