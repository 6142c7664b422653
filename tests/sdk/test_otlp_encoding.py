"""Our hand-written OTLP encoder writes what OpenTelemetry's own encoder writes."""

from __future__ import annotations

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from watchkeeper.sdk import configure, current_call, observe, testing
from watchkeeper.sdk.otlp import Envelope, encode_request, varint
from watchkeeper.sdk.span_data import (
    KIND_INTERNAL,
    STATUS_ERROR,
    EventData,
    SpanData,
    StaticAttributes,
    to_readable_span,
)

RESOURCE = Resource({"service.name": "app", "deployment.environment": "prod"})
SCOPE = InstrumentationScope("watchkeeper.sdk", "1.2.3")


def both_ways(spans: list[SpanData]) -> tuple[dict[str, object], dict[str, object]]:
    ours = ExportTraceServiceRequest.FromString(
        encode_request(Envelope(dict(RESOURCE.attributes), SCOPE.name, "1.2.3"), spans)
    )
    theirs = encode_spans([to_readable_span(span, RESOURCE, SCOPE) for span in spans])
    return MessageToDict(ours), MessageToDict(theirs)


def test_spans_of_every_shape_decode_identically() -> None:
    """Root and child spans, remote parents, every attribute type (unicode, negative and
    64-bit ints, floats, bools, arrays), shared (pre-encoded) attributes overridden per
    call, events, error status: the decoded messages are equal."""
    shared = StaticAttributes({"gen_ai.operation.name": "chat", "watchkeeper.route": "r"})
    spans = [
        SpanData(
            trace_id=2**128 - 1,
            span_id=1,
            parent_span_id=0,
            name="chat m",
            start_ns=1,
            end_ns=2**63,
            attributes={
                "text": "héllo ✓ 日本",
                "empty": "",
                "long": "x" * 20_000,
                "int": -5,
                "big": 2**63 - 1,
                "float": 0.25,
                "flag": False,
                "list": ["a", "b"],
                "ints": [1, 2, 3],
            },
            static=shared,
        ),
        SpanData(
            trace_id=7,
            span_id=2**64 - 1,
            parent_span_id=12345,
            parent_is_remote=True,
            name="",
            start_ns=10,
            end_ns=20,
            attributes={"watchkeeper.route": "per-call wins"},
            static=shared,
            kind=KIND_INTERNAL,
            status_code=STATUS_ERROR,
            status_message="ValueError: bad",
            events=[EventData("exception", 15, {"exception.type": "ValueError", "n": 1})],
        ),
    ]
    ours, theirs = both_ways(spans)
    assert ours == theirs


def test_recorded_calls_encode_like_opentelemetry() -> None:
    """What @observe records, encoded by us (finished_payload), equals OpenTelemetry's
    encoding of the same spans (finished_spans)."""
    configure("memory", service_name="svc")

    @observe(model="m", provider="p")
    def answer(prompt: str) -> str:
        current_call().set_usage(3, 4)
        return "ok"

    answer("hi")
    answer("again")
    ours = MessageToDict(ExportTraceServiceRequest.FromString(testing.finished_payload()))
    theirs = MessageToDict(encode_spans(list(testing.finished_spans())))
    assert ours == theirs


def test_varint_matches_protobuf() -> None:
    """Varints of every size class round-trip through the protobuf runtime."""
    from google.protobuf.internal.encoder import _VarintBytes  # type: ignore[attr-defined]

    for value in (0, 1, 127, 128, 300, 16383, 16384, 2**32, 2**63, 2**64 - 1):
        assert varint(value) == _VarintBytes(value)


def test_repeated_values_keep_their_types() -> None:
    """Short values are encoded once and reused across spans; True, 1 and 1.0 under the
    same key (equal in Python) still come out as bool, int and double."""
    spans = [
        SpanData(trace_id=1, span_id=n + 1, parent_span_id=0, name="s", start_ns=1,
                 end_ns=2, attributes={"x": value, "user.id": "u-1"})
        for n, value in enumerate([True, 1, 1.0, True, 1])
    ]  # fmt: skip
    ours, theirs = both_ways(spans)
    assert ours == theirs
    decoded = (
        ExportTraceServiceRequest.FromString(encode_request(Envelope({}, "s", "1"), spans))
        .resource_spans[0]
        .scope_spans[0]
        .spans
    )
    kinds = [span.attributes[0].value.WhichOneof("value") for span in decoded]
    assert kinds == ["bool_value", "int_value", "double_value", "bool_value", "int_value"]
