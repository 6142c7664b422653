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

    def keep_columns(self, columns: SpanColumns) -> pa.Table:
        """:meth:`keep` of spans the core made as columns (after the batch's others):
        the rows kept, texts left out as there."""
        rate, body_rate = self.sample_rate, self.body_rate
        rows: list[int] = []
        with_body: list[bool] = []
        errors = columns.errors() if body_rate < 1.0 else None
        for at, trace_id in enumerate(columns.trace_ids):
            if rate < 1.0 and not sampled(trace_id, rate):
                continue
            if not self._admit(trace_id):
                continue
            rows.append(at)
            with_body.append(errors is None or errors[at] or sampled(trace_id, body_rate))
        self._forget()
        return columns.kept(rows, with_body)

    def _bounded(self, spans: list[TraceSpan]) -> list[TraceSpan]:
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
        self._forget()
        return out

    def _admit(self, trace_id: str) -> bool:
        """Count a span of the trace; False (counted over the limit) past the bound."""
        counts = self._counts
        n = counts.pop(trace_id, 0)
        counts[trace_id] = n + 1  # most recent last
        if n < self.max_spans_per_trace:
            return True
        self.over_limit += 1
        return False

    def _forget(self) -> None:
        counts = self._counts
        while len(counts) > self.max_open_traces:
            counts.popitem(last=False)
