"""Which trace spans become ``spans`` rows: one sampling decision per trace, a bound on
spans per trace, and texts only where the body-sampling rules keep them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from watchkeeper.collector.processors.sample_bodies import sampled
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.span_columns import SpanColumns
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.span_record import span_from_call, without_body


@dataclass
class TraceKeeper:
    """Decides the ``spans`` rows of each batch, in batch order (not thread-safe: the
    pipeline calls it under its lock).

    ``sample_rate`` is decided by trace id (the same bits as body sampling, so the traces
    kept at a low rate are the ones whose bodies are kept); a trace keeps at most
    ``max_spans_per_trace`` spans, counted across batches for the ``max_open_traces``
    most recent traces; ``body_rate`` is the share of traces whose spans other than
    LLM calls keep their texts (an error span always does).
    """

    sample_rate: float = 1.0
    max_spans_per_trace: int = 1000
    max_open_traces: int = 100_000
    body_rate: float = 1.0
    #: spans not stored because their trace had reached ``max_spans_per_trace``
    over_limit: int = 0
    _counts: OrderedDict[str, int] = field(default_factory=OrderedDict, repr=False)

    def keep(
        self, calls: Sequence[CallRecord], others: Sequence[TraceSpan], with_body: set[str]
    ) -> list[TraceSpan]:
        """The rows for the batch's LLM calls (texts when their span id is in
        ``with_body``) and its other spans, sampled and bounded."""
        rate = self.sample_rate
        out = [
            span_from_call(call, with_body=call.span_id in with_body)
            for call in calls
            if rate >= 1.0 or sampled(call.trace_id, rate)
        ]
        body_rate = self.body_rate
        for span in others:
            if rate < 1.0 and not sampled(span.trace_id, rate):
                continue
            if span.is_error or sampled(span.trace_id, body_rate):
                out.append(span)
            else:
                out.append(without_body(span))
        return self._bounded(out)

    def keep_with_columns(
        self,
        calls: Sequence[CallRecord],
        others: Sequence[TraceSpan],
        with_body: set[str],
        blocks: Sequence[SpanColumns],
    ) -> tuple[list[TraceSpan], list[pa.Table]]:
        """:meth:`keep` of a batch some of whose other spans the core made as columns
        (``blocks``, texts left out as there): each block's rows counted a run at a time
        where they sit among ``others`` (``SpanColumns.offset`` and the runs' positions),
        so that a trace over the bound keeps the spans it keeps when every span is a
        value."""
        if not blocks:
            return self.keep(calls, others, with_body), []
        rate = self.sample_rate
        out = [
            span_from_call(call, with_body=call.span_id in with_body)
            for call in calls
            if rate >= 1.0 or sampled(call.trace_id, rate)
        ]
        out = self._counted(out)
        done = 0
        tables = []
        # `_admit` inlined: a call per run (a trace's spans of a payload) shows on traces.
        counts, limit = self._counts, self.max_spans_per_trace
        for block in blocks:
            rows: list[int] = []
            errors = block.errors() if self.body_rate < 1.0 else None
            bodies: list[bool] = []
            end = over = 0
            runs = zip(block.trace_ids, block.run_rows, block.positions, strict=True)
            for trace_id, n, place in runs:
                start, end = end, end + n
                if place + block.offset > done:  # values made before this run
                    done = self._keep_values(others, done, place + block.offset, out)
                if rate < 1.0 and not sampled(trace_id, rate):
                    continue
                before = counts.pop(trace_id, 0)
                counts[trace_id] = before + n  # most recent last
                within = n if before + n <= limit else max(0, limit - before)
                over += n - within
                kept = range(start, start + within)
                rows.extend(kept)
                if errors is not None:
                    body = sampled(trace_id, self.body_rate)
                    bodies.extend(body or errors[at] for at in kept)
            self.over_limit += over
            tables.append(block.kept(rows, bodies if errors is not None else [True] * len(rows)))
        self._keep_values(others, done, len(others), out)
        self._forget()
        return out, tables

    def _keep_values(
        self, others: Sequence[TraceSpan], start: int, end: int, out: list[TraceSpan]
    ) -> int:
        """``others[start:end]`` sampled, bounded and with texts as :meth:`keep` keeps
        them, into ``out``; returns where it stopped."""
        rate, body_rate = self.sample_rate, self.body_rate
        for at in range(start, end):
            span = others[at]
            if rate < 1.0 and not sampled(span.trace_id, rate):
                continue
            if not self._admit(span.trace_id):
                continue
            if span.is_error or sampled(span.trace_id, body_rate):
                out.append(span)
            else:
                out.append(without_body(span))
        return max(start, end)

    def _bounded(self, spans: list[TraceSpan]) -> list[TraceSpan]:
        out = self._counted(spans)
        self._forget()
        return out

    def _counted(self, spans: list[TraceSpan]) -> list[TraceSpan]:
        """The spans within the bound, each counted."""
        # `_admit` inlined: a call per span shows on calls sent alone (one span each).
        counts, limit = self._counts, self.max_spans_per_trace
        out = []
        for span in spans:
            n = counts.pop(span.trace_id, 0)
            counts[span.trace_id] = n + 1  # most recent last
            if n < limit:
                out.append(span)
            else:
                self.over_limit += 1
        return out

    def _admit(self, trace_id: str, n: int = 1) -> int:
        """Count ``n`` spans of the trace: how many of them (the first) are within its
        bound; the others are counted over the limit."""
        counts = self._counts
        before = counts.pop(trace_id, 0)
        counts[trace_id] = before + n  # most recent last
        kept = max(0, min(n, self.max_spans_per_trace - before))
        self.over_limit += n - kept
        return kept

    def _forget(self) -> None:
        counts = self._counts
        while len(counts) > self.max_open_traces:
            counts.popitem(last=False)
