"""Follows one detector-key's signal: the change point and size of each alarm, and
whether the signal is still away from its reference afterwards."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from watchkeeper.detectors.effect.effect_size import Effect, measure
from watchkeeper.detectors.effect.severity import FoundAlarm

#: Reference value of the shadow CUSUMs that locate the change point, in SDs (half the
#: 0.3 SD shift the detectors are tuned for).
SHADOW_K = 0.15
#: Standardised values are clipped here: one wild value must not place the change point.
_CLIP = 8.0
#: Weight of each new value in the level followed while away.
SMOOTHING = 1.0 / 32.0
#: Away ends when the followed level is within this share of the alarm's shift of the
#: reference mean: nearer the old level than the level that alarmed.
RETURN_SHARE = 0.5

Grade = Callable[[Effect | None], str]


class _Side:
    """A shadow CUSUM on one side and the sums of the values since it last left zero."""

    __slots__ = ("n", "s1", "s2", "statistic")

    def __init__(self) -> None:
        self.statistic = 0.0
        self.n = 0
        self.s1 = self.s2 = 0.0

    def extend(self, steps: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> None:
        # S_t = max(0, S_t-1 + step_t) in closed form over the run: the cumulative sum
        # minus its running minimum (started at -S_0). S_t is 0 exactly where they meet.
        total = np.cumsum(steps)
        floor = np.minimum.accumulate(np.minimum(total, -self.statistic))
        statistic = total - floor
        zeros = np.flatnonzero(statistic <= 0.0)
        if zeros.size:
            tail = values[int(zeros[-1]) + 1 :]
            self.n, self.s1, self.s2 = tail.size, float(tail.sum()), float(np.dot(tail, tail))
        else:
            self.n += values.size
            self.s1 += float(values.sum())
            self.s2 += float(np.dot(values, values))
        self.statistic = float(statistic[-1])


class EffectTracker:
    """The change point and size of a detector-key's changes, from the signal it watches.

    Two shadow CUSUMs (up and down, reference ``SHADOW_K`` SDs) run on the signal
    standardised by its mean and SD since the detector last relearned; when the detector
    alarms, the change point is where the higher one last left zero (the maximum-likelihood
    change point of a CUSUM). The calls after it are compared with those before
    (:func:`~watchkeeper.detectors.effect.effect_size.measure`). All state is a few sums:
    nothing per call is kept.

    After an alarm the key is *away* until its level (an exponentially weighted mean of
    the signal, weight ``SMOOTHING`` per value, started at the mean since the change
    point) is back within ``RETURN_SHARE`` of the alarm's shift of the reference mean.
    """

    def __init__(self) -> None:
        self._relearn()
        #: The effect of the alarm the signal has not come back from; None when back.
        self.away: Effect | None = None
        #: Severity of that alarm ("" when not away).
        self.away_severity = ""
        self._level = math.nan

    def _relearn(self) -> None:
        self._anchor = math.nan
        self._n = 0
        self._s1 = self._s2 = 0.0
        self._up, self._down = _Side(), _Side()

    def measure(
        self, signal: Sequence[float | None] | None, alarms: Sequence[tuple[int, str]], grade: Grade
    ) -> list[FoundAlarm]:
        """Follow a run's signal (one value per call, None or NaN for none) and size its alarms
        (``(index, reason)`` in the run, in order); ``grade`` gives an effect's severity."""
        values = np.asarray(signal if signal is not None else [], dtype=np.float64)
        found = []
        start = 0
        for index, reason in alarms:
            self._extend(values[start : index + 1])
            effect = self._effect()
            severity = grade(effect)
            found.append(FoundAlarm(index, reason, effect, severity))
            self._relearn()
            self.away, self.away_severity = (effect, severity) if effect else (None, "")
            self._level = effect.reference + effect.shift if effect else math.nan
            start = index + 1
        self._extend(values[start:])
        return found

    def _extend(self, values: npt.NDArray[np.float64]) -> None:
        x = values[np.isfinite(values)]
        if not x.size:
            return
        if self.away is not None:
            self._follow(x)
        if math.isnan(self._anchor):
            self._anchor = float(x[0])
        d = x - self._anchor
        n = self._n
        z = np.zeros_like(d)
        if n >= 2:
            mean = self._s1 / n
            sd = math.sqrt(max(0.0, (self._s2 - self._s1 * mean) / (n - 1)))
            z = np.clip((d - mean) / sd if sd > 0.0 else np.sign(d - mean) * _CLIP, -_CLIP, _CLIP)
        self._up.extend(z - SHADOW_K, d)
        self._down.extend(-z - SHADOW_K, d)
        self._n = n + d.size
        self._s1 += float(d.sum())
        self._s2 += float(np.dot(d, d))

    def _effect(self) -> Effect | None:
        side = self._up if self._up.statistic >= self._down.statistic else self._down
        before = (self._n - side.n, self._s1 - side.s1, self._s2 - side.s2)
        return measure(before, (side.n, side.s1, side.s2), self._anchor)

    def _follow(self, values: npt.NDArray[np.float64]) -> None:
        away = self.away
        assert away is not None
        level, reference = self._level, away.reference
        band = RETURN_SHARE * abs(away.shift)
        for x in values.tolist():
            level += SMOOTHING * (x - level)
            if abs(level - reference) <= band:
                self.away, self.away_severity = None, ""
                break
        self._level = level
