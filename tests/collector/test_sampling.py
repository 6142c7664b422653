"""Body sampling and the review reservoir: what is kept, at which recorded rate."""

from __future__ import annotations

import pytest

from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.processors.sample_bodies import (
    KEEP_ERROR,
    KEEP_FLAGGED,
    KEEP_SAMPLED,
    BodySampling,
    sampled,
)
from watchkeeper.collector.record import CallRecord


def _call(
    i: int,
    *,
    route: str = "r",
    model: str = "m",
    error: bool = False,
    ts_s: float = 1_700_000_000.0,
    head_rate: float = 1.0,
) -> CallRecord:
    trace = f"{(i * 0x9E3779B97F4A7C15) % (1 << 64):016x}{i:016x}"
    return CallRecord(
        trace_id=trace,
        span_id=f"{i:016x}",
        timestamp_ns=int(ts_s * 1e9),
        duration_ns=1,
        route=route,
        request_model=model,
        status_code="ERROR" if error else "OK",
        sample_rate=head_rate,
    )


def test_base_rate_keeps_about_that_share_deterministically() -> None:
    """A 10% body rate keeps close to 10% of calls, the same ones every time."""
    policy = BodySampling(0.1)
    calls = [_call(i) for i in range(20_000)]
    first = [policy.decide(c, flagged=False) is not None for c in calls]
    second = [policy.decide(c, flagged=False) is not None for c in calls]
    assert first == second
    assert 0.09 < sum(first) / len(first) < 0.11


def test_errors_and_flagged_calls_are_always_kept() -> None:
    """With a zero rate, errors and flagged calls still keep their bodies, with a reason."""
    policy = BodySampling(0.0)
    assert policy.decide(_call(1), flagged=False) is None
    assert policy.decide(_call(1, error=True), flagged=False) == (1.0, KEEP_ERROR)
    assert policy.decide(_call(1), flagged=True) == (1.0, KEEP_FLAGGED)


def test_rules_by_route_then_model_then_service() -> None:
    """The route rule wins over the model rule, which wins over the base rate."""
    policy = BodySampling(0.0, {"route:checkout": 1.0, "model:big": 0.5})
    assert policy.rate_for(_call(1, route="checkout", model="big")) == 1.0
    assert policy.rate_for(_call(1, route="other", model="big")) == 0.5
    assert policy.rate_for(_call(1, route="other", model="small")) == 0.0


def test_recorded_rate_multiplies_sdk_head_rate_and_body_rate() -> None:
    """The stored rate is head rate x body rate, so 1/rate re-weights to true counts."""
    policy = BodySampling(0.5)
    kept = [policy.decide(_call(i, head_rate=0.2), flagged=False) for i in range(4000)]
    rates = {d for d in kept if d is not None}
    assert rates == {(0.1, KEEP_SAMPLED)}


@pytest.mark.parametrize("rules", [{"colour:red": 0.5}, {"route:": 0.5}, {"route:x": 1.5}])
def test_bad_rules_are_rejected(rules: dict[str, float]) -> None:
    """A rule with an unknown field, an empty name or a rate outside [0, 1] is refused."""
    with pytest.raises(ValueError, match="route"):
        BodySampling(1.0, rules)


def test_sampling_by_trace_id_edges() -> None:
    """Rate 0 keeps nothing, rate 1 everything, malformed ids nothing below rate 1."""
    assert not sampled("0" * 32, 0.0)
    assert sampled("f" * 32, 1.0)
    assert not sampled("not-hex", 0.99)


def test_reservoir_keeps_at_most_size_per_route_and_window() -> None:
    """Each (route, window) contributes at most `size` calls, released once it closes."""
    reservoir = ReviewReservoir(size=3, window_s=60, grace_s=0)
    for i in range(100):
        reservoir.offer(_call(i, route="a" if i % 2 else "b", ts_s=1_700_000_040 + i * 0.5))
    keys, picks = reservoir.due()
    assert picks == []  # the first window is still open: nothing later seen yet
    reservoir.offer(_call(1000, route="a", ts_s=1_700_000_040 + 200))
    keys, picks = reservoir.due()
    reservoir.release(keys)
    assert len(picks) == 6
    assert {p.route for p in picks} == {"a", "b"}


def test_reservoir_is_a_uniform_deterministic_sample() -> None:
    """Bottom-k by hash: order of arrival does not change which calls are picked."""
    calls = [_call(i, ts_s=1_700_000_000) for i in range(500)]
    forward, backward = ReviewReservoir(size=5), ReviewReservoir(size=5)
    for call in calls:
        forward.offer(call)
    for call in reversed(calls):
        backward.offer(call)
    assert [c.span_id for c in forward.drain()] == [c.span_id for c in backward.drain()]


def test_reservoir_memory_is_bounded_by_open_windows() -> None:
    """With more (route, window) pairs than max_open, the oldest are released early."""
    reservoir = ReviewReservoir(size=2, window_s=60, max_open=10)
    for i in range(1000):
        reservoir.offer(_call(i, route=f"route-{i}"))
        keys, _ = reservoir.due()
        reservoir.release(keys)
    assert reservoir.held <= 2 * 10


def test_late_calls_for_a_released_window_are_not_sampled() -> None:
    """A window's sample is final once released."""
    reservoir = ReviewReservoir(size=5, window_s=60)
    reservoir.offer(_call(1, ts_s=1_700_000_000))
    assert len(reservoir.drain()) == 1
    reservoir.offer(_call(2, ts_s=1_700_000_001))
    assert reservoir.drain() == []
