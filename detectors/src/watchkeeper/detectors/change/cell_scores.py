"""Expected normal scores of rank cells, and CUSUM increments calibrated for them.

A value tied with earlier ones (or, once the reference is binned, sharing a bin with them)
is only known to rank somewhere in a *cell* ``[low, high]`` of rank fractions. Breaking
the tie at random makes its normal score exactly standard normal, but adds noise that has
nothing to do with the signal: on 0/1 values at 5% it is three quarters of the score's
variance. The score's expectation over the cell (Rao-Blackwell)::

    m = (phi(Phi^-1(low)) - phi(Phi^-1(high))) / (high - low)

has the same mean (0 on a stable stream, moved as much by a change) without that noise.
Its distribution on a stable stream is discrete, one value per cell, and skewed when one
value dominates, so a CUSUM on it cannot use the normal calibration as is.
:func:`calibrate_cells` gives each side of the CUSUM an increment ``slope * m - drift``
that is the log-likelihood ratio (divided by the shift) of the cell distribution against
its exponential tilt whose mean is moved by ``shift`` standard deviations: for normal
scores exactly ``m - shift / 2``, the textbook CUSUM; for 0/1 values, the Bernoulli
CUSUM. ``exp(shift * S)`` is then a martingale on a stable stream whatever the cell
shares, and the threshold that meets a false-alarm target follows from Siegmund's
approximation written for such increments
(:func:`~watchkeeper.detectors.change.calibration.tilted_cusum_arl`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from watchkeeper.detectors.change.calibration import overshoot_correction, tilted_cusum_threshold

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_CDF = NormalDist().inv_cdf
#: A side's tilted mean is at most this share of its largest score (a fall of a 5% event
#: rate by 0.3 standard deviations is impossible: it would be negative).
_MAX_TILT_SHARE = 0.8


def density_at_quantile(p: float) -> float:
    """``phi(Phi^-1(p))``: the standard normal density at the ``p`` quantile (0 at 0 and 1).

    >>> round(density_at_quantile(0.5), 4), density_at_quantile(1.0)
    (0.3989, 0.0)
    """
    if p <= 0.0 or p >= 1.0:
        return 0.0
    q = _INV_CDF(p)
    return math.exp(-0.5 * q * q) * _INV_SQRT_2PI


def expected_normal_score(low: float, high: float) -> float:
    """``E[Phi^-1(U)]`` for ``U`` uniform on the cell ``[low, high]`` of ``(0, 1)``.

    >>> round(expected_normal_score(0.0, 0.5), 4)  # the lower half: -2 phi(0)
    -0.7979
    >>> round(expected_normal_score(0.5, 0.5 + 1e-9), 6)  # a point: its quantile
    0.0
    """
    return (density_at_quantile(low) - density_at_quantile(high)) / (high - low)


@dataclass(frozen=True, slots=True)
class TiltedSide:
    """One side of a CUSUM on cell scores: increments ``slope * m - drift`` (``slope`` is
    negative for the lower side), for which ``exp(shift * S)`` is a martingale on a stable
    stream."""

    slope: float
    drift: float
    #: Siegmund's boundary correction for these increments (see ``overshoot_correction``).
    overshoot: float

    def threshold(self, target_arl: float, shift: float) -> float:
        """The threshold this side needs to raise a false alarm every ``target_arl`` values."""
        return tilted_cusum_threshold(target_arl, shift, self.drift, self.overshoot)


@dataclass(frozen=True, slots=True)
class CellScores:
    """How a CUSUM turns the expected normal score ``m`` of a value's cell into increments."""

    #: ``unit * m`` has variance 1 on a stable stream.
    unit: float
    up: TiltedSide
    down: TiltedSide

    def increments(
        self, target_arl: float, shift: float, threshold: float
    ) -> tuple[float, float, float, float]:
        """``(up_slope, up_drift, down_slope, down_drift)`` for a CUSUM alarming above
        ``threshold``, each side scaled so that it meets ``target_arl`` there."""
        up = threshold / self.up.threshold(target_arl, shift)
        down = threshold / self.down.threshold(target_arl, shift)
        return (
            up * self.up.slope,
            up * self.up.drift,
            down * self.down.slope,
            down * self.down.drift,
        )


def calibrate_cells(shares: Sequence[float], shift: float) -> CellScores | None:
    """Both sides of a CUSUM on the expected scores of cells with these ``shares``.

    ``shares`` are the cells' probabilities on a stable stream, in rank order. Each side's
    increment is the log-likelihood ratio (over ``shift``) of the cell distribution against
    its exponential tilt whose mean moved by ``shift`` standard deviations of the score
    that way (at most 80% of the way to the extreme score). None when fewer than two cells
    are occupied: there is nothing to score.

    >>> cells = calibrate_cells([0.5, 0.5], shift=0.3)
    >>> round(cells.unit * expected_normal_score(0.5, 1.0), 3)  # a fair coin: +-1
    1.0
    >>> round(cells.up.slope / cells.unit, 3), round(cells.up.drift, 3)  # Bernoulli CUSUM
    (1.032, 0.157)
    >>> round(cells.down.slope / cells.unit, 3)
    -1.032
    """
    occupied = [p for p in shares if p > 0.0]
    if len(occupied) < 2:
        return None
    total = sum(occupied)
    probabilities = [p / total for p in occupied]
    scores = []
    low = 0.0
    for p in probabilities:
        high = min(1.0, low + p)
        scores.append(expected_normal_score(low, high) if high > low else 0.0)
        low = high
    variance = sum(p * m * m for p, m in zip(probabilities, scores, strict=True))
    if variance <= 0.0:
        return None
    unit = 1.0 / math.sqrt(variance)
    standard = [m * unit for m in scores]
    overshoot = overshoot_correction(probabilities, standard)
    sides = []
    for sign in (1.0, -1.0):
        signed = [sign * s for s in standard]
        mean = min(shift, _MAX_TILT_SHARE * max(signed))
        lam, log_mgf = _tilt(probabilities, signed, mean)
        slope = lam / shift
        sides.append(TiltedSide(sign * slope * unit, log_mgf / shift, slope * overshoot))
    return CellScores(unit, sides[0], sides[1])


def _tilt(
    probabilities: Sequence[float], scores: Sequence[float], mean: float
) -> tuple[float, float]:
    """``(lam, log E[exp(lam s)])`` for the exponential tilt of the scores with this mean."""
    top = max(scores)

    def moments(lam: float) -> tuple[float, float, float]:
        weights = [
            p * math.exp(lam * (s - top)) for p, s in zip(probabilities, scores, strict=True)
        ]
        mass = sum(weights)
        first = sum(w * s for w, s in zip(weights, scores, strict=True)) / mass
        second = sum(w * s * s for w, s in zip(weights, scores, strict=True)) / mass
        return mass, first, second - first * first

    low, high = 0.0, 1.0
    while moments(high)[1] < mean and high < 1e6:
        low, high = high, 2.0 * high
    lam = min(max(mean, low), high)
    for _ in range(60):
        _, first, spread = moments(lam)
        if first < mean:
            low = lam
        else:
            high = lam
        step = (first - mean) / spread if spread > 0.0 else math.inf
        if abs(step) < 1e-12:
            break
        lam = lam - step if low < lam - step < high else 0.5 * (low + high)
        if high - low < 1e-12:
            break
    mass = moments(lam)[0]
    return lam, lam * top + math.log(mass)
