"""Thresholds from false-alarm targets: how a CUSUM is calibrated.

A one-sided CUSUM ``S = max(0, S + z - k)`` on independent standard normal scores ``z``
raises a false alarm, on average, every ``ARL0(k, h)`` observations (the in-control
average run length) when it alarms at ``S > h``. Siegmund's corrected diffusion
approximation gives ``ARL`` in closed form and is within a few percent of simulation for
normal increments (``tests/bench/detectors`` checks it)::

    ARL(k, h, shift) = (exp(-2 d b) + 2 d b - 1) / (2 d^2),  d = shift - k,  b = h + 1.166

so the threshold for a target false-alarm rate is found by inverting it. The detectors
make their scores exactly standard normal under a stable stream (sequential ranks, see
:mod:`~watchkeeper.detectors.change.rank_cusum`), which is what makes this calibration
hold for any signal, not only Gaussian ones.
"""

from __future__ import annotations

import math

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
