"""A false-alarm budget in time: a busy key and a quiet one of a service spend the same
share of it, measured by counting false alarms on stable traffic."""

from __future__ import annotations

import math
import random

import pytest

from watchkeeper.detectors import Call, LatencyDrift
from watchkeeper.detectors.budget.arrival_rate import ArrivalRate
from watchkeeper.detectors.budget.budgeted_detectors import BudgetedDetectors
from watchkeeper.detectors.budget.false_alarm_budget import WEEK_S, FalseAlarmBudget

DAY_S = 86_400.0


def _stable_day(watched: BudgetedDetectors, rates: dict[str, float]) -> dict[str, int]:
    """A day of stable latencies on each key at its calls per second, in runs of 256
    calls taken in time order; the false alarms each key raised."""
    rngs = {key: random.Random(seed) for seed, key in enumerate(rates)}
    runs = []
    for key, per_second in rates.items():
        n = int(DAY_S * per_second)
        runs += [
            (start / per_second, key, start, min(256, n - start)) for start in range(0, n, 256)
        ]
    alarms = dict.fromkeys(rates, 0)
    for _, key, start, size in sorted(runs):
        rng, per_second = rngs[key], rates[key]
        calls = [Call("q", duration_s=rng.lognormvariate(0.0, 0.4)) for _ in range(size)]
        times = [(start + i) / per_second for i in range(size)]
        alarms[key] += sum(len(o.alarms) for o in watched.observe(key, calls, times))
    return alarms


@pytest.mark.parametrize("budgeted", [True, False], ids=["budget", "fixed"])
def test_a_busy_and_a_quiet_key_spend_the_same_share(budgeted: bool) -> None:
    """210 false alarms a week over 2 detector-keys is 15 a day each: the key at 1 call/s
    (ARL about 5,760 calls) and the key at 0.1 call/s (about 576) both raise about 15
    (Poisson: 95% within 8..23). With one fixed target (5,760 calls for both) the quiet
    key raises a tenth of the busy key's, and the budget's figures fail."""
    budget = FalseAlarmBudget(pages_per_week=210.0, min_arl=100.0)
    if budgeted:
        watched = BudgetedDetectors([LatencyDrift()], budget)
    else:
        watched = BudgetedDetectors([LatencyDrift(target_arl=5760.0)], budget=None)
    found = _stable_day(watched, {"svc|/busy|m": 1.0, "svc|/quiet|m": 0.1})
    busy, quiet = found["svc|/busy|m"], found["svc|/quiet|m"]
    within = 6 <= busy <= 26 and 6 <= quiet <= 26
    assert within == budgeted, (busy, quiet)
    if budgeted:
        busy_arl = watched.instances("svc|/busy|m")[0].target_arl
        quiet_arl = watched.instances("svc|/quiet|m")[0].target_arl
        assert busy_arl == pytest.approx(1.0 * WEEK_S * 2 / 210.0, rel=0.1)
        assert busy_arl / quiet_arl == pytest.approx(10.0, rel=0.1)


def test_a_quiet_key_keeps_the_floor() -> None:
    """A key at one call a minute would need a run length below the floor: it keeps it."""
    watched = BudgetedDetectors([LatencyDrift()], FalseAlarmBudget(pages_per_week=1.0))
    calls = [Call("q", duration_s=1.0)] * 100
    watched.observe("svc|/slow|m", calls, [60.0 * i for i in range(100)])
    detector = watched.instances("svc|/slow|m")[0]
    assert detector.target_arl == pytest.approx(10_080.0, rel=0.1)  # a week's calls x 1 key
    tiny = BudgetedDetectors([LatencyDrift()], FalseAlarmBudget(pages_per_week=1000.0))
    tiny.observe("svc|/slow|m", calls, [60.0 * i for i in range(100)])
    assert tiny.instances("svc|/slow|m")[0].target_arl == 1000.0


def test_the_rate_settles_on_the_calls_own_timestamps() -> None:
    """A replay of an hour at 50 calls/s, fed in any run sizes, reads 50 calls/s; after two
    hours more at 5 calls/s the estimate weighs the last hours most (9 calls/s)."""
    rate = ArrivalRate()
    times = [i / 50.0 for i in range(180_000)]
    for start in range(0, len(times), 997):
        rate.add(times[start : start + 997])
    assert rate.per_second == pytest.approx(50.0, rel=0.01)
    end = times[-1]
    rate.add([end + i / 5.0 for i in range(1, 36_001)])  # two hours at 5/s
    # The first hour weighs e^-2 (1 - e^-1) of an hour constant, the last two 1 - e^-2.
    e = math.e
    expected = (50.0 * e**-2 * (1 - e**-1) + 5.0 * (1 - e**-2)) / (1 - e**-3)
    assert rate.per_second == pytest.approx(expected, rel=0.01)
    assert rate.per_second < 10.0
