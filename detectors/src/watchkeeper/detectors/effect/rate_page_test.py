"""Whether an event rate has reached the paging ratio: a Bernoulli likelihood-ratio CUSUM.

A rate detector (errors, refusals, unsafe answers) alarms on any significant rise; whether
that rise is worth a page was decided afterwards, from an interval over the calls since
the change point. At a false-page budget that leaves the page late or never on a
doubling: the detector is tuned for the smallest rise, and its alarm comes when it comes.
This test asks the paging question itself, as a sequential test: has the rate reached
``ratio`` times its reference? Its likelihood-ratio CUSUM is the fastest test for that
change at a given false-alarm rate (Lorden), so a rise of the paging size pages as early
as the budget allows, and a smaller one reaches its threshold late or never.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from watchkeeper.detectors import native_core
from watchkeeper.detectors.effect.severity import FoundAlarm
from watchkeeper.detectors.effect.tracker import EffectTracker

#: Events in the reference before the test may page: its rate is estimated within about
#: 14% (one SD) after 50.
MIN_EVENTS = 50
#: Events in the reference from which the excursion no longer counts in it: its rate is
#: then within about 7% (one SD), and a real rise is not diluted by the calls it made.
SOLID_EVENTS = 200
#: The highest rate the alternative may have (``ratio x reference``).
MAX_RATE = 0.99
#: Calls tested with one estimate of the reference rate: a long run at once must not be
#: tested against the few events of a young reference.
CHUNK = 256

#: The compiled core's ``_run`` (see :mod:`~watchkeeper.detectors.native_core`), or None.
_CORE = native_core.effect_core()
#: The list a run's values came as and where they start in it (for the core).
_Listed = tuple[list[float | None] | None, int]


class _Signal:
    """A run's signal as it came (the core reads a list as it is) and, made only when the
    Python code needs it, as an array (for a learned test with the core, never)."""

    __slots__ = ("_array", "given", "listed", "size")

    def __init__(self, signal: Sequence[float | None] | npt.NDArray[np.float64]) -> None:
        self.given = signal
        #: The signal when the core reads it: a list, and a core to read it.
        self.listed = signal if _CORE is not None and type(signal) is list else None
        self.size = len(signal)
        self._array: npt.NDArray[np.float64] | None = None

    def values(self, start: int, stop: int) -> npt.NDArray[np.float64]:
        """The values ``start:stop`` as an array."""
        if self._array is None:
            self._array = np.asarray(self.given, dtype=np.float64)
        return self._array[start:stop]


def threshold(target_arl: float, rate: float, ratio: float) -> float:
    """The CUSUM threshold ``h`` whose mean run length on a stable rate is ``target_arl``
    calls (Siegmund's approximation for a likelihood-ratio CUSUM,
    ``ARL = (exp(h) - h - 1) / KL``, ``KL`` the per-call Kullback-Leibler divergence of the
    reference from the alternative; it errs long, as the overshoot over ``h`` is left out).

    >>> round(threshold(7.9e8, 0.01, 2.0), 2)
    14.72
    """
    p0, p1 = rate, min(MAX_RATE, ratio * rate)
    kl = p0 * math.log(p0 / p1) + (1.0 - p0) * math.log((1.0 - p0) / (1.0 - p1))
    goal = max(1.0, target_arl * kl)
    h = math.log(goal)
    for _ in range(20):  # exp(h) = goal + h + 1 by fixed point: converges in a few steps
        h = math.log(goal + h + 1.0)
    return h


class RatePageTest:
    """Pages when one detector-key's event rate reaches ``ratio`` times its reference.

    The reference rate is that of the calls before the CUSUM's current excursion (since
    the test last paged), so the calls under test do not dilute it, once it holds
    ``SOLID_EVENTS`` events; before, the excursion's calls count too. The CUSUM sums
    ``log(p1 / p0)`` per event and ``log((1 - p1) / (1 - p0))`` per other call, ``p1 =
    ratio x p0``, and pages above :func:`threshold` of the detector-key's false-alarm
    target (``target_arl`` calls between false pages: the budget's share). After a page it
    relearns from the next call, as a detector does after an alarm. The page's size, change
    point and whether the rate has come back come from an
    :class:`~watchkeeper.detectors.effect.tracker.EffectTracker` of its own.

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> test = RatePageTest(ratio=2.0)
    >>> stable = (rng.random(36_000) < 0.01).astype(float)  # an hour at 10 calls/s, 1%
    >>> test.measure(stable, target_arl=7.9e8)
    []
    >>> doubled = (rng.random(6_000) < 0.02).astype(float)
    >>> [(round(p.at / 600, 1), p.severity) for p in test.measure(doubled, target_arl=7.9e8)]
    [(2.2, 'page')]
    """

    def __init__(
        self, ratio: float = 2.0, reason: str = "event rate reached the paging ratio"
    ) -> None:
        if not ratio > 1.0:
            raise ValueError(f"ratio must be greater than 1, got {ratio}")
        self.ratio = ratio
        self.reason = reason
        self.tracker = EffectTracker()
        self._relearn()

    def _relearn(self) -> None:
        self._calls = self._events = 0  # the reference, before the excursion
        self._run_calls = self._run_events = 0  # the excursion
        self._statistic = 0.0

    @property
    def learned(self) -> bool:
        """Whether the reference holds ``MIN_EVENTS`` events, so the test may page."""
        return self._events >= MIN_EVENTS

    @property
    def away(self) -> str:
        """``page`` while the rate has not come back from the last page; else empty."""
        return self.tracker.away_severity

    def measure(
        self, signal: Sequence[float | None] | npt.NDArray[np.float64], target_arl: float
    ) -> list[FoundAlarm]:
        """Follow a run of calls (1 for an event, 0 for none, NaN or None for a call the
        detector skipped); the pages in it, sized."""
        run = _Signal(signal)
        pages: list[tuple[int, str]] = []
        start = 0
        while start < run.size:
            at = self._extend(run, start, min(start + CHUNK, run.size), target_arl)
            if at is None:
                start += CHUNK
                continue
            pages.append((start + at, self.reason))
            self._relearn()
            start += at + 1
        followed = run.listed if run.listed is not None else run.values(0, run.size).tolist()
        return self.tracker.measure(followed, pages, lambda effect: "page")

    def _extend(self, run: _Signal, start: int, stop: int, target_arl: float) -> int | None:
        """Learn the reference, then run the CUSUM over the run's calls ``start:stop``; the
        index (from ``start``) of the call that crossed the threshold, if any (the state is
        then as of that call)."""
        offset = self._learn(run.values(start, stop)) if self._events < MIN_EVENTS else 0
        if self._events < MIN_EVENTS:
            return None
        at = self._run(run, start + offset, stop, target_arl)
        return None if at is None else offset + at

    def _reference_rate(self) -> float:
        """Events per call of the reference; while it is young, of the excursion's calls
        too (self-starting, as Hawkins' CUSUMs), or a reference low by chance would hold
        while the excursion it started grows on an unchanged rate."""
        if self._events >= SOLID_EVENTS:
            return self._events / self._calls
        return (self._events + self._run_events) / (self._calls + self._run_calls)

    def _learn(self, values: npt.NDArray[np.float64]) -> int:
        """Add calls to the reference until it holds ``MIN_EVENTS`` events; how many of
        ``values`` it took."""
        finite = np.isfinite(values)
        cumulative = np.cumsum(finite & (values >= 0.5))
        enough = np.flatnonzero(cumulative >= MIN_EVENTS - self._events)
        end = int(enough[0]) + 1 if enough.size else values.size
        self._calls += int(finite[:end].sum())
        self._events += int(cumulative[end - 1]) if end else 0
        return end

    def _run(self, run: _Signal, start: int, stop: int, target_arl: float) -> int | None:
        p0 = self._reference_rate()
        p1 = min(MAX_RATE, self.ratio * p0)
        if p1 > p0 and run.listed is not None:
            ran = self._run_in_core((run.listed, start), stop - start, (p0, p1), target_arl)
            if ran is not None:
                return ran[0]
        values = run.values(start, stop)
        where = np.flatnonzero(np.isfinite(values))
        if not where.size:
            return None
        events = values[where] >= 0.5
        if p1 <= p0:
            # An event on (nearly) every call: no higher rate to page on; the calls join
            # the reference, so a later fall gives a lower reference to test from.
            self._fold(events, np.zeros(events.size))
            return None
        steps = np.where(events, math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0)))
        # S_t = max(0, S_t-1 + step_t) in closed form: the cumulative sum minus its
        # running minimum (started at -S_0).
        total = np.cumsum(steps)
        statistic = total - np.minimum.accumulate(np.minimum(total, -self._statistic))
        over = np.flatnonzero(statistic > threshold(target_arl, p0, self.ratio))
        end = int(over[0]) + 1 if over.size else where.size
        self._fold(events[:end], statistic[:end])
        return int(where[end - 1]) if over.size else None

    def _run_in_core(
        self, listed: _Listed, size: int, rates: tuple[float, float], target_arl: float
    ) -> tuple[int | None] | None:
        """``_run`` by the core over the same values (``size`` of them, from ``listed[1]``
        in ``listed[0]``), what it returns in a tuple; None when the core declined (Python
        then runs)."""
        values, start = listed
        assert _CORE is not None
        assert values is not None
        p0, p1 = rates
        found = _CORE.page_run(
            values,
            start,
            start + size,
            steps=(math.log(p1 / p0), math.log((1.0 - p1) / (1.0 - p0))),
            statistic=self._statistic,
            threshold=threshold(target_arl, p0, self.ratio),
        )
        if found is None:
            return None
        tested, crossed, last, before, events, statistic, at = found
        if last is not None:
            self._calls += self._run_calls + last
            self._events += self._run_events + before
            self._run_calls = tested - last
            self._run_events = events - before
        else:
            self._run_calls += tested
            self._run_events += events
        self._statistic = statistic
        return (at if crossed else None,)

    def _fold(self, events: npt.NDArray[np.bool_], statistic: npt.NDArray[np.float64]) -> None:
        """Calls up to the excursion's last zero join the reference; those after are the
        excursion."""
        zeros = np.flatnonzero(statistic <= 0.0)
        if zeros.size:
            last = int(zeros[-1]) + 1
            self._calls += self._run_calls + last
            self._events += self._run_events + int(events[:last].sum())
            self._run_calls = events.size - last
            self._run_events = int(events[last:].sum())
        else:
            self._run_calls += events.size
            self._run_events += int(events.sum())
        self._statistic = float(statistic[-1])
