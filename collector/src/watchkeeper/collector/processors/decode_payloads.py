"""The pipeline's decode stage: a batch's payloads into decoded requests, fastest way first.

One entry point, :func:`decode_payloads`, picks the decoder payload by payload:

1. the compiled core takes runs of plain protobuf payloads in one call, reading them with
   the GIL released, and goes on to make their call records (``native_decode.decode_run``);
2. the payload a run stops at, and every payload when no run can be taken, is decoded by
   the core on its own when it is plain protobuf (``native_decode.decode_natively``);
3. anything else (OTLP/JSON, corrupt wire format, bad UTF-8, the core switched off with
   ``WATCHKEEPER_NATIVE=0``) is decoded by protobuf, which also gives the verdict on bad
   payloads (:class:`RejectedPayload`, with its reason).

Results are the same whichever way a payload went; ``normalize.normalize_payload`` turns a
decoded request into call records and trace spans. The core's fast path makes only the
records of LLM calls and the rows of the other spans in one pass; a core that only counts
those spans (an older build) has the payloads where it counted some read again, span by
span, for them (:func:`run_spans`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from watchkeeper.collector.processors import native_decode
from watchkeeper.collector.processors.decode import (
    Encoding,
    RejectedPayload,
    decode_request,
)
from watchkeeper.collector.processors.normalize import (
    DecodedResource,
    normalize_request,
    trace_spans,
)
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.span_columns import SpanColumns
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.trace_summary import TraceSummary


class Payload(NamedTuple):
    """One message as a receiver got it: OTLP bytes plus where they came from.

    A named tuple, not a frozen dataclass: a receiver makes one per message, and a tuple
    is made in half the time (0.6 against 1.2 µs). The compiled core reads its fields by
    position.
    """

    data: bytes
    source: str
    encoding: Encoding | None = None
    #: Where exactly it came from, for dead letters (e.g. Kafka ``topic/partition/offset``).
    origin: str = ""


class DecodedRun(NamedTuple):
    """Payloads the core decoded and normalised in one go, all from ``source``."""

    source: str
    #: Their call records, in order (``source`` set).
    calls: list[CallRecord]
    #: Their spans that are not LLM calls.
    skipped: int
    #: Those spans as trace spans.
    spans: list[TraceSpan]
    #: The traces whose spans all came in one of these payloads, scored by the core.
    summaries: Sequence[TraceSummary] = ()
    #: Those traces' spans that are not LLM calls, as Arrow columns (not in ``spans``).
    columns: SpanColumns | None = None


class DecodedPayload(NamedTuple):
    """One payload decoded on its own: its request, or why it is unusable."""

    payload: Payload
    #: The request as the core decoded it (resources and spans) or as a protobuf message,
    #: or why the payload is unusable.
    request: list[DecodedResource] | ExportTraceServiceRequest | RejectedPayload


def decode_payloads(
    payloads: Sequence[Payload], span_columns: bool = True
) -> Iterator[DecodedRun | DecodedPayload]:
    """Every payload decoded, in order (``span_columns``: see ``native_decode.decode_run``).

    Lazy: each payload is decoded when the caller reaches it, so a batch never holds more
    than one decoded protobuf request at a time.
    """
    items = payloads if type(payloads) is list else list(payloads)
    i = 0
    while i < len(items):
        run = native_decode.decode_run(items, i, span_columns)
        pending = None
        if run is not None:
            if run.end > i:
                spans = run.spans
                if spans is None:
                    spans = run_spans(items[i : run.end]) if run.skipped else []
                yield DecodedRun(
                    items[i].source, run.calls, run.skipped, spans, run.summaries, run.columns
                )
            i, pending = run.end, run.pending
            if i == len(items):
                return
        payload = items[i]
        i += 1
        yield _decode_one(payload, pending)


def _decode_one(payload: Payload, pending: list[DecodedResource] | None) -> DecodedPayload:
    """``payload`` decoded by the core (``pending``: the run already did) or by protobuf."""
    decoded = (
        pending
        if pending is not None
        else native_decode.decode_natively(payload.data, payload.encoding)
    )
    if decoded is not None and not native_decode.makes_rows() and _has_skipped(decoded):
        # The core left out spans that are not calls: every span as it decodes them, for
        # the normaliser to finish (the records are the same).
        decoded = native_decode.decode_spans(payload.data)
    if decoded is not None:
        return DecodedPayload(payload, decoded)
    try:
        return DecodedPayload(payload, decode_request(payload.data, payload.encoding))
    except RejectedPayload as exc:
        return DecodedPayload(payload, exc)


def run_spans(payloads: Sequence[Payload]) -> list[TraceSpan]:
    """The trace spans of payloads the core took in a run, but for its ``llm`` calls."""
    out: list[TraceSpan] = []
    for payload in payloads:
        decoded = native_decode.decode_spans(payload.data)
        if decoded is not None:
            out.extend(trace_spans(decoded))
            continue
        try:  # the core took the payload, so this is not expected; protobuf decides
            request = decode_request(payload.data, payload.encoding)
        except RejectedPayload:
            continue
        out.extend(normalize_request(request, payload.source).spans)
    return out


def _has_skipped(decoded: list[DecodedResource]) -> bool:
    return any(span is None for _, spans in decoded for span in spans)
