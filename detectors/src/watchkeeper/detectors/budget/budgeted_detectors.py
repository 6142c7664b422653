"""Detectors per key whose false-alarm targets follow a budget, with sized alarms."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from watchkeeper.detectors.base import CallView, Detector, DetectorBatch
from watchkeeper.detectors.budget.arrival_rate import ArrivalRate
from watchkeeper.detectors.budget.false_alarm_budget import WEEK_S, FalseAlarmBudget
from watchkeeper.detectors.effect.effect_size import Effect
from watchkeeper.detectors.effect.rate_page_test import RatePageTest
from watchkeeper.detectors.effect.severity import FoundAlarm, SeverityPolicy
from watchkeeper.detectors.keyed import KeyedDetectors

#: A detector's target is moved when the budget's differs from it by more than this
#: factor: recalibrating costs a threshold search, and the rate estimate jitters.
RECALIBRATE = 1.1


def service_of(key: str) -> str:
    """The service of a ``service|route|model`` key (the collector's detector keys)."""
    return key.split("|", 1)[0]


@dataclass(frozen=True)
class _TicketsOnly(SeverityPolicy):
    """Every alarm a ticket: a rate detector's pages come from its page test."""

    def severity(self, kind: str, effect: Effect | None) -> str:
        return "ticket"


class Observed(NamedTuple):
    """What one detector found over a run of a key's calls."""

    detector: Detector
    batch: DetectorBatch
    alarms: list[FoundAlarm]


class BudgetedDetectors:
    """One instance of each detector per key; targets from a false-alarm budget.

    Before each run of a key's calls, the key's arrival rate (calls per second, by the
    calls' timestamps: :class:`ArrivalRate`) is updated and every detector of the key is
    recalibrated to ``budget.target_arl(calls per week, D x K)``, ``D`` detectors and ``K``
    keys of the key's service held (:class:`FalseAlarmBudget`), whenever that moved by more
    than ``RECALIBRATE``; with ``budget=None`` the detectors keep the targets they were
    built with (one false alarm per ``target_arl`` calls per detector and key). Every
    alarm comes sized and graded by ``policy`` (:meth:`Detector.measure`), except those of
    rate detectors (``effect_kind == "rate"``): they are tickets, and such a detector-key
    pages through a :class:`~watchkeeper.detectors.effect.rate_page_test.RatePageTest` of
    its own at ``policy.page_rate_ratio``, on the detector's signal and at its target (the
    detector alarms on any significant rise, when it comes; the test asks whether the rate
    reached the paging ratio, as fast as that target allows).

    >>> from watchkeeper.detectors import Call, InputLengthDrift, LatencyDrift
    >>> watched = BudgetedDetectors([InputLengthDrift(), LatencyDrift()])
    >>> calls = [Call("How do I reset my password?", duration_s=1.0)] * 256
    >>> found = watched.observe("shop|/chat|gpt", calls, [i / 100 for i in range(256)])
    >>> [(o.detector.name, f"{o.detector.target_arl:.3g}") for o in found]  # 100 calls/s
    [('input_length_drift', '1.21e+08'), ('latency_drift', '1.21e+08')]
    >>> watched.away()
    {}
    """

    def __init__(
        self,
        detectors: Sequence[Detector],
        budget: FalseAlarmBudget | None = FalseAlarmBudget(),  # noqa: B008 - frozen, shared
        policy: SeverityPolicy = SeverityPolicy(),  # noqa: B008 - frozen, shared
        *,
        max_keys: int = 1000,
        service: Callable[[str], str] = service_of,
    ) -> None:
        self.keyed = [KeyedDetectors(d, max_keys=max_keys) for d in detectors]
        self.budget = budget
        self.policy = policy
        self.service = service
        self.max_keys = max_keys
        self._rates: OrderedDict[str, ArrivalRate] = OrderedDict()
        self._keys_per_service: Counter[str] = Counter()
        # (key, detector) -> its page test, least recently used first (bounded like the
        # detectors' keys). Keyed by name, not instance: a copy or a restore keeps them.
        self._page_tests: OrderedDict[tuple[str, str], RatePageTest] = OrderedDict()
        self._rate_detectors = sum(d.effect_kind == "rate" for d in detectors)
        self._tickets = _TicketsOnly()

    def instances(self, key: str) -> list[Detector]:
        """The detectors of ``key``, created on first use."""
        return [keyed.get(key) for keyed in self.keyed]

    def observe(
        self,
        key: str,
        calls: Sequence[CallView],
        timestamps_s: Sequence[float],
        contain: Callable[[Detector, Exception], None] | None = None,
    ) -> list[Observed]:
        """Feed a run of ``key``'s calls (in order, ``timestamps_s`` their times) to each
        of its detectors; what each found, in detector order. With ``contain``, a detector
        that raises (its update, sizing or page test) is handed to it with the exception
        and left out of the result while the others go on; without, the exception rises."""
        instances = self.instances(key)
        if self.budget is not None:
            self.calibrate(key, timestamps_s, instances)
        found = []
        for detector in instances:
            try:
                found.append(self._observe_one(key, detector, calls))
            except Exception as error:
                if contain is None:
                    raise
                contain(detector, error)
        return found

    def _observe_one(self, key: str, detector: Detector, calls: Sequence[CallView]) -> Observed:
        batch = detector.update_many(calls)
        if detector.effect_kind == "rate" and batch.signal is not None:
            alarms = detector.measure(batch, self._tickets)
            test = self._page_test(key, detector)
            pages = test.measure(batch.signal, detector.target_arl)
            alarms = sorted(alarms + pages, key=lambda alarm: alarm.at) if pages else alarms
        else:
            alarms = detector.measure(batch, self.policy)
        return Observed(detector, batch, alarms)

    def _page_test(self, key: str, detector: Detector) -> RatePageTest:
        tests = self._page_tests
        test = tests.get((key, detector.name))
        if test is not None:
            tests.move_to_end((key, detector.name))
            return test
        ratio = self.policy.page_rate_ratio
        what = getattr(detector, "describes", "event rate")
        test = tests[(key, detector.name)] = RatePageTest(ratio, f"{what} reached {ratio:g}x")
        self._bound_page_tests()
        return test

    def _bound_page_tests(self) -> None:
        tests = self._page_tests
        while len(tests) > self.max_keys * self._rate_detectors:
            tests.popitem(last=False)

    def page_test(self, key: str, detector: str) -> RatePageTest | None:
        """The paging test of rate detector ``detector`` on ``key``, once it has one."""
        return self._page_tests.get((key, detector))

    def arrival_rate(self, key: str) -> ArrivalRate | None:
        """The key's traffic estimate, once it has one."""
        return self._rates.get(key)

    def restore(self, key: str, detector: Detector, test: RatePageTest | None,
                rate: ArrivalRate | None) -> None:  # fmt: skip
        """Use what a checkpoint held for ``detector`` on ``key`` from now on: the detector,
        its paging test and the key's traffic estimate (kept when one is already held)."""
        for keyed in self.keyed:
            if keyed.prototype.name == detector.name:
                keyed.put(key, detector)
        if test is not None:
            self._page_tests[(key, detector.name)] = test
            self._page_tests.move_to_end((key, detector.name))
            self._bound_page_tests()
        if rate is not None and key not in self._rates:
            self._rate(key, rate)

    def reset(self, detector: str, key: str) -> bool:
        """Start ``detector`` on ``key`` afresh, its paging test too (a person accepted the
        key's new regime as its baseline): both learn it from the next call, as for a new
        key. False when the key is not held."""
        for keyed in self.keyed:
            if keyed.prototype.name == detector and key in dict(keyed.items()):
                keyed.put(key, keyed.prototype.clone())
                self._page_tests.pop((key, detector), None)
                return True
        return False

    def away_of(self, detector: str, key: str) -> str:
        """Severity with which ``detector`` on ``key`` is still away from the reference it
        alarmed against: its paging test's while that has not seen the rate come back, else
        the detector's own (empty when back, never alarmed or not held)."""
        test = self._page_tests.get((key, detector))
        if test is not None and test.away:
            return test.away
        for keyed in self.keyed:
            if keyed.prototype.name == detector:
                held = dict(keyed.items()).get(key)  # a copy: other threads may ask
                return held.away if held is not None else ""
        return ""

    def calibrate(
        self, key: str, timestamps_s: Sequence[float], instances: Sequence[Detector]
    ) -> None:
        """Count the run's arrivals and move ``instances``' targets to the budget's."""
        assert self.budget is not None
        rate = self._rate(key)
        rate.add(timestamps_s)
        keys = self._keys_per_service[self.service(key)]
        target = self.budget.target_arl(rate.per_second * WEEK_S, len(instances) * keys)
        for detector in instances:
            if not detector.target_arl / RECALIBRATE < target < detector.target_arl * RECALIBRATE:
                detector.set_target_arl(target)

    def _rate(self, key: str, restored: ArrivalRate | None = None) -> ArrivalRate:
        rate = self._rates.get(key)
        if rate is None:
            rate = self._rates[key] = restored if restored is not None else ArrivalRate()
            self._keys_per_service[self.service(key)] += 1
            while len(self._rates) > self.max_keys:
                old, _ = self._rates.popitem(last=False)
                self._keys_per_service[self.service(old)] -= 1
        else:
            self._rates.move_to_end(key)
        return rate

    def calls_per_week(self, key: str) -> float:
        """The key's estimated traffic (0 for a key not seen)."""
        rate = self._rates.get(key)
        return rate.per_second * WEEK_S if rate is not None else 0.0

    def away(self) -> dict[tuple[str, str], int]:
        """``(detector, severity) -> keys`` still away from the reference they alarmed
        against (keys back or never alarmed are not counted)."""
        counts: Counter[tuple[str, str]] = Counter()
        for keyed in self.keyed:
            for _, detector in keyed.items():
                severity = detector.away
                if severity:
                    counts[(keyed.prototype.name, severity)] += 1
        for (_, name), test in self._page_tests.items():
            if test.away:
                counts[(name, test.away)] += 1
        return dict(counts)
