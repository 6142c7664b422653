"""Trace spans written to the ``spans`` table and read back as they were."""

from __future__ import annotations

import time

from watchkeeper.collector.store.spans import read_session, read_trace
from watchkeeper.collector.store.store import Store, WriteBatch
from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import TraceSpan

TRACE = "ab" * 16


def _span(span_id: str, parent: str, start: int, **extra: object) -> TraceSpan:
    base = time.time_ns() - 60 * 10**9
    fields: dict[str, object] = {
        "trace_id": TRACE,
        "span_id": span_id,
        "parent_span_id": parent,
        "name": f"span {span_id}",
        "kind": kinds.TOOL,
        "start_ns": base + start,
        "end_ns": base + start + 1000,
        "status": "OK",
        "attributes": {"k": "v"},
    }
    fields.update(extra)
    return TraceSpan(**fields)  # type: ignore[arg-type]


def test_spans_round_trip_and_replays_collapse(store: Store) -> None:
    """Every field comes back; a span written twice is read once; documents keep their
    scores, a missing score as None."""
    root = _span("01" * 8, "", 0, kind=kinds.AGENT, session_id="s1", user_id="u1")
    retrieval = _span(
        "02" * 8,
        "01" * 8,
        10,
        kind=kinds.RETRIEVAL,
        input_text="where is it?",
        documents=(("doc one é", 0.75), ("doc two", None)),
        status="ERROR",
        status_message="boom",
        service_name="svc",
    )
    store.write(WriteBatch(spans=[root, retrieval]))
    store.write(WriteBatch(spans=[retrieval]))
    got = read_trace(store, TRACE)
    assert got == [root, retrieval]
    assert read_trace(store, "cd" * 16) == []
    assert [s.span_id for s in read_session(store, "s1")] == ["01" * 8, "02" * 8]
    assert read_session(store, "nobody") == []
