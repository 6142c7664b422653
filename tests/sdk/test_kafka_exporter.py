"""KafkaSpanExporter without a broker: wire format, grouping by trace, failure handling.

(Tests against a real broker live with the integration tests.)
"""

from __future__ import annotations

import socket
import time

import pytest
from opentelemetry.context import Context
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from watchkeeper.sdk.exporters.kafka import KafkaSpanExporter, encode_spans_by_trace, trace_id_key

# kafka-python 3.0 loads its protocol schemas with importlib.resources' legacy API.
pytestmark = pytest.mark.filterwarnings(r"ignore:(open|read)_text is deprecated:DeprecationWarning")


def two_traces() -> list[ReadableSpan]:
    """Five spans from two traces, interleaved the way a batch would hold them."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("request-a"):
        with tracer.start_as_current_span("llm-a1"):
            pass
        # An empty context makes a new root: a second trace ending inside the first.
        with (
            tracer.start_as_current_span("request-b", context=Context()),
            tracer.start_as_current_span("llm-b1"),
        ):
            pass
        with tracer.start_as_current_span("llm-a2"):
            pass
    spans = list(memory.get_finished_spans())
    assert len({span.context.trace_id for span in spans if span.context}) == 2
    return spans


def test_trace_id_key_is_32_lowercase_hex() -> None:
    """The message key is the trace id as 32 lowercase hex characters, zero-padded."""
    assert trace_id_key(0xABC) == b"00000000000000000000000000000abc"
    assert trace_id_key(2**128 - 1) == b"f" * 32


def test_spans_are_grouped_into_one_message_per_trace() -> None:
    """Each trace of a batch becomes one message keyed by its hex trace id whose value
    parses as an ExportTraceServiceRequest holding exactly that trace's spans."""
    spans = two_traces()
    by_trace: dict[str, set[str]] = {}
    for span in spans:
        assert span.context is not None
        by_trace.setdefault(f"{span.context.trace_id:032x}", set()).add(span.name)

    messages = encode_spans_by_trace(spans)
    assert len(messages) == len(by_trace)
    for key, value in messages:
        hex_id = key.decode("ascii")
        assert len(hex_id) == 32
        assert hex_id == hex_id.lower()
        request = ExportTraceServiceRequest.FromString(value)
        names = set()
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    assert span.trace_id.hex() == hex_id
                    names.add(span.name)
        assert names == by_trace[hex_id]
    assert sum(len(names) for names in by_trace.values()) == len(spans)


def test_traces_keep_first_seen_order() -> None:
    """Messages come out in the order their traces first appear in the batch."""
    spans = two_traces()
    seen: list[bytes] = []
    for span in spans:
        assert span.context is not None
        key = trace_id_key(span.context.trace_id)
        if key not in seen:
            seen.append(key)
    assert [key for key, _ in encode_spans_by_trace(spans)] == seen


def test_unreachable_broker_returns_failure_without_raising() -> None:
    """With no broker listening, export() returns FAILURE within its timeout and
    shutdown() returns promptly."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exporter = KafkaSpanExporter(f"127.0.0.1:{port}", timeout_s=0.5)

    started = time.monotonic()
    assert exporter.export(two_traces()) is SpanExportResult.FAILURE
    assert exporter.export(two_traces()) is SpanExportResult.FAILURE
    assert time.monotonic() - started < 10

    started = time.monotonic()
    exporter.shutdown(timeout_millis=500)
    assert time.monotonic() - started < 2
    assert exporter.export(two_traces()) is SpanExportResult.FAILURE


def test_sdk_spans_encode_like_opentelemetry() -> None:
    """KafkaSpanExporter's encoding of OTel SDK spans (events, error status, child
    spans) decodes to exactly what OpenTelemetry's own encoder produces."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.trace import Status, StatusCode

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test", "9.9")
    with tracer.start_as_current_span("parent", attributes={"k": [1, 2]}) as parent:
        parent.add_event("retry", {"attempt": 2})
        with tracer.start_as_current_span("child") as child:
            child.set_status(Status(StatusCode.ERROR, "boom"))
    spans = memory.get_finished_spans()
    ((_, value),) = encode_spans_by_trace(spans)
    ours = MessageToDict(ExportTraceServiceRequest.FromString(value))
    # Ours writes one ResourceSpans per span; compare span by span.
    ours_spans = [
        span for rs in ours["resourceSpans"] for ss in rs["scopeSpans"] for span in ss["spans"]
    ]
    theirs = MessageToDict(encode_spans(list(spans)))
    theirs_spans = [
        span for rs in theirs["resourceSpans"] for ss in rs["scopeSpans"] for span in ss["spans"]
    ]
    assert ours_spans == theirs_spans
    assert ours["resourceSpans"][0]["scopeSpans"][0]["scope"] == {"name": "test", "version": "9.9"}
