"""Head sampling: decided by trace id, the rate stamped on every span, errors always kept."""

from __future__ import annotations

import random

import pytest
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import attributes, configure, current_call, observe, testing


@observe(name="inner")
def inner(prompt: str) -> str:
    return prompt


@observe(name="outer")
def outer(prompt: str, fail: bool = False) -> str:
    if fail:
        raise RuntimeError("boom")
    return inner(prompt)


def test_kept_share_matches_the_rate_and_spans_carry_it(stats_delta: StatsDelta) -> None:
    """At rate 0.25 about a quarter of 2,000 traces are kept (seeded ids), each kept
    span says 0.25, and every other call is counted as sampled out."""
    configure("memory", sample_rate=0.25, max_queue_size=10_000)
    random.seed(7)
    for _ in range(2000):
        inner("x")
    spans = testing.finished_spans()
    assert 400 <= len(spans) <= 600
    assert {(s.attributes or {})[attributes.SAMPLE_RATE] for s in spans} == {0.25}
    assert stats_delta["spans_sampled_out"] == 2000 - len(spans)
    assert stats_delta["spans_ended"] == 2000


def test_decision_is_by_trace_id_like_opentelemetry() -> None:
    """The decision is OpenTelemetry's TraceIdRatioBased rule on the same trace id, so
    both agree on every trace and a trace is kept or dropped whole."""
    configure("memory", sample_rate=0.5, max_queue_size=10_000)
    otel = TraceIdRatioBased(0.5)
    decided: dict[int, bool] = {}

    @observe
    def call(prompt: str) -> str:
        decided[int(current_call().trace_id, 16)] = False
        return inner(prompt)

    random.seed(11)
    for _ in range(300):
        call("x")
    spans = testing.finished_spans()
    for span in spans:
        decided[span.context.trace_id] = True
    for trace_id, kept in decided.items():
        expected = otel.should_sample(None, trace_id, "x").decision is Decision.RECORD_AND_SAMPLE
        assert kept == expected
    per_trace: dict[int, int] = {}
    for span in spans:
        per_trace[span.context.trace_id] = per_trace.get(span.context.trace_id, 0) + 1
    assert set(per_trace.values()) == {2}  # parent and child together, never one alone


def test_errors_are_always_kept_with_rate_one(stats_delta: StatsDelta) -> None:
    """A call that raises is kept even when its trace is sampled out, and says 1.0 so
    error counts need no re-weighting."""
    configure("memory", sample_rate=0.000001)
    random.seed(3)
    for _ in range(20):
        with pytest.raises(RuntimeError):
            outer("x", fail=True)
        outer("y")
    spans = testing.finished_spans()
    assert len(spans) == 20
    assert all(span.name == "outer" for span in spans)
    assert {(s.attributes or {})[attributes.SAMPLE_RATE] for s in spans} == {1.0}
    assert stats_delta["spans_sampled_out"] == 40


def test_invalid_rates_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rate outside (0, 1] fails at configure(), naming the setting."""
    with pytest.raises(ValueError, match="sample_rate"):
        configure("memory", sample_rate=0.0)
    monkeypatch.setenv("WATCHKEEPER_SAMPLE_RATE", "lots")
    with pytest.raises(ValueError, match="WATCHKEEPER_SAMPLE_RATE"):
        configure("memory")
