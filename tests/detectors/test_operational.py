"""Operational signals: latency, tokens and cost, errors, refusals, empty or cut answers."""

from __future__ import annotations

import random

import pytest

from tests.detectors.streams import alarm_indices, calls
from watchkeeper.detectors import (
    BadOutputRateDrift,
    Call,
    ErrorRateDrift,
    LatencyDrift,
    RefusalRateDrift,
    TokenUsageDrift,
)
from watchkeeper.detectors.operational.refusal_rate import is_refusal


def test_latency_drift_flags_a_slower_provider_and_scores_are_signed() -> None:
    """Calls 40% slower from call 3,000 raise an alarm; fast calls score negative."""
    stream = calls(1, 4000)
    for call in stream[3000:]:
        call.duration_s *= 1.4
    detector = LatencyDrift()
    alarms = alarm_indices(detector, stream)
    assert alarms
    assert 3000 <= alarms[0] < 3200
    detector.update(Call("q", duration_s=0.001))
    assert detector.scores["latency"] < -2.0


def test_latency_ignores_errors_and_faster_calls() -> None:
    """Failed calls are not timed; getting faster is not an alarm (direction: up)."""
    stream = calls(2, 4000)
    for call in stream[2000:]:
        call.duration_s /= 3
    detector = LatencyDrift()
    assert alarm_indices(detector, stream) == []
    detector.update(Call("q", duration_s=5.0, is_error=True))
    assert detector.scores == {}


def test_token_usage_flags_longer_answers_and_prices_give_cost() -> None:
    """Twice the completion tokens from call 2,000 on: an alarm; with prices, the cost."""
    stream = calls(3, 3000)
    for call in stream[2000:]:
        call.output_tokens *= 2
    alarms = alarm_indices(TokenUsageDrift(), stream)
    assert alarms
    assert 2000 <= alarms[0] < 2100
    priced = TokenUsageDrift(prices={"m": (1.0, 2.0)})
    assert priced.cost(Call("q", model="m", input_tokens=500, output_tokens=250)) == 1.0
    priced.update(Call("q", model="other", input_tokens=5))
    assert priced.scores == {}


def test_error_rate_rise_is_detected_within_a_few_hundred_calls() -> None:
    """Errors going from 1% to 4% are detected; the per-call score is the error flag."""
    rng = random.Random(4)
    detector = ErrorRateDrift()
    stream = [
        Call("q", is_error=rng.random() < (0.01 if i < 20_000 else 0.04)) for i in range(22_000)
    ]
    alarms = alarm_indices(detector, stream)
    assert alarms
    assert 20_000 <= alarms[0] < 20_800
    detector.update(Call("q", is_error=True))
    assert detector.scores == {"error": 1.0}


def test_error_rate_false_alarms_follow_the_target_in_calls() -> None:
    """At a stable 2% error rate, false alarms come about once per ``target_arl`` calls.

    Target 20,000 over 400,000 calls: about 20 expected; the bounds catch a 2x error.
    """
    rng = random.Random(5)
    stream = [Call("q", is_error=rng.random() < 0.02) for _ in range(400_000)]
    assert 10 <= len(alarm_indices(ErrorRateDrift(target_arl=20_000), stream)) <= 40


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        ("I'm sorry, but I can't help with that.", True),
        ("As an AI language model, I cannot provide medical advice.", True),
        ("I am unable to assist with this request.", True),
        ("That request goes against our policy.", True),
        ("Sorry for the wait! Here is your invoice.", False),
        ("You can't export to PDF on the free plan; upgrade to Plus.", False),
        ("Sure. I can help with that.", False),
    ],
)
def test_refusals_are_recognised_by_their_opening(answer: str, refusal: bool) -> None:
    """Refusal phrases count; apologies and product limitations do not."""
    assert is_refusal(answer) is refusal


def test_refusal_rate_rise_is_detected() -> None:
    """A stricter model refusing 10% instead of 2% of requests raises an alarm."""
    rng = random.Random(6)
    stream = [
        Call("q", "I'm sorry, I can't help with that." if rng.random() < rate else "Sure, here.")
        for rate in [0.02] * 10_000 + [0.10] * 2000
    ]
    alarms = alarm_indices(RefusalRateDrift(), stream)
    assert alarms
    assert 10_000 <= alarms[0] < 10_600


def test_empty_and_truncated_answers_count_as_bad_output() -> None:
    """Whitespace-only answers and a length finish reason count; errors are skipped."""
    detector = BadOutputRateDrift()
    for call, expected in [
        (Call("q", "  \n"), {"bad_output": 1.0}),
        (Call("q", "partial", finish_reasons=["stop", "MAX_TOKENS"]), {"bad_output": 1.0}),
        (Call("q", "fine", finish_reasons=["stop"]), {"bad_output": 0.0}),
        (Call("q", "", is_error=True), {}),
    ]:
        detector.update(call)
        assert detector.scores == expected
