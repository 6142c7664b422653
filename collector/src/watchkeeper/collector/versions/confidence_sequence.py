"""An always-valid confidence interval for the mean of a bounded score.

The predictable plug-in empirical-Bernstein confidence sequence of Waudby-Smith and
Ramdas ("Estimating means of bounded random variables by betting", JRSS-B 2024,
Theorem 2), written here from the paper's formulas. For scores in [0, 1] with a constant
mean, the probability that the interval *ever* misses the mean — at any of the
(unboundedly many) times it is looked at — is at most ``alpha``. So the interval can be
checked after every call, and a decision taken the first time it excludes a value keeps
its advertised error rate, unlike a fixed-sample test looked at repeatedly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The largest bet: the paper's suggested truncation (any value in (0, 1) is valid).
MAX_BET = 0.5


@dataclass
class MeanConfidenceSequence:
    """Running interval for the mean of scores in [0, 1].

    >>> sequence = MeanConfidenceSequence(alpha=0.05)
    >>> for score in [0.8, 0.9, 0.85, 0.95] * 250:
    ...     sequence.update(score)
    >>> low, high = sequence.interval
    >>> round(low, 3), round(high, 3), sequence.count
    (0.866, 0.884, 1000)
    """

    alpha: float = 0.05
    count: int = 0
    #: Running sums the interval is made of.
    _total: float = 0.0
    _squares: float = 0.25
    _weighted: float = 0.0
    _bets: float = 0.0
    _penalty: float = 0.0

    def update(self, score: float) -> None:
        """Add one score (clamped to [0, 1]; NaN is ignored)."""
        if math.isnan(score):
            return
        score = min(1.0, max(0.0, score))
        mean_before = (0.5 + self._total) / (self.count + 1)
        variance_before = self._squares / (self.count + 1)
        self.count += 1
        step = self.count
        bet = min(
            math.sqrt(2 * math.log(2 / self.alpha) / (variance_before * step * math.log1p(step))),
            MAX_BET,
        )
        residual = (score - mean_before) ** 2
        self._weighted += bet * score
        self._bets += bet
        # v_i * psi_E(bet) of the paper: 4 r * (-log(1 - bet) - bet) / 4
        self._penalty += residual * (-math.log1p(-bet) - bet)
        self._total += score
        mean_now = (0.5 + self._total) / (self.count + 1)
        self._squares += (score - mean_now) ** 2

    @property
    def mean(self) -> float:
        """The plain running mean (NaN before any score)."""
        return self._total / self.count if self.count else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        """``(low, high)``, valid at every time at once with probability ``1 - alpha``."""
        if not self.count:
            return 0.0, 1.0
        centre = self._weighted / self._bets
        width = (math.log(2 / self.alpha) + self._penalty) / self._bets
        return max(0.0, centre - width), min(1.0, centre + width)
