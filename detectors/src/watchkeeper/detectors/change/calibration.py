"""Thresholds from false-alarm targets: how a CUSUM is calibrated.

A one-sided CUSUM ``S = max(0, S + z - k)`` on independent standard normal scores ``z``
raises a false alarm, on average, every ``ARL0(k, h)`` observations (the in-control
average run length) when it alarms at ``S > h``. Siegmund's corrected diffusion
approximation gives ``ARL`` in closed form and is within a few percent of simulation for
normal increments (``bench/detectors`` checks it)::

    ARL(k, h, shift) = (exp(-2 d b) + 2 d b - 1) / (2 d^2),  d = shift - k,  b = h + 1.166

so the threshold for a target false-alarm rate is found by inverting it. The detectors
make their scores exactly standard normal under a stable stream (sequential ranks, see
:mod:`~watchkeeper.detectors.change.rank_cusum`), which is what makes this calibration
hold for any signal, not only Gaussian ones.

The same approximation holds for increments that are not normal (the expected scores of
tied values, :mod:`~watchkeeper.detectors.change.cell_scores`) once written with what it
stands for: the rate ``r`` at which ``exp(r S)`` stays a martingale (``2 k`` for normal
increments), the increments' mean ``-drift`` (``-k``) and the shift of the boundaries by
the overshoot of the random walk, which depends on the increments' whole distribution
(1.166 standard deviations for normal ones; Siegmund, *Sequential Analysis*, 1985, ch. X)::

    ARL = (exp(r b) - r b - 1) / (r drift),  b = h + overshoot

Within a few percent of simulation for 0/1 values from 50% down to 1%
(``tests/detectors/test_change.py`` checks it against an exact Markov chain).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Siegmund's correction for the overshoot of a normal random walk over a boundary (2 x 0.583).
OVERSHOOT = 1.166


def cusum_arl(k: float, h: float, shift: float = 0.0) -> float:
    """Average run length of a one-sided CUSUM on ``N(shift, 1)`` scores (Siegmund).

    ``shift = 0`` gives the mean number of observations between false alarms; a positive
    ``shift`` gives the mean detection delay of a change of that size (in standard deviations).

    >>> round(cusum_arl(k=0.5, h=5.0))  # the textbook chart: about 930 one-sided
    938
    >>> round(cusum_arl(k=0.5, h=5.0, shift=1.0), 1)
    10.3
    """
    b = h + OVERSHOOT
    d = shift - k
    if abs(d) < 1e-12:
        return b * b
    exponent = -2.0 * d * b
    if exponent > 700.0:  # exp overflows; the run length is astronomically long
        return math.inf
    return (math.exp(exponent) + 2.0 * d * b - 1.0) / (2.0 * d * d)


def cusum_threshold(target_arl: float, k: float) -> float:
    """The alarm threshold ``h`` that gives ``target_arl`` observations between false alarms.

    >>> round(cusum_threshold(200_000, k=0.15), 2)
    29.19
    >>> round(cusum_arl(0.15, cusum_threshold(200_000, k=0.15)))
    200000
    """
    if target_arl <= 1.0:
        raise ValueError(f"target_arl must be greater than 1, got {target_arl}")
    if k <= 0.0:
        raise ValueError(f"k must be positive, got {k}")
    low, high = 0.0, 1.0
    while cusum_arl(k, high) < target_arl:
        high *= 2.0
    for _ in range(100):
        mid = (low + high) / 2.0
        if cusum_arl(k, mid) < target_arl:
            low = mid
        else:
            high = mid
    return high


def tilted_cusum_arl(h: float, rate: float, drift: float, overshoot: float) -> float:
    """Average run length of a CUSUM whose increments ``y`` have ``E[exp(rate y)] = 1``.

    ``drift`` is minus the increments' mean and ``overshoot`` the shift of the boundaries
    (see :func:`overshoot_correction`). Normal increments ``N(-k, 1)`` have ``rate = 2k``,
    ``drift = k`` and ``overshoot = OVERSHOOT``, which gives back :func:`cusum_arl`:

    >>> round(tilted_cusum_arl(5.0, rate=1.0, drift=0.5, overshoot=OVERSHOOT))
    938
    """
    x = rate * (h + overshoot)
    if x > 700.0:  # exp overflows; the run length is astronomically long
        return math.inf
    return (math.exp(x) - x - 1.0) / (rate * drift)


def tilted_cusum_threshold(target_arl: float, rate: float, drift: float, overshoot: float) -> float:
    """The threshold ``h`` at which :func:`tilted_cusum_arl` is ``target_arl``.

    >>> round(tilted_cusum_threshold(200_000, rate=0.3, drift=0.15, overshoot=OVERSHOOT), 2)
    29.19
    """
    if target_arl <= 1.0:
        raise ValueError(f"target_arl must be greater than 1, got {target_arl}")
    if rate <= 0.0 or drift <= 0.0:
        raise ValueError(f"rate and drift must be positive, got {rate} and {drift}")
    low, high = -overshoot, 1.0
    while tilted_cusum_arl(high, rate, drift, overshoot) < target_arl:
        high *= 2.0
    for _ in range(100):
        mid = (low + high) / 2.0
        if tilted_cusum_arl(mid, rate, drift, overshoot) < target_arl:
            low = mid
        else:
            high = mid
    return high


def overshoot_correction(probabilities: Sequence[float], values: Sequence[float]) -> float:
    """How far the boundaries of a CUSUM on these increments move: ``b = h + correction``.

    Siegmund's correction for a random walk with this increment distribution: its standard
    deviation times ``-(2 / pi) * integral over l > 0 of log|2 (1 - g(l)) / l^2| / l^2``,
    ``g`` the characteristic function of the standardised increment. 1.166 for normal
    increments; less for symmetric two-point ones (no overshoot on a lattice), more for
    skewed ones (a rare value jumps far over the boundary).

    >>> from statistics import NormalDist
    >>> cut = [NormalDist().cdf(x / 20) for x in range(-100, 101)]
    >>> shares = [b - a for a, b in zip([0.0, *cut], [*cut, 1.0])]
    >>> round(overshoot_correction(shares, [x / 20 for x in range(-101, 101)]), 2)
    1.17
    >>> round(overshoot_correction([0.5, 0.5], [-1.0, 1.0]), 2)
    0.98
    """
    import numpy as np  # calibration only, never per call

    p = np.asarray(probabilities, dtype=float)
    x = np.asarray(values, dtype=float)
    # Sums rather than matrix products: BLAS threads cost far more than they save here.
    mean = float(np.sum(p * x))
    sd = math.sqrt(float(np.sum(p * (x - mean) ** 2)))
    if sd == 0.0:
        return 0.0
    x = (x - mean) / sd
    reach, points = 20.0, 1000
    step = reach / points
    grid = (np.arange(points) + 0.5) * step
    angles = np.outer(grid, x)
    real = 1.0 - np.sum(np.cos(angles) * p, axis=1)
    imaginary = np.sum(np.sin(angles) * p, axis=1)
    ratio = np.maximum(2.0 * np.hypot(real, imaginary), 1e-300) / grid**2
    integral = float(np.sum(np.log(ratio) / grid**2)) * step
    # Beyond the reach log|1 - g| averages to 0 (Jensen's formula), so the integrand is
    # (log 2 - 2 log l) / l^2, whose integral is closed-form.
    integral += (math.log(2.0) - 2.0 * math.log(reach) - 2.0) / reach
    return -2.0 / math.pi * integral * sd
