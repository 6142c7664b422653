"""A rate pages when it reaches the paging ratio: within the budget's false-page rate on
stable traffic, within 10 minutes on a doubling at the budget's target, never on a small
rise; a rate detector's own alarms are then tickets."""

from __future__ import annotations

import copy

import numpy as np

from watchkeeper.detectors import Call, ErrorRateDrift
from watchkeeper.detectors.budget.budgeted_detectors import BudgetedDetectors
from watchkeeper.detectors.budget.false_alarm_budget import FalseAlarmBudget
from watchkeeper.detectors.effect.rate_page_test import MIN_EVENTS, RatePageTest

#: The benchmark's route: 10 calls/s, a budget of 1 false page a week over 13 detectors
#: and 10 routes (``FalseAlarmBudget.target_arl(10 x WEEK_S, 130)``).
BUDGET_ARL = 7.86e8
PER_MINUTE = 600


def _minutes_to_page(seed: int, before: float, after: float) -> float | None:
    """An hour at rate ``before``, then 30 minutes at ``after``: minutes to the first page
    after the change (None: none)."""
    rng = np.random.default_rng(seed)
    test = RatePageTest(ratio=2.0)
    assert test.measure((rng.random(60 * PER_MINUTE) < before).astype(float), BUDGET_ARL) == []
    drifted = (rng.random(30 * PER_MINUTE) < after).astype(float)
    for start in range(0, drifted.size, 256):
        pages = test.measure(drifted[start : start + 256], BUDGET_ARL)
        if pages:
            return (start + pages[0].at) / PER_MINUTE
    return None


def test_stable_rate_pages_at_most_at_the_target() -> None:
    """10 million calls at 1% with a target of 20,000 calls between false pages: at most
    about 500; Siegmund's threshold errs long and the young reference counts its
    excursion (measured 333 at these seeds). Above 550 the target is not honoured; below
    250 the threshold is needlessly slow."""
    pages = 0
    for seed in range(5):
        rng = np.random.default_rng(seed)
        test = RatePageTest(ratio=2.0)
        stable = (rng.random(2_000_000) < 0.01).astype(float)
        for start in range(0, stable.size, 4096):
            pages += len(test.measure(stable[start : start + 4096], 20_000.0))
    assert 250 <= pages <= 550


def test_a_doubling_pages_within_ten_minutes_at_the_budget() -> None:
    """1% -> 2% errors at 10 calls/s and the budget's target: the optimal test's delay is
    about 5.5 minutes on average and over 10 in about 5% of runs (200 runs); 19 of these
    20 seeds page within 10 minutes, all within 30."""
    minutes = [_minutes_to_page(seed, 0.01, 0.02) for seed in range(20)]
    assert all(m is not None for m in minutes), minutes
    assert sum(m is not None and m <= 10.0 for m in minutes) >= 19, minutes


def test_a_small_rise_seldom_pages() -> None:
    """1% -> 1.2% is a ticket's worth: the doubling test's statistic drifts down on it (no
    page at these 10 seeds; 2 of 100 runs in ``bench.alerting.rate_pages``)."""
    assert [_minutes_to_page(seed, 0.01, 0.012) for seed in range(10)] == [None] * 10


def test_rate_detectors_page_through_the_test_and_stay_away_while_high() -> None:
    """Through BudgetedDetectors: the error detector's own alarms are tickets, the page
    test's alarm is the page (sized: about twice the rate), the key counts as away with a
    page while the errors stay doubled, and no longer an hour after they are back. A copy
    taken after the stable hour (as the benchmark forks its warmed service) keeps the test's
    reference."""
    rng = np.random.default_rng(3)
    watched = BudgetedDetectors([ErrorRateDrift()], FalseAlarmBudget(pages_per_week=1.0))
    ok, failed = Call("q"), Call("q", is_error=True)
    clock = [0.0]

    def feed(minutes: int, rate: float) -> list[tuple[str, float]]:
        found = []
        for _ in range(minutes * PER_MINUTE // 300):
            calls = [failed if x else ok for x in rng.random(300) < rate]
            times = [clock[0] + (i + 1) / 10 for i in range(300)]
            clock[0] = times[-1]
            for observed in watched.observe("svc|/chat|m", calls, times):
                for alarm in observed.alarms:
                    effect = alarm.effect
                    ratio = (effect.reference + effect.shift) / effect.reference if effect else 0
                    found.append((alarm.severity, ratio))
        return found

    assert feed(60, 0.01) == []
    watched = copy.deepcopy(watched)
    drifted = feed(30, 0.02)
    assert [s for s, _ in drifted].count("page") == 1, drifted
    assert all(s == "ticket" for s, _ in drifted[1:] if s != "page")
    assert 1.5 < next(r for s, r in drifted if s == "page") < 4.0, drifted
    assert watched.away().get(("error_rate_drift", "page")) == 1
    assert all(s == "ticket" for s, _ in feed(60, 0.01))
    assert ("error_rate_drift", "page") not in watched.away()


def test_an_event_on_nearly_every_call_is_no_page_and_no_error() -> None:
    """A reference rate at or above the highest alternative (every call an event, as a
    stand-in model that fails every call gives) has no higher rate to page on: no page,
    no error, and the test goes on following the stream."""
    rng = np.random.default_rng(3)
    for rate in (1.0, 0.995):
        test = RatePageTest(ratio=2.0)
        events = (rng.random(5_000) < rate).astype(float)
        assert test.measure(events, target_arl=2e4) == []
        assert test.measure((rng.random(5_000) < 0.01).astype(float), target_arl=2e4) == []


def test_learned_once_the_reference_holds_enough_events() -> None:
    """The test may page once its reference holds ``MIN_EVENTS`` events (what
    ``bench.alerting.false_page_sources`` expects pages of): 49 events are not enough,
    the 50th is."""
    test = RatePageTest()
    test.measure([1.0, 0.0] * (MIN_EVENTS - 1), 1e6)
    assert not test.learned
    test.measure([0.0, 1.0], 1e6)
    assert test.learned
