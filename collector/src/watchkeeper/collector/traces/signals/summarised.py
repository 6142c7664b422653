"""The traces of a batch that the compiled core scored as it read them (see
``traces.trace_summary``), taken apart from the spans the stage holds and assembles.

A summary stands for its trace only when the trace came whole in the batch: no span of
it held from an earlier batch or completed before (those go the usual way, with their late
spans counted), every span of it in the payload the core read (as many of the batch's
spans carry its id as the core counted), and the stage reading texts as the core assumed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from itertools import accumulate
from operator import attrgetter
from typing import Final, NamedTuple

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
    #: its spans among the core's columns: the block, and a run's first row and rows
    rows: list[tuple[SpanColumns, int, int]]

    def span_count(self) -> int:
        """Its spans, LLM calls included."""
        return len(self.calls) + len(self.spans) + sum(n for _, _, n in self.rows)

    def all_spans(self) -> list[TraceSpan]:
        """Its spans that are not LLM calls, those of the columns made into values."""
        made = [block.spans(list(range(at, at + n))) for block, at, n in self.rows]
        return [*self.spans, *(span for spans in made for span in spans)]


class Parts(Mapping[str, Part]):
    """Each summarised trace's :class:`Part`, gathered from the batch when asked for (only
    a trace that gets a review item needs its spans): :meth:`gather` the traces a batch's
    review items read first, so that the batch is gone through once for all of them."""

    def __init__(
        self,
        trace_ids: Iterable[str],
        calls: Sequence[CallRecord],
        spans: Sequence[TraceSpan],
        columns: Sequence[SpanColumns],
    ) -> None:
        self._ids = frozenset(trace_ids)
        self._batch = (calls, spans, columns)
        self._parts: dict[str, Part] = {}

    @classmethod
    def empty(cls) -> Parts:
        """Those of a batch with no summarised trace."""
        return cls((), (), (), ())

    def __getitem__(self, trace_id: str) -> Part:
        if trace_id not in self._ids:
            raise KeyError(trace_id)
        part = self._parts.get(trace_id)
        if part is None:
            self.gather((trace_id,))
            part = self._parts[trace_id]
        return part

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def gather(self, trace_ids: Iterable[str]) -> None:
        """Find the parts of those of ``trace_ids`` that are summarised traces."""
        wanted = {t for t in trace_ids if t in self._ids and t not in self._parts}
        if not wanted:
            return
        calls, spans, columns = self._batch
        parts = {trace_id: Part([], [], []) for trace_id in wanted}
        for call in [call for call in calls if call.trace_id in wanted]:
            parts[call.trace_id].calls.append(call)
        for span in [span for span in spans if span.trace_id in wanted]:
            parts[span.trace_id].spans.append(span)
        for block in columns:
            starts = accumulate(block.run_rows, initial=0)  # one more than the runs
            runs = zip(block.trace_ids, starts, block.run_rows, strict=False)
            for trace_id, start, n in [run for run in runs if run[0] in wanted]:
                parts[trace_id].rows.append((block, start, n))
        self._parts.update(parts)


class Taken(NamedTuple):
    """The batch split: summarised traces (marked complete) and the rest."""

    #: summaries standing for their traces, in batch order
    summaries: list[TraceSummary]
    #: the calls and other spans of every other trace (those of the columns made values)
    calls: list[CallRecord]
    spans: list[TraceSpan]
    #: each summarised trace's own calls and spans
    parts: Parts


def take_summarised(
    summaries: Sequence[TraceSummary],
    calls: list[CallRecord],
    spans: list[TraceSpan],
    traces: OpenTraces,
    columns: Sequence[SpanColumns] = (),
) -> Taken:
    """The summaries that stand for their traces, each trace marked complete in
    ``traces``, and the calls and spans of the other traces in batch order (rows of
    ``columns`` made into :class:`TraceSpan` values for them, after the others)."""
    if not summaries or not takes_summaries(traces):
        return Taken([], calls, [*spans, *_loose(columns, ())], Parts.empty())
    by_id = {summary.trace_id: summary for summary in summaries}
    wanted = {trace_id: by_id[trace_id] for trace_id in traces.unseen(by_id)}
    # Spans of the batch per trace: a trace another payload held spans of goes the usual way.
    held = Counter(map(_TRACE_ID, calls))
    held.update(map(_TRACE_ID, spans))
    for block in columns:
        for trace_id, n in zip(block.trace_ids, block.run_rows, strict=True):
            held[trace_id] += n
    for trace_id in [t for t, summary in wanted.items() if held[t] != summary.spans]:
        del wanted[trace_id]
    if not wanted:
        return Taken([], calls, [*spans, *_loose(columns, ())], Parts.empty())
    rest_calls = [call for call in calls if call.trace_id not in wanted]
    rest_spans = [span for span in spans if span.trace_id not in wanted]
    rest_spans.extend(_loose(columns, wanted))
    traces.take_unseen(wanted)
    parts = Parts(wanted, calls, spans, columns)
    return Taken(list(wanted.values()), rest_calls, rest_spans, parts)


def takes_summaries(traces: OpenTraces) -> bool:
    """Whether the stage holding ``traces`` can take summaries for traces: no grace
    period to wait, texts cut where the core assumes."""
    return traces.grace_s <= 0 and traces.max_text_chars == SUMMARY_TEXT_CHARS


_TRACE_ID: Final = attrgetter("trace_id")


def _loose(columns: Sequence[SpanColumns], taken: Container[str]) -> list[TraceSpan]:
    """Rows of the columns of no trace in ``taken``, as values."""
    out: list[TraceSpan] = []
    for block in columns:
        loose = [i for i, trace_id in enumerate(block.trace_ids) if trace_id not in taken]
        if loose:
            starts = [0, *accumulate(block.run_rows)]
            out.extend(block.spans([at for i in loose for at in range(starts[i], starts[i + 1])]))
    return out


def summary_record(summary: TraceSummary) -> CallRecord:
    """``summary.record()``: the row its values go on when its top span is no LLM call,
    made from the summary's fields at once (a third of the cost)."""
    if "|" in summary.service or "|" in summary.route:
        return summary.record()  # the key splits otherwise: as it splits
    return CallRecord(
        summary.trace_id,
        summary.top_span_id,
        summary.top_start_ns,
        summary.top_duration_ns,
        "",
        summary.service,
        summary.top_name,
        summary.route,
        "",
        "",
        summary.agent,
        "",
        "",
        "",
        "",
        "",
        0,
        0,
        [],
        [],
        summary.top_status,
    )
