"""The traces of a batch that the compiled core scored as it read them (see
``traces.trace_summary``), taken apart from the spans the stage holds and assembles.

A summary stands for its trace only when the trace came whole in the batch: no span of
it held from an earlier batch or completed before (those go the usual way, with their late
spans counted), every span of it in the payload the core read (as many of the batch's
spans carry its id as the core counted), and the stage reading texts as the core assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.span_columns import SpanColumns
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.signals.open_traces import OpenTraces
from watchkeeper.collector.traces.trace_summary import TraceSummary

#: ``OpenTraces.max_text_chars`` the core's summaries assume.
SUMMARY_TEXT_CHARS = 2000


class Part(NamedTuple):
    """A summarised trace's own calls and spans (what its review item reads)."""

    calls: list[CallRecord]
    spans: list[TraceSpan]
    #: its spans among the core's columns: the block and the row
    rows: list[tuple[SpanColumns, int]]

    def span_count(self) -> int:
        """Its spans, LLM calls included."""
        return len(self.calls) + len(self.spans) + len(self.rows)

    def all_spans(self) -> list[TraceSpan]:
        """Its spans that are not LLM calls, those of the columns made into values."""
        return [*self.spans, *(span for block, at in self.rows for span in block.spans([at]))]


class Taken(NamedTuple):
    """The batch split: summarised traces (marked complete) and the rest."""

    #: summaries standing for their traces, in batch order
    summaries: list[TraceSummary]
    #: the calls and other spans of every other trace (those of the columns made values)
    calls: list[CallRecord]
    spans: list[TraceSpan]
    #: each summarised trace's own calls and spans
    parts: dict[str, Part]


def take_summarised(
    summaries: Sequence[TraceSummary],
    calls: list[CallRecord],
    spans: list[TraceSpan],
    traces: OpenTraces,
    columns: Sequence[SpanColumns] = (),
) -> Taken:
    """The summaries that stand for their traces, each trace marked complete in
    ``traces``, and the calls and spans of the other traces (rows of ``columns`` made
    into :class:`TraceSpan` values for them)."""
    if not summaries or not takes_summaries(traces):
        return Taken([], calls, [*spans, *_loose(columns, {})], {})
    wanted = {
        s.trace_id: s
        for s in summaries
        if not traces.is_open(s.trace_id) and not traces.is_completed(s.trace_id)
    }
    parts = {trace_id: Part([], [], []) for trace_id in wanted}
    rest_calls, rest_spans = _split(calls, spans, parts)
    rest_spans.extend(_loose(columns, parts))
    spoilt = [
        trace_id
        for trace_id, summary in wanted.items()
        if parts[trace_id].span_count() != summary.spans
    ]
    for trace_id in spoilt:  # another payload held spans of it: the usual way
        del wanted[trace_id]
        part = parts.pop(trace_id)
        rest_calls.extend(part.calls)
        rest_spans.extend(part.all_spans())
    taken = list(wanted.values())
    for summary in taken:
        traces.take_alone(summary.trace_id)
    return Taken(taken, rest_calls, rest_spans, parts)


def takes_summaries(traces: OpenTraces) -> bool:
    """Whether the stage holding ``traces`` can take summaries for traces: no grace
    period to wait, texts cut where the core assumes."""
    return traces.grace_s <= 0 and traces.max_text_chars == SUMMARY_TEXT_CHARS


def _loose(columns: Sequence[SpanColumns], parts: dict[str, Part]) -> list[TraceSpan]:
    """Rows of the columns put in their trace's part; those of no part as values."""
    out: list[TraceSpan] = []
    for block in columns:
        loose = []
        for at, trace_id in enumerate(block.trace_ids):
            part = parts.get(trace_id)
            if part is None:
                loose.append(at)
            else:
                part.rows.append((block, at))
        out.extend(block.spans(loose))
    return out


def _split(
    calls: list[CallRecord],
    spans: list[TraceSpan],
    parts: dict[str, Part],
) -> tuple[list[CallRecord], list[TraceSpan]]:
    """Calls and spans of the summarised traces into ``parts``; the others returned."""
    rest_calls: list[CallRecord] = []
    rest_spans: list[TraceSpan] = []
    for call in calls:
        part = parts.get(call.trace_id)
        if part is None:
            rest_calls.append(call)
        else:
            part.calls.append(call)
    for span in spans:
        part = parts.get(span.trace_id)
        if part is None:
            rest_spans.append(span)
        else:
            part.spans.append(span)
    return rest_calls, rest_spans
