"""The shape shared by detectors that watch how often something happens."""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence

from watchkeeper.detectors.base import CallView, Detector, DetectorBatch
from watchkeeper.detectors.change.rank_cusum import SelfStartingCusum
from watchkeeper.detectors.descriptor_drift import TARGET_ARL

#: A doubling of a rate shortens the gaps between events by about this many standard
#: deviations of their normal scores (geometric gaps): the shift detected fastest.
GAP_SHIFT = 0.6
#: The false-alarm target is recomputed when the estimated rate moved by this factor.
_RECALIBRATE = 1.1


class RateDrift(Detector):
    """Detects an increase in the rate of an event (errors, refusals, injection attempts).

    Subclasses say, per call, how much it is an event (``event(call)`` in [0, 1]; 0.5 and
    above counts as an event; ``None`` skips the call); that value is the per-call score.
    Rates of rare events are watched through the *gaps* between events, in calls: a higher
    rate means shorter gaps. The gaps go through a one-sided
    :class:`~watchkeeper.detectors.change.rank_cusum.SelfStartingCusum`, whose sequential
    ranks make the false-alarm rate exact whatever the rate is, with no rate to estimate
    first. Its target (in events) is ``target_arl`` calls times the rate seen so far, so
    the mean time between false alarms holds in calls.

    Parameters
    ----------
    target_arl
        Mean number of calls between false alarms while the rate is stable.
    warmup
        Events seen before alarms are possible.
    seed
        Seed for tie-breaking (gaps are whole numbers and often tie).
    """

    #: What the event is, for alarm messages ("error rate").
    describes: str = "event rate"
    effect_kind = "rate"
    change_signal = "1 for a call that is an event, 0 for one that is not (rises alarm)"

    def __init__(self, target_arl: float = TARGET_ARL, warmup: int = 10, seed: int = 0) -> None:
        self.target_arl = target_arl
        self.warmup = warmup
        self.seed = seed
        self._cusum = SelfStartingCusum(
            target_arl=max(2.0, target_arl * 0.01),
            shift=GAP_SHIFT,
            direction="down",
            warmup=warmup,
            seed=seed,
        )
        self._calls = 0
        self._events = 0
        self._since = 0
        self._scores: dict[str, float] = {}
        self._drift = False

    @abc.abstractmethod
    def event(self, call: CallView) -> float | None:
        """How much ``call`` is an event, in [0, 1] (0.5 or more counts); None to skip it."""

    def events(self, calls: Sequence[CallView]) -> list[float | None]:
        """``event`` of each call, in turn (``update_many`` reads them so; a subclass may
        answer for many calls at once, as long as the values and its state afterwards are
        what ``event`` call by call gives)."""
        event = self.event
        return [event(call) for call in calls]

    def update(self, call: CallView) -> None:
        """Count the call; on an event, test the gap since the previous one."""
        self._drift = False
        value = self.event(call)
        if value is None:
            self._scores = {}
            return
        self._scores = {self.score_name: value}
        self._calls += 1
        self._since += 1
        if self._change is not None:
            self._plugged_event(value)
            return
        if value < 0.5:
            return
        self._on_event()

    def update_many(self, calls: Sequence[CallView]) -> DetectorBatch:
        """``update`` with each call in turn; the CUSUM only runs on events."""
        if type(self).update is not RateDrift.update:
            return super().update_many(calls)  # a subclass's own update decides
        values = self.events(calls)
        alarms: list[tuple[int, str]] = []
        self._drift = False
        if self._change is None:
            self._count_run(values, alarms)
        else:
            self._plug_run(values, alarms)
        last = values[-1] if values else None
        self._scores = {} if last is None else {self.score_name: last}
        self._drift = bool(alarms) and alarms[-1][0] == len(values) - 1
        if None in values:
            column = [math.nan if value is None else float(value) for value in values]
            signal = [math.nan if value is None else float(value >= 0.5) for value in values]
        else:  # every call scored (the usual run): the same lists, in C mostly
            column = list(map(float, values))  # type: ignore[arg-type]  # no None
            signal = [1.0 if value >= 0.5 else 0.0 for value in column]
        return DetectorBatch({self.score_name: column}, alarms, signal)

    def _plug_run(self, values: Sequence[float | None], alarms: list[tuple[int, str]]) -> None:
        """``update`` over a run with a plugged change test."""
        for i, value in enumerate(values):
            if value is None:
                continue
            self._calls += 1
            self._since += 1
            if self._plugged_event(value):
                alarms.append((i, self.alarm_reason))

    def _count_run(self, values: Sequence[float | None], alarms: list[tuple[int, str]]) -> None:
        """``update``'s counting and gap tests over a run, the gaps fed to the CUSUM
        together until an event needs its target moved (``_on_event``'s order); after an
        alarm the counts restart at the call that raised it, as ``update`` restarts them."""
        start = 0
        while start < len(values):
            at = self._count_until_alarm(values, start)
            if at is None:
                return
            alarms.append((at, f"{self.describes} rose"))
            self._calls = self._events = self._since = 0
            start = at + 1

    def _count_until_alarm(self, values: Sequence[float | None], start: int) -> int | None:
        """Count ``values[start:]`` and test their gaps; the index of the first call that
        raised an alarm (the counts after it are then to be redone), else None."""
        cusum = self._cusum
        gaps: list[float] = []
        where: list[int] = []
        calls, events, since = self._calls, self._events, self._since
        for i in range(start, len(values)):
            value = values[i]
            if value is None:
                continue
            calls += 1
            since += 1
            if value < 0.5:
                continue
            events += 1
            target = max(2.0, self.target_arl * (events / calls))
            if not cusum.target_arl / _RECALIBRATE < target < cusum.target_arl * _RECALIBRATE:
                at = self._test_gaps(gaps, where)
                if at is not None:
                    return at
                cusum.set_target_arl(target)
            gaps.append(float(since))
            where.append(i)
            since = 0
        self._calls, self._events, self._since = calls, events, since
        return self._test_gaps(gaps, where)

    def _test_gaps(self, gaps: list[float], where: list[int]) -> int | None:
        """Feed the gaps held to the CUSUM (emptying the lists); the call index of the
        gap that raised an alarm (the CUSUM stops there), else None."""
        if not gaps:
            return None
        _, found = self._cusum.update_many(gaps, until_alarm=True)
        at = where[found[0][0]] if found else None
        gaps.clear()
        where.clear()
        return at

    def _on_event(self) -> None:
        """Test the gap since the previous event (the call in hand is one)."""
        self._events += 1
        cusum = self._cusum
        rate = self._events / self._calls
        target = max(2.0, self.target_arl * rate)
        if not cusum.target_arl / _RECALIBRATE < target < cusum.target_arl * _RECALIBRATE:
            cusum.set_target_arl(target)
        cusum.update(float(self._since))
        self._since = 0
        self._drift = cusum.drift_detected
        if self._drift:
            self._calls = 0
            self._events = 0

    def _plugged_event(self, value: float) -> bool:
        """Feed the plugged change test 1 for an event, 0 otherwise (instead of the gaps
        to the CUSUM); True on its alarm, after which the rate is counted from this call."""
        event = 1 if value >= 0.5 else 0
        self._events += event
        self._drift = bool(self._plugged_alarm(float(event), "up"))
        if self._drift:
            self._calls, self._events = 1, event
        return self._drift

    def set_target_arl(self, target_arl: float) -> None:
        """Calls between false alarms from now on (the next event recalibrates the CUSUM
        on the gaps, whose target is in events)."""
        self.target_arl = target_arl

    @property
    def rate(self) -> float:
        """Share of calls that were events since the last alarm (NaN before any call)."""
        return self._events / self._calls if self._calls else float("nan")

    @property
    def scores(self) -> Mapping[str, float]:
        """``{score_name: event value}`` for the last call; empty if it was skipped."""
        return self._scores

    @property
    def drift_detected(self) -> bool:
        """True when the last event completed the detection of a higher rate."""
        return self._drift

    @property
    def alarm_reason(self) -> str:
        """Says the rate rose, on the call that raised the alarm."""
        return f"{self.describes} rose" if self._drift else ""

    def _params(self) -> dict[str, object]:
        return {"target_arl": self.target_arl, "warmup": self.warmup, "seed": self.seed}
