"""The signal stage from settings: on by default in a pipeline built from settings, off
with ``trace_signals = false``, its timings from ``trace_grace_s``/``session_idle_s``,
and what its watch learned checkpointed with the detectors' state and restored."""

from __future__ import annotations

import random

from tests.traces.agent_payloads import agent_trace, payload
from tests.traces.signals.planted import agent_trace as planted_trace
from watchkeeper.collector.pipeline import Payload
from watchkeeper.collector.runtime import build_pipeline
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.store.store import DetectorState, Store
from watchkeeper.collector.traces.signals import trace_signals
from watchkeeper.collector.traces.signals.checkpoint import (
    restore_signal_states,
    signal_states,
)
from watchkeeper.collector.traces.signals.watch import SignalWatch


def test_a_pipeline_from_settings_scores_traces_and_checkpoints_the_watch(store: Store) -> None:
    """Default settings: a failing-tool agent turn gets its trajectory scores on its root;
    the watch's state is saved with the detectors' and a new pipeline resumes it."""
    settings = load_settings(environ={})
    pipeline = build_pipeline(settings, store, resume=False)
    assert pipeline.trace_signals is not None
    spans = agent_trace(fail_tool=True)
    trace_id = format(spans[0].context.trace_id, "032x")
    pipeline.process([Payload(payload(spans), "test")])
    scores = {row["SpanId"]: dict(row["Scores"]) for row in store.scores_for_trace(trace_id)}
    root = format(spans[-1].context.span_id, "016x")
    assert scores[root]["trajectory.tool_error"] == 1.0
    held = {(signal, key) for signal, key, _ in pipeline.trace_signals.watch.detectors()}
    assert ("trajectory.tool_error", "agent-app|invoke_agent helper|helper") in held
    pipeline.save_state()
    saved = [s for s in store.detector_states() if s.detector.startswith("trace_signal:")]
    assert len(saved) == len(held)
    again = build_pipeline(settings, store)
    assert again.trace_signals is not None
    resumed = {(signal, key) for signal, key, _ in again.trace_signals.watch.detectors()}
    assert resumed == held


def test_settings_switch_the_stage_off_and_set_its_timings(store: Store) -> None:
    """``trace_signals = false``: no stage; otherwise the grace and the session idle time
    are the settings'."""
    off = load_settings(environ={"WATCHKEEPER_TRACE_SIGNALS": "false"})
    assert build_pipeline(off, store, resume=False).trace_signals is None
    tuned = load_settings(
        environ={"WATCHKEEPER_TRACE_GRACE_S": "5", "WATCHKEEPER_SESSION_IDLE_S": "600"}
    )
    stage = build_pipeline(tuned, store, resume=False).trace_signals
    assert stage is not None
    assert (stage.traces.grace_s, stage.sessions.timeout_s) == (5.0, 600.0)


def test_a_restored_watch_alarms_as_the_one_it_was_saved_from() -> None:
    """Saved mid-stream and restored into a fresh watch, the watch raises the same alarms
    on the rest of the stream as the one that went on; rows of other detectors, of a
    signal not watched, or broken are passed over."""
    rng = random.Random(3)
    clean = [planted_trace(rng) for _ in range(600)]
    faulty = [planted_trace(rng, "failing_tool" if i % 3 == 0 else None) for i in range(300)]
    first = SignalWatch()
    for trace in clean:
        first.update("k", trace_signals(trace))
    saved = signal_states(first)
    saved += [
        DetectorState("input_drift", "k", "x"),
        DetectorState("trace_signal:no.such", "k", saved[0].state),
        DetectorState("trace_signal:rag.retrieval_empty", "k", "not base64 pickle"),
    ]
    second = SignalWatch()
    assert restore_signal_states(second, saved) == len(saved) - 3
    after = [trace_signals(trace) for trace in faulty]
    alarms_first = [first.update("k", values) for values in after]
    alarms_second = [second.update("k", values) for values in after]
    assert any(alarms_first)
    assert alarms_second == alarms_first
