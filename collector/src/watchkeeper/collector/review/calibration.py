"""Detector scores measured against reviewers: how well would a threshold have flagged
the items reviewers failed?

Reviewers' labels are the ground truth. For a per-call score (``faithfulness_drift.
faithfulness``, ``prompt_injection.safety`` ...) and a rubric dimension, every labelled
call gives a pair (score, reviewer failed it). Sweeping the threshold over those pairs
shows precision and recall of "flag when the score is past the threshold", and suggests
the threshold with the best F1 — the number to put in a routing rule or a detector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ThresholdPoint:
    """How "flag past ``threshold``" agrees with reviewers."""

    threshold: float
    flagged: int
    true_positives: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Calibration:
    """A threshold sweep and its best point; ``flag_below`` says the flag direction."""

    pairs: int
    failures: int
    flag_below: bool
    points: list[ThresholdPoint]
    suggested: ThresholdPoint | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "pairs": self.pairs,
            "failures": self.failures,
            "flag": "below" if self.flag_below else "at_least",
            "suggested": asdict(self.suggested) if self.suggested else None,
            "points": [asdict(point) for point in self.points],
        }


def calibrate(pairs: Sequence[tuple[float, bool]], *, flag_below: bool) -> Calibration:
    """Sweep thresholds over ``(score, reviewer_failed)`` pairs.

    ``flag_below``: a low score is bad (faithfulness, consistency); otherwise a high score
    is bad (safety risk). Each distinct score is tried as a threshold: below it (or at
    least it) is flagged.

    >>> pairs = [(0.1, True), (0.2, True), (0.4, False), (0.9, False)]
    >>> best = calibrate(pairs, flag_below=True).suggested
    >>> best.threshold, best.precision, best.recall
    (0.4, 1.0, 1.0)
    """
    failures = sum(1 for _, failed in pairs if failed)
    thresholds = sorted({score for score, _ in pairs})
    if flag_below:
        # "below t" for every distinct t, plus one past the maximum to flag everything.
        thresholds = [*thresholds[1:], thresholds[-1] + 1e-9] if thresholds else []
    points = []
    for threshold in thresholds:
        flagged = [
            failed
            for score, failed in pairs
            if (score < threshold if flag_below else score >= threshold)
        ]
        hits = sum(flagged)
        precision = hits / len(flagged) if flagged else 0.0
        recall = hits / failures if failures else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        points.append(
            ThresholdPoint(
                threshold=round(threshold, 9),
                flagged=len(flagged),
                true_positives=hits,
                precision=round(precision, 4),
                recall=round(recall, 4),
                f1=round(f1, 4),
            )
        )
    useful = [p for p in points if p.f1 > 0]
    # Best F1; among equals the fewest flags (less review work for the same quality).
    suggested = min(useful, key=lambda p: (-p.f1, p.flagged)) if useful else None
    return Calibration(len(pairs), failures, flag_below, points, suggested)
