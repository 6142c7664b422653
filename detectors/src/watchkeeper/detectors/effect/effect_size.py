"""The size of a detected change, in the signal's own units and in reference SDs."""

from __future__ import annotations

import math
from typing import NamedTuple

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
#: Calls since the change whose own variance enters the interval; fewer use the
#: reference's (the variance of a handful of values can be near zero by chance).
MIN_CALLS_FOR_VARIANCE = 10


class Effect(NamedTuple):
    """How far the signal moved at a change point, measured on the calls since it.

    ``shift`` is the mean of the calls since the change point minus the reference mean
    (the calls before it, since the detector last relearned), in the signal's own units
    (seconds, tokens, a score, a rate); ``lo``..``hi`` its normal 95% interval (Welch: the
    variances of both parts; the reference's for both below ``MIN_CALLS_FOR_VARIANCE``
    calls since the change); ``sd`` the shift in reference standard deviations, or, when
    the reference did not vary (a consistency score of 1 on every call), in standard
    deviations of the calls since the change; NaN when neither part varied (the size of a
    step between two constants has no scale). The change
    point is where the CUSUM that alarmed last left zero, so the calls were selected for
    being unusual: the shift is biased away from zero, most on alarms after few calls.
    """

    shift: float
    sd: float
    lo: float
    hi: float
    #: Calls since the estimated change point (the alarmed call included).
    calls: int
    #: Mean and standard deviation of the reference the shift is measured against.
    reference: float
    reference_sd: float

    @property
    def ratio_low(self) -> float:
        """The lower end of the interval of ``(reference + shift) / reference``: at least
        how many times the reference level the signal is now (inf from a zero reference)."""
        if self.reference > 0.0:
            return (self.reference + self.lo) / self.reference
        return math.inf if self.lo > 0.0 else 0.0

    def describe(self, unit: str = "") -> str:
        """``mean +0.42 s (+1.3 SD, 95% +0.30..+0.54) over 57 calls``."""
        space = f" {unit}" if unit else ""
        if math.isnan(self.sd):
            size = "size in SD unknown: constant before and since"
        elif self.reference_sd > 0.0:
            size = f"{self.sd:+.2g} SD"
        else:
            size = f"{self.sd:+.2g} SD of the calls since; constant before"
        return (
            f"mean {self.shift:+.3g}{space} ({size}, "
            f"95% {self.lo:+.3g}..{self.hi:+.3g}) over {self.calls} calls since the change"
        )


def measure(
    before: tuple[int, float, float], since: tuple[int, float, float], anchor: float
) -> Effect | None:
    """The effect of ``since`` against ``before``, each ``(n, sum, sum of squares)`` of the
    values minus ``anchor``; None when the reference has fewer than 2 values or no call
    followed the change point."""
    n_ref, s1_ref, s2_ref = before
    m, s1, s2 = since
    if n_ref < 2 or m < 1:
        return None
    mean_ref = s1_ref / n_ref
    var_ref = max(0.0, (s2_ref - s1_ref * mean_ref) / (n_ref - 1))
    mean = s1 / m
    var = max(0.0, (s2 - s1 * mean) / (m - 1)) if m >= MIN_CALLS_FOR_VARIANCE else var_ref
    shift = mean - mean_ref
    sd_ref = math.sqrt(var_ref)
    half = Z95 * math.sqrt(var / m + var_ref / n_ref)
    # A constant reference has no spread to measure in: the calls since give the scale.
    scale = sd_ref if sd_ref > 0.0 else _spread(since)
    in_sds = shift / scale if scale > 0.0 else 0.0 if shift == 0.0 else math.nan
    return Effect(shift, in_sds, shift - half, shift + half, m, anchor + mean_ref, sd_ref)


def _spread(part: tuple[int, float, float]) -> float:
    """The sample standard deviation of ``(n, sum, sum of squares)``; 0 below 2 values."""
    n, s1, s2 = part
    if n < 2:
        return 0.0
    return math.sqrt(max(0.0, (s2 - s1 * s1 / n) / (n - 1)))
