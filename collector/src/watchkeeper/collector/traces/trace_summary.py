"""A trace the compiled core scored while it read the payload the trace came whole in.

The core (``native/src/calls/trace_summary.rs``, the twin of ``signals.trajectory`` on the
trace the stage would assemble) returns one of these for each trace whose spans all came
in one payload of a run, that has a root, and that needs nothing it leaves to Python (a
retrieval, a session, a declared tool schema, arguments it cannot read). The signal stage
then scores it without holding, assembling or reading its spans
(``signals.stage.TraceSignalStage``), once it checked that no other span of the trace came
in the batch and that none was held or completed before. ``tests/traces/test_summary_parity.py``
holds the two paths to the same rows.
"""

from __future__ import annotations

from typing import NamedTuple

from watchkeeper.collector.record import CallRecord


class TraceSummary(NamedTuple):
    """A trace's trajectory signals and the top span (its root) they are stored on."""

    trace_id: str
    #: spans of the trace the core read (records and rows)
    spans: int
    #: earliest start of its spans (ns)
    start_ns: int
    #: ``trajectory.*`` values by stored name; empty when the trace has none
    values: dict[str, float]
    top_span_id: str
    #: whether the top span is an LLM call (its record is among the batch's calls)
    top_is_call: bool
    top_start_ns: int
    top_duration_ns: int
    top_name: str
    #: UNSET, OK or ERROR
    top_status: str
    service: str
    route: str
    agent: str

    @property
    def key(self) -> str:
        """The key its signals are watched by (``steps.key``)."""
        return f"{self.service}|{self.route}|{self.agent}"

    def record(self) -> CallRecord:
        """The row its values go on when its top span is no LLM call (as the stage makes
        it for an assembled trace)."""
        return top_record(
            self.key,
            trace_id=self.trace_id,
            span_id=self.top_span_id,
            start_ns=self.top_start_ns,
            duration_ns=self.top_duration_ns,
            name=self.top_name,
            status=self.top_status,
        )


def top_record(
    key: str,
    *,
    trace_id: str,
    span_id: str,
    start_ns: int,
    duration_ns: int,
    name: str,
    status: str,
    parent_span_id: str = "",
) -> CallRecord:
    """The row a trace's scores go on when its top span is not an LLM call: the top span's
    ids and timing, with service, route and agent read back from the watched ``key``."""
    service, route, agent = key.split("|", 2)
    return CallRecord(
        trace_id=trace_id,
        span_id=span_id,
        timestamp_ns=start_ns,
        duration_ns=duration_ns,
        parent_span_id=parent_span_id,
        service_name=service,
        span_name=name,
        route=route,
        request_model=agent,
        status_code=status,
    )
