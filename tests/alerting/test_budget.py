"""The false-page budget's split: shares add up to the budget whatever the traffic."""

from __future__ import annotations

import doctest

import pytest

from watchkeeper.collector.alerting import budget
from watchkeeper.collector.alerting.budget import (
    detection_delay,
    expected_false_alarms,
    split_budget,
)

DETECTORS = [f"detector_{i}" for i in range(13)]


def test_doctests() -> None:
    """The module's example runs as written."""
    assert doctest.testmod(budget).failed == 0


@pytest.mark.parametrize("calls_per_s", [0.5, 200.0])
def test_busy_and_quiet_services_keep_the_same_budget(calls_per_s: float) -> None:
    """At 0.5 and at 200 calls/s over 10 keys of uneven traffic, 13 detectors calibrated to
    their shares raise one false alarm per week in all."""
    weights = [2.0**i for i in range(10)]
    per_week = calls_per_s * budget.WEEK_S
    keys = {f"svc|/r{i}|m": per_week * w / sum(weights) for i, w in enumerate(weights)}
    split = split_budget(1.0, DETECTORS, keys)
    assert len(split) == 130
    spent = sum(b.calls_per_week / b.target_arl for b in split if b.target_arl > budget.MIN_ARL)
    floored = [b for b in split if b.target_arl == budget.MIN_ARL]
    assert spent + sum(b.calls_per_week / b.target_arl for b in floored) <= 1.0 + 1e-9
    if not floored:
        assert spent == pytest.approx(1.0)


def test_todays_calibration_spends_a_week_of_budget_in_77_seconds() -> None:
    """The issue's figure: 200 calls/s and 13 detectors at one false alarm per 200,000
    calls is one false alarm every 77 seconds."""
    alarms = expected_false_alarms(200 * budget.WEEK_S, 13)
    assert budget.WEEK_S / alarms == pytest.approx(76.9, abs=0.1)


def test_the_price_of_the_budget_is_a_longer_delay_on_busy_keys() -> None:
    """A busy key's run length (1.6 billion calls at 200 calls/s over 10 keys, against
    today's 200,000) about doubles the delay to a 1-standard-deviation shift (35 -> 70
    calls, 3.5 s at that key's 20 calls/s), not more: a CUSUM's delay grows with the
    logarithm of its run length."""
    keys = {f"svc|/r{i}|m": 20 * budget.WEEK_S for i in range(10)}
    arl = split_budget(1.0, DETECTORS, keys)[0].target_arl
    assert arl == pytest.approx(20 * budget.WEEK_S * 130)
    today, budgeted = detection_delay(budget.CURRENT_ARL, 1.0), detection_delay(arl, 1.0)
    assert today == pytest.approx(35.0, abs=1)
    assert budgeted == pytest.approx(70.2, abs=1)


def test_bad_budgets_are_refused_and_silent_keys_get_no_share() -> None:
    """A budget of zero or less is an error naming the value; keys without calls, or no
    detectors, get nothing."""
    with pytest.raises(ValueError, match="must be positive, got 0"):
        split_budget(0, DETECTORS, {"a": 1.0})
    assert split_budget(1.0, DETECTORS, {"a": 0.0}) == []
    assert split_budget(1.0, [], {"a": 10.0}) == []
