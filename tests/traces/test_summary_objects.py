"""The compiled core makes a run's trace summaries as ``TraceSummary`` values when given the
class: the same fields as the tuples it makes without it, in the same order."""

from __future__ import annotations

import time
from typing import Any

import pytest
from bench.collector.trace_messages import trace_message

from watchkeeper.collector.pipeline import Payload
from watchkeeper.collector.processors import native_decode
from watchkeeper.collector.processors.decode import MAX_PAYLOAD_BYTES
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.trace_summary import TraceSummary
from watchkeeper.detectors import native_core
from watchkeeper.sdk import attributes as attr

pytestmark = pytest.mark.skipif(
    not native_decode.makes_rows(), reason="the compiled core is not installed"
)


def _summaries(payloads: list[Payload], summary: type[TraceSummary] | None) -> list[Any]:
    decoder = native_core.otlp_decoder()
    assert decoder is not None
    out: list[Any] = []
    calls, _, _, end, _ = decoder.decode_trace_run(
        payloads,
        0,
        attr.SPAN_TYPE,
        time.time_ns(),
        CallRecord,
        TraceSpan,
        MAX_PAYLOAD_BYTES,
        out,
        [],
        summary,
    )
    assert (end, len(calls)) == (len(payloads), len(payloads))
    return out


def test_summaries_as_objects_hold_the_tuples_fields() -> None:
    """Each summary made as a ``TraceSummary`` equals ``TraceSummary(*tuple)`` of the tuple
    made for the same trace, and is a ``TraceSummary`` (its ``key`` and ``record`` work)."""
    payloads = [Payload(trace_message(i, "objects")[1], "test") for i in range(50)]
    tuples = _summaries(payloads, None)
    objects = _summaries(payloads, TraceSummary)
    assert len(objects) == len(payloads)
    assert all(type(s) is TraceSummary for s in objects)
    assert objects == [TraceSummary(*t) for t in tuples]
    assert all(type(t) is tuple for t in tuples)
    first = objects[0]
    assert first.values["trajectory.steps"] == 2.0  # the search tool and the LLM call
    assert first.record().trace_id == first.trace_id
    assert first.key == f"{first.service}|{first.route}|{first.agent}"
