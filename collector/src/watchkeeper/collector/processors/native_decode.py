"""OTLP protobuf decoded by the compiled core, when it is installed and the payload is plain.

``watchkeeper.native.decode_calls`` reads an export request straight into the values the
normaliser uses (about a tenth of the CPU of protobuf's message objects plus
``_attributes``), and for the common spans goes on to build their call records as
``normalize._call`` would, and the ``spans`` rows of the spans that are not LLM calls as
``span_record.span_from_decoded`` would, in the same pass; the other spans it leaves for
``normalize_decoded`` to finish in Python. It declines anything unusual —
corrupt wire format, bad UTF-8, groups, merged fields — and then protobuf decodes the
payload and gives the verdict, so dead letters keep their reasons. Results are the same
either way (``tests/collector/test_native_decode.py`` compares both on real, generated and
fuzzed payloads). ``WATCHKEEPER_NATIVE=0`` turns the core off, as for the detectors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from watchkeeper.collector.processors.decode import (
    MAX_PAYLOAD_BYTES,
    Encoding,
    sniff_encoding,
)
from watchkeeper.collector.processors.normalize import DecodedResource
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.span_columns import SpanColumns
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.trace_summary import TraceSummary
from watchkeeper.detectors import native_core
from watchkeeper.sdk import attributes as attr

# The core as the detectors load it: one import, one switch (``WATCHKEEPER_NATIVE``).
_DECODER = native_core.otlp_decoder()

# Arguments: payload, feedback key, now (ns, bounds start times), the record class (which
# the core fills positionally, in field order), the span row class (from a core that
# makes the rows of the spans that are not calls).
_DECODE: Callable[..., list[DecodedResource] | None] | None = (
    None if _DECODER is None else _DECODER.decode_calls
)
# The run with the rows of the spans that are not calls: arguments as ``_RUN``'s with the
# row class before the largest payload, a list for the traces it summarises, one for the
# rows of those traces as column buffers, and the class the summaries are made as (tests
# switch it off to reach ``_RUN``). Set ``SPAN_COLUMNS`` False to have every row made as a
# ``TraceSpan``.
_TRACE_RUN: (
    Callable[
        [
            Sequence[object],
            int,
            str,
            int,
            type[CallRecord],
            type[TraceSpan],
            int,
            list[TraceSummary],
            list[Any] | None,
            type[TraceSummary],
        ],
        tuple[list[CallRecord], list[TraceSpan], int, int, list[DecodedResource] | None],
    ]
    | None
) = None if _DECODER is None else _DECODER.decode_trace_run

# Arguments: payloads (``Payload`` tuples), where to start, feedback key, now (ns), the
# record class, the largest payload taken.
_RUN: (
    Callable[
        [Sequence[object], int, str, int, type[CallRecord], int],
        tuple[list[CallRecord], int, int, list[DecodedResource] | None],
    ]
    | None
) = None if _DECODER is None else _DECODER.decode_run

# Arguments: payload, feedback key. Every span as a tuple (``normalize.DecodedSpan``).
_TRACES: Callable[[bytes, str], list[DecodedResource] | None] | None = (
    None if _DECODER is None else _DECODER.decode_traces
)


class Run(NamedTuple):
    """Payloads the core took in one go (see :func:`decode_run`)."""

    #: Their calls, in order, each with its payload's source.
    calls: list[CallRecord]
    #: Their spans that are not LLM calls.
    skipped: int
    #: Those spans' rows; None from a core that only counts them.
    spans: list[TraceSpan] | None
    #: The first payload not taken (the number of payloads when all were).
    end: int
    #: That payload decoded, when the core could decode it but not finish it (spans for
    #: ``normalize_decoded``, or none at all); None: it goes to ``decode_natively``.
    pending: list[DecodedResource] | None
    #: The traces whose spans came whole in one of the payloads taken, scored by the core
    #: (see ``traces.trace_summary``).
    summaries: Sequence[TraceSummary] = ()
    #: The rows of those traces, as Arrow columns instead of ``spans``' objects.
    columns: SpanColumns | None = None


#: Whether the core gives the rows of the traces it summarised as Arrow columns.
SPAN_COLUMNS = True


def available() -> bool:
    """Whether payloads go through the compiled decoder."""
    return _DECODE is not None


def makes_rows() -> bool:
    """Whether the core makes the rows of the spans that are not LLM calls (in
    :func:`decode_natively`'s result, and :attr:`Run.spans`)."""
    return _DECODE is not None and _TRACE_RUN is not None


def decode_natively(payload: bytes, encoding: Encoding | None) -> list[DecodedResource] | None:
    """The request's resources and spans (spans the core normalised already as their
    records; with :func:`makes_rows`, the rows of those that are not LLM calls, None for
    one without a row; else None for each that is not an LLM call), or None: decode with
    protobuf then.

    Payloads that the protobuf path would reject before parsing (empty, oversized) and
    OTLP/JSON are left to it as well.
    """
    if _DECODE is None or not payload or len(payload) > MAX_PAYLOAD_BYTES:
        return None
    if (encoding or sniff_encoding(payload)) != "protobuf":
        return None
    if _TRACE_RUN is None:
        return _DECODE(payload, attr.SPAN_TYPE, time.time_ns(), CallRecord)
    return _DECODE(payload, attr.SPAN_TYPE, time.time_ns(), CallRecord, TraceSpan)


def decode_spans(payload: bytes) -> list[DecodedResource] | None:
    """Every span of a plain protobuf payload, none normalised (for its trace spans); None
    without the core or when the core declines the payload."""
    if _TRACES is None or not payload or len(payload) > MAX_PAYLOAD_BYTES:
        return None
    return _TRACES(payload, attr.SPAN_TYPE)


def decode_run(payloads: list[Any], start: int, span_columns: bool = True) -> Run | None:
    """``payloads[start:]`` decoded and normalised by the core for as long as each payload
    is plain protobuf whose spans all become calls or skips, from one source; None without
    the core.

    One call for a batch instead of :func:`decode_natively` and ``normalize_decoded`` per
    payload: the records are the same, without the Python work per payload (about 3 µs).
    The payload the run stops at goes the usual way, with ``Run.pending`` when set.

    With ``span_columns`` the spans of the traces the core summarises come as
    :attr:`Run.columns`, not in :attr:`Run.spans`.
    """
    now_ns = time.time_ns()
    if _TRACE_RUN is not None:
        summaries: list[TraceSummary] = []
        columns: list[Any] | None = [] if span_columns and SPAN_COLUMNS else None
        calls, spans, skipped, end, pending = _TRACE_RUN(
            payloads,
            start,
            attr.SPAN_TYPE,
            now_ns,
            CallRecord,
            TraceSpan,
            MAX_PAYLOAD_BYTES,
            summaries,
            columns,
            TraceSummary,
        )
        table = SpanColumns.from_core(columns[0]) if columns else None
        return Run(calls, skipped, spans, end, pending, summaries, table)
    if _RUN is None:
        return None
    calls, skipped, end, pending = _RUN(
        payloads, start, attr.SPAN_TYPE, now_ns, CallRecord, MAX_PAYLOAD_BYTES
    )
    return Run(calls, skipped, None, end, pending)
