"""The ``spans`` rows the compiled core makes as Arrow columns (``store.span_columns``) are
stored exactly as the same spans made as ``TraceSpan`` values, and as protobuf and the
Python normaliser make them with the core off: every column of every row, whatever the
sampling, body sampling and span bound."""

from __future__ import annotations

from typing import Any

import pytest
from bench.collector.trace_messages import trace_message

from tests.traces.agent_payloads import agent_trace, payload
from tests.traces.test_summary_parity import random_batches
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors import native_decode
from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.traces.keep import TraceKeeper
from watchkeeper.collector.traces.signals.open_traces import OpenTraces
from watchkeeper.collector.traces.signals.stage import TraceSignalStage

pytestmark = pytest.mark.skipif(
    not native_decode.makes_rows(), reason="the compiled core is not installed"
)

#: every column but when the row was written
_ALL_SPANS = "SELECT * EXCEPT (IngestedAt) FROM {db}.spans FINAL ORDER BY TraceId, SpanId"


def _batches() -> list[list[Payload]]:
    """The benchmark's five-span traces, SDK-made agent turns (one with a failed tool),
    and random agent traces, some split across payloads or sharing one."""
    bench = [Payload(trace_message(i, "columns")[1], "bench") for i in range(120)]
    turns = [
        Payload(payload(agent_trace(session=f"s{i}", fail_tool=i % 2 == 1)), "sdk")
        for i in range(4)
    ]
    return [bench[:60], bench[60:] + turns, *random_batches(7, batches=3)]


def _stored(store: Store, batches: list[list[Payload]], keeper: TraceKeeper) -> list[Any]:
    """The spans rows stored, then the spans counted by kind in the metrics."""
    pipeline = Pipeline(store, traces=keeper, trace_signals=TraceSignalStage())
    pipeline.detect = DetectorStage([])  # the rows compared are the spans'
    for batch in batches:
        pipeline.process(batch)
    rows: list[Any] = store.select(_ALL_SPANS)
    store.backend.command(f"TRUNCATE TABLE {store.database}.spans")
    registry = pipeline.metrics.registry
    counted = {
        kind: registry.get_sample_value("watchkeeper_trace_spans_stored_total", {"kind": kind})
        for kind in ("agent", "llm", "tool", "retrieval", "rerank", "embedding", "chain", "other")
    }
    return [*rows, counted]


@pytest.mark.parametrize(
    "keeper",
    [
        {},
        {"body_rate": 0.4},
        {"sample_rate": 0.5},
        {"max_spans_per_trace": 3},
    ],
)
def test_columns_store_the_rows_values_and_python_store(
    store: Store, monkeypatch: pytest.MonkeyPatch, keeper: dict[str, Any]
) -> None:
    """The same payloads stored three ways give the same rows and the same counts of
    spans by kind, and the core did make columns for most of the non-LLM spans."""
    batches = _batches()
    made = [native_decode.decode_run(list(b), 0) for b in batches]
    assert sum(len(run.columns or ()) for run in made if run is not None) > 300
    columns = _stored(store, batches, TraceKeeper(**keeper))
    monkeypatch.setattr(native_decode, "SPAN_COLUMNS", False)
    values = _stored(store, batches, TraceKeeper(**keeper))
    for name in ("_TRACE_RUN", "_RUN", "_DECODE", "_TRACES"):
        monkeypatch.setattr(native_decode, name, None)
    python = _stored(store, batches, TraceKeeper(**keeper))
    assert len(columns) > 300
    assert columns == values
    assert columns == python


def test_no_columns_for_a_stage_that_takes_no_summaries(store: Store) -> None:
    """With a grace period the signal stage holds every trace's spans as values, so the
    core makes them as values, not columns it would turn back; without the stage, and with
    one that takes summaries, the summarised traces' spans come as columns."""
    batch = _batches()[0]
    waiting = TraceSignalStage(traces=OpenTraces(grace_s=1.0))
    for stage, columns in ((waiting, False), (TraceSignalStage(), True), (None, True)):
        prepared = Pipeline(store, trace_signals=stage).prepare(batch)
        assert bool(prepared.span_columns) is columns
        assert bool(prepared.spans) is not columns
