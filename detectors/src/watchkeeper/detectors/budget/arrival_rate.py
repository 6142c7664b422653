"""How many calls a key sees per second, from the calls' own timestamps."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Time constant of the rate estimate: an hour of traffic weighs most.
TIME_CONSTANT_S = 3600.0
#: The shortest span a rate is measured over: one call alone reads as 1 call/s.
MIN_SPAN_S = 1.0


class ArrivalRate:
    """An exponentially weighted count of arrivals: calls per second over about the last
    ``time_constant_s``, by the calls' timestamps (a replay at any speed reads the same).

    Each call weighs ``exp(-age / time_constant_s)``; for a steady rate ``r`` the weights
    sum to ``r * tau * (1 - exp(-span / tau))`` after ``span`` seconds, which is divided
    out, so the estimate is unbiased from the first calls on and settles as the span grows.
    Timestamps going backwards count as the latest seen.

    >>> rate = ArrivalRate()
    >>> rate.add([i / 100 for i in range(60_000)])  # 100 calls/s for 10 minutes
    >>> round(rate.per_second, 1)
    100.0
    """

    def __init__(self, time_constant_s: float = TIME_CONSTANT_S) -> None:
        if not time_constant_s > 0:
            raise ValueError(f"time_constant_s must be positive, got {time_constant_s}")
        self.time_constant_s = time_constant_s
        self._weight = 0.0
        self._first = math.nan
        self._last = math.nan

    def add(self, timestamps_s: Sequence[float]) -> None:
        """Count calls that arrived at these times (seconds since any fixed epoch)."""
        if not len(timestamps_s):
            return
        times = np.maximum.accumulate(np.asarray(timestamps_s, dtype=np.float64))
        if math.isnan(self._first):
            self._first = self._last = float(times[0])
        times = np.maximum(times, self._last)
        end = float(times[-1])
        tau = self.time_constant_s
        kept = self._weight * math.exp(-(end - self._last) / tau)
        self._weight = kept + float(np.exp((times - end) / tau).sum())
        self._last = end

    @property
    def per_second(self) -> float:
        """Calls per second (0 before any call)."""
        if math.isnan(self._first):
            return 0.0
        span = max(self._last - self._first, MIN_SPAN_S)
        tau = self.time_constant_s
        return self._weight / (tau * -math.expm1(-span / tau))
