"""Follows one detector-key's signal: the change point and size of each alarm, and
whether the signal is still away from its reference afterwards."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from watchkeeper.detectors import native_core
from watchkeeper.detectors.effect.effect_size import Effect, measure
from watchkeeper.detectors.effect.severity import FoundAlarm

#: Reference values of the shadow CUSUMs that locate the change point, in SDs: half the
#: 0.3 SD shift the detectors are tuned for, and larger ones, whose last zero lies nearer
#: the start of a large change (a small one wanders above zero long before it).
SHADOW_KS = (0.15, 0.5, 1.0)
#: Rate ratios of the shadow CUSUMs of a signal that is 0 or 1 on every call (an event
#: rate): Bernoulli likelihood ratios against the reference rate, which place the change
#: point of a rate where standardised values cannot (one rare event is many SDs).
SHADOW_RATIOS = (0.5, 1.5, 2.0, 4.0)
#: Standardised values are clipped here: one wild value must not place the change point.
_CLIP = 8.0
#: Weight of each new value in the level followed while away.
SMOOTHING = 1.0 / 32.0
#: For an event rate (0 or 1 per call) the level weighs about this many events instead:
#: 32 calls hold no event of a 1% rate, and the level would read as back at once.
RATE_EVENTS = 50
#: Away ends when the followed level is within this share of the alarm's shift of the
#: reference mean: nearer the old level than the level that alarmed.
RETURN_SHARE = 0.5

Grade = Callable[[Effect | None], str]

#: The compiled core's ``_extend`` (see :mod:`~watchkeeper.detectors.native_core`), or None.
_CORE = native_core.effect_core()


def _total(values: npt.NDArray[np.float64]) -> float:
    """The sum of ``values`` from left to right (what the core adds too; ``sum`` and ``dot``
    add in an order of their own)."""
    return float(np.add.accumulate(values)[-1]) if values.size else 0.0


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
            self.n, self.s1, self.s2 = tail.size, _total(tail), _total(tail * tail)
        else:
            self.n += values.size
            self.s1 += _total(values)
            self.s2 += _total(values * values)
        self.statistic = float(statistic[-1])


class EffectTracker:
    """The change point and size of a detector-key's changes, from the signal it watches.

    Shadow CUSUMs (up and down, for each reference value in ``SHADOW_KS`` SDs) run on the
    signal standardised by its mean and SD since the detector last relearned; each one's
    last zero is a candidate change point (a CUSUM's maximum-likelihood one for a shift of
    twice its reference). When the detector alarms, the calls after each candidate are
    compared with those before
    (:func:`~watchkeeper.detectors.effect.effect_size.measure`) and the candidate whose
    shift is the most significant (the largest ``|shift| / (sd_ref sqrt(1/m + 1/n))``, ``m``
    calls after it and ``n`` before) is taken. All
    state is a few sums per shadow: nothing per call is kept.

    After an alarm the key is *away* until its level (an exponentially weighted mean of
    the signal, weight ``SMOOTHING`` per value, started at the mean since the change
    point) is back within ``RETURN_SHARE`` of the alarm's shift of the reference mean, or
    until an alarm whose new level is (the return detected as a change of its own). Such a
    return alarm does not send the key away from the changed level it came back from.
    """

    #: The effect of the last alarm the key went away from, back or not.
    _last_away: Effect | None = None

    def __init__(self) -> None:
        self._relearn()
        #: The effect of the alarm the signal has not come back from; None when back.
        self.away: Effect | None = None
        #: Severity of that alarm ("" when not away).
        self.away_severity = ""
        self._level = math.nan
        self._smoothing = SMOOTHING

    def _relearn(self) -> None:
        self._anchor = math.nan
        self._n = 0
        self._s1 = self._s2 = 0.0
        self._sides = [(sign, k, _Side()) for k in SHADOW_KS for sign in (1.0, -1.0)]
        #: Events so far while every value was 0 or 1; None once one was not.
        self._events: int | None = 0
        self._rate_sides = [(r, _Side()) for r in SHADOW_RATIOS]

    def measure(
        self, signal: Sequence[float | None] | None, alarms: Sequence[tuple[int, str]], grade: Grade
    ) -> list[FoundAlarm]:
        """Follow a run's signal (one value per call, None or NaN for none) and size its alarms
        (``(index, reason)`` in the run, in order); ``grade`` gives an effect's severity."""
        values = signal if signal is not None else []
        found = []
        start = 0
        for index, reason in alarms:
            self._extend(values, start, index + 1)
            effect = self._effect()
            severity = grade(effect)
            found.append(FoundAlarm(index, reason, effect, severity))
            self._smoothing = SMOOTHING
            if self._events is not None and effect is not None and effect.reference > 0.0:
                self._smoothing = min(SMOOTHING, effect.reference / RATE_EVENTS)
            self._relearn()
            self._set_away(effect, severity)
            start = index + 1
        self._extend(values, start, len(values))
        return found

    def _extend(self, signal: Sequence[float | None], start: int, stop: int) -> None:
        if _CORE is not None and type(signal) is list and self._extend_in_core(signal, start, stop):
            return
        values = np.asarray(signal[start:stop], dtype=np.float64)
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
        for sign, k, side in self._sides:
            side.extend(sign * z - k, d)
        self._extend_rates(x, d)
        self._n = n + d.size
        self._s1 += _total(d)
        self._s2 += _total(d * d)

    def _extend_in_core(self, signal: list[float | None], start: int, stop: int) -> bool:
        """``_extend`` by the core; False when it declined (Python then runs)."""
        assert _CORE is not None
        # Called per run and detector-key: the sides' sums are read and written slot by slot.
        rate_sides = self._rate_sides
        rates = None
        if self._events is not None:
            steps = self._rate_steps()
            rates = [
                (hit, miss, (side.statistic, side.n, side.s1, side.s2))
                for (hit, miss), (_, side) in zip(steps, rate_sides, strict=True)
            ]
        away = self.away
        follow = None
        if away is not None:
            follow = (self._level, away.reference, RETURN_SHARE * abs(away.shift), self._smoothing)
        sides = self._sides
        found = _CORE.effect_extend(
            signal,
            start,
            stop,
            tracker=(self._anchor, self._n, self._s1, self._s2),
            sides=[
                (sign, k, (side.statistic, side.n, side.s1, side.s2)) for sign, k, side in sides
            ],
            rates=rates,
            away=follow,
        )
        if found is None:
            return False
        tracker, sums, rated, followed = found
        self._anchor, self._n, self._s1, self._s2 = tracker
        for (_, _, side), (statistic, n, s1, s2) in zip(sides, sums, strict=True):
            side.statistic, side.n, side.s1, side.s2 = statistic, n, s1, s2
        if rated is None:
            self._events = None
        elif self._events is not None:
            events, rate_sums = rated
            self._events += events
            for (_, side), (statistic, n, s1, s2) in zip(rate_sides, rate_sums, strict=True):
                side.statistic, side.n, side.s1, side.s2 = statistic, n, s1, s2
        if followed is not None:
            self._level, back = followed
            if back:
                self.away, self.away_severity = None, ""
        return True

    def _rate_steps(self) -> list[tuple[float, float]]:
        """Each rate side's steps: for an event, and for a call without one."""
        n, events = self._n, self._events or 0
        p0 = min(0.5, (events + 0.5) / (n + 1.0))
        log = math.log
        return [
            (log(p1 / p0), log((1.0 - p1) / (1.0 - p0)))
            for p1 in [min(0.99, ratio * p0) for ratio, _ in self._rate_sides]
        ]

    def _extend_rates(self, x: npt.NDArray[np.float64], d: npt.NDArray[np.float64]) -> None:
        if self._events is None:
            return
        if not np.all((x == 0.0) | (x == 1.0)):
            self._events = None
            return
        events = self._events
        for (hit, miss), (_, side) in zip(self._rate_steps(), self._rate_sides, strict=True):
            side.extend(np.where(x == 1.0, hit, miss), d)
        self._events = events + int(x.sum())

    def _effect(self) -> Effect | None:
        if self._events is not None:
            return self._rate_effect()
        best, best_t = None, -1.0
        for _, _, side in self._sides:
            before = (self._n - side.n, self._s1 - side.s1, self._s2 - side.s2)
            effect = measure(before, (side.n, side.s1, side.s2), self._anchor)
            if effect is None:
                continue
            # Significance against the reference's spread (a few values since the change
            # can have almost none of their own).
            ref = self._n - side.n
            size = math.inf if math.isnan(effect.sd) else abs(effect.sd)
            t = size / math.sqrt(1.0 / side.n + 1.0 / ref)
            if t > best_t:
                best, best_t = effect, t
        return best

    def _rate_effect(self) -> Effect | None:
        """The effect at the rate shadow's change point with the largest binomial
        likelihood ratio (a normal test would take one event after the change point for
        the most significant segment)."""
        best, best_g = None, -1.0
        events = self._events or 0
        for _, side in self._rate_sides:
            before = (self._n - side.n, self._s1 - side.s1, self._s2 - side.s2)
            effect = measure(before, (side.n, side.s1, side.s2), self._anchor)
            if effect is None:
                continue
            since = round(side.s1 + side.n * self._anchor)
            g = _deviance(events - since, self._n - side.n, since, side.n)
            if g > best_g:
                best, best_g = effect, g
        return best

    def _set_away(self, effect: Effect | None, severity: str) -> None:
        """Away from this alarm's reference, unless the alarm is the return to the
        reference of the last alarm the key was away from (the detector relearned the
        changed level, so coming back is a change too; the level may have been seen back
        a few calls before that alarm completed)."""
        level = effect.reference + effect.shift if effect is not None else math.nan
        last = self._last_away
        if effect is None or (
            last is not None and abs(level - last.reference) <= RETURN_SHARE * abs(last.shift)
        ):
            self.away, self.away_severity, self._level = None, "", math.nan
            self._last_away = None
        else:
            self.away, self.away_severity, self._level = effect, severity, level
            self._last_away = effect

    def _follow(self, values: npt.NDArray[np.float64]) -> None:
        away = self.away
        assert away is not None
        level, reference = self._level, away.reference
        band = RETURN_SHARE * abs(away.shift)
        weight = self._smoothing
        for x in values.tolist():
            level += weight * (x - level)
            if abs(level - reference) <= band:
                self.away, self.away_severity = None, ""
                break
        self._level = level


def _deviance(x0: int, n0: int, x1: int, n1: int) -> float:
    """The likelihood-ratio statistic of ``x1`` events in ``n1`` calls against ``x0`` in
    ``n0`` (one rate for both against one each)."""

    def loglik(x: float, n: float) -> float:
        p = x / n
        return (x * math.log(p) if x > 0 else 0.0) + ((n - x) * math.log(1.0 - p) if x < n else 0.0)

    return 2.0 * (loglik(x0, n0) + loglik(x1, n1) - loglik(x0 + x1, n0 + n1))
