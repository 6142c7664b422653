"""Live comparison of one score between a baseline and a candidate version of a route.

Each version's scores feed a :class:`MeanConfidenceSequence` at level ``alpha / 2``; the
difference of their intervals holds the difference of means (candidate - baseline) at
every time at once with probability at least ``1 - alpha``. So the verdict can be read
after every call, and the chance that an identical candidate is ever called "regressed"
or "improved" stays below ``alpha`` however long it runs:

- ``regressed``: the whole interval lies on the worse side of ``-tolerance``;
- ``improved``: the whole interval lies on the better side of 0;
- ``no difference beyond tolerance``: the interval lies within ``±tolerance`` (tolerance > 0);
- ``no detectable difference at this traffic``: none of these yet.

Scores must lie in [0, 1] (faithfulness, judge scores, refusal or error indicators).
Each version's scores are assumed to share one mean while they are compared (a stable
version on stable traffic); calls are not paired.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from watchkeeper.collector.versions.confidence_sequence import MeanConfidenceSequence

REGRESSED = "regressed"
IMPROVED = "improved"
EQUIVALENT = "no difference beyond tolerance"
UNDECIDED = "no detectable difference at this traffic"


@dataclass(frozen=True)
class Verdict:
    """Where the comparison stands."""

    verdict: str
    baseline_mean: float
    candidate_mean: float
    #: candidate - baseline, and its always-valid interval.
    difference: float
    low: float
    high: float
    baseline_calls: int
    candidate_calls: int


@dataclass
class VersionComparison:
    """Baseline against candidate for one score.

    >>> import random
    >>> rng = random.Random(7)
    >>> comparison = VersionComparison(higher_is_better=True)
    >>> for _ in range(3000):
    ...     comparison.add_baseline(rng.betavariate(8, 2))
    ...     comparison.add_candidate(rng.betavariate(7, 3))
    >>> comparison.verdict().verdict
    'regressed'
    """

    alpha: float = 0.05
    higher_is_better: bool = True
    tolerance: float = 0.0
    baseline: MeanConfidenceSequence = field(init=False)
    candidate: MeanConfidenceSequence = field(init=False)
    #: Calls (both versions) when the verdict first became a decision; None before.
    decided_at: int | None = field(default=None, init=False)
    decided: str = field(default=UNDECIDED, init=False)

    def __post_init__(self) -> None:
        self.baseline = MeanConfidenceSequence(alpha=self.alpha / 2)
        self.candidate = MeanConfidenceSequence(alpha=self.alpha / 2)

    def add_baseline(self, score: float) -> None:
        """One score of the baseline version."""
        self.baseline.update(score)
        self._note()

    def add_candidate(self, score: float) -> None:
        """One score of the candidate version."""
        self.candidate.update(score)
        self._note()

    def verdict(self) -> Verdict:
        """The verdict now, with the effect size and its interval."""
        low, high = self._difference_interval()
        verdict = self._decide(low, high)
        b_mean, c_mean = self.baseline.mean, self.candidate.mean
        return Verdict(
            verdict=verdict,
            baseline_mean=b_mean,
            candidate_mean=c_mean,
            difference=c_mean - b_mean if not math.isnan(b_mean + c_mean) else math.nan,
            low=low,
            high=high,
            baseline_calls=self.baseline.count,
            candidate_calls=self.candidate.count,
        )

    def _difference_interval(self) -> tuple[float, float]:
        b_low, b_high = self.baseline.interval
        c_low, c_high = self.candidate.interval
        return c_low - b_high, c_high - b_low

    def _decide(self, low: float, high: float) -> str:
        worst, best = (low, high) if self.higher_is_better else (-high, -low)
        if best < -self.tolerance:
            return REGRESSED
        if worst > 0:
            return IMPROVED
        if self.tolerance > 0 and -self.tolerance < worst and best < self.tolerance:
            return EQUIVALENT
        return UNDECIDED

    def _note(self) -> None:
        if self.decided_at is not None:
            return
        current = self._decide(*self._difference_interval())
        if current in {REGRESSED, IMPROVED}:
            self.decided, self.decided_at = current, self.baseline.count + self.candidate.count
