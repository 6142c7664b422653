"""A failure inside the trace signal stage never fails the batch: a Kafka receiver retries
a failed batch for ever, so one bad trace would stop the collector. The trace that raised
gets no signals, the failure is counted and logged once, and everything is stored."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.traces.agent_payloads import agent_trace, payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.spans import read_trace
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.traces.assemble import Trace
from watchkeeper.collector.traces.signals import stage as stage_module
from watchkeeper.collector.traces.signals import trace_signals
from watchkeeper.collector.traces.signals.stage import TraceSignalStage


def _trace_id(spans: list[Any]) -> str:
    return format(spans[0].context.trace_id, "032x")


def _errors(pipeline: Pipeline) -> float:
    value = pipeline.metrics.registry.get_sample_value("watchkeeper_trace_signal_errors_total")
    return value or 0.0


def test_a_trace_whose_signal_raises_gets_none_and_the_batch_is_stored(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two agent turns in one batch, a planted signal raising on the first: both traces'
    spans and calls are stored, the second gets its trajectory signals, the first none;
    one error counted, one log line."""
    bad, good = agent_trace(session="s-bad"), agent_trace(session="s-good")
    bad_id, good_id = _trace_id(bad), _trace_id(good)

    def planted(trace: Trace) -> dict[str, float]:
        if trace.trace_id == bad_id:
            raise ZeroDivisionError("planted")
        return trace_signals(trace)

    monkeypatch.setattr(stage_module, "trace_signals", planted)
    pipeline = Pipeline(store, trace_signals=TraceSignalStage())
    prepared = pipeline.prepare([Payload(payload(bad), "test"), Payload(payload(good), "test")])
    with caplog.at_level(logging.WARNING, logger="watchkeeper.collector.traces"):
        pipeline.write(prepared)
    scored = {call.trace_id for call, values in prepared.batch.scores.per_call() if values}
    with_signals = {
        call.trace_id
        for call, values in prepared.batch.scores.per_call()
        if any(name.startswith("trajectory.") for name in values)
    }
    assert with_signals == {good_id}
    assert good_id in scored
    assert len(read_trace(store, bad_id)) == len(bad)
    assert len(read_trace(store, good_id)) == len(good)
    assert store.calls_for_trace(bad_id)
    assert _errors(pipeline) == 1.0
    assert pipeline.trace_signals is not None
    assert pipeline.trace_signals.errors == 1
    lines = [r for r in caplog.records if r.name == "watchkeeper.collector.traces"]
    assert len(lines) == 1
    assert bad_id in lines[0].getMessage()
    assert "ZeroDivisionError" in lines[0].getMessage()


def test_a_stage_that_fails_as_a_whole_leaves_the_batch_stored(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should the watch itself raise, the batch is stored without trace signals and the
    failure counts once; the next batch is scored again."""
    stage = TraceSignalStage()
    pipeline = Pipeline(store, trace_signals=stage)
    first, second = agent_trace(session="s-1"), agent_trace(session="s-2")

    def broken(*args: object) -> list[object]:
        raise RuntimeError("planted")

    with monkeypatch.context() as patch:
        patch.setattr(stage.watch, "update_columns", broken)
        prepared = pipeline.prepare([Payload(payload(first), "test")])
        pipeline.write(prepared)
    assert not any(
        name.startswith("trajectory.")
        for _, values in prepared.batch.scores.per_call()
        for name in values
    )
    assert len(read_trace(store, _trace_id(first))) == len(first)
    assert _errors(pipeline) == 1.0
    prepared = pipeline.prepare([Payload(payload(second), "test")])
    pipeline.write(prepared)
    assert any(
        name.startswith("trajectory.")
        for _, values in prepared.batch.scores.per_call()
        for name in values
    )
    assert _errors(pipeline) == 1.0
