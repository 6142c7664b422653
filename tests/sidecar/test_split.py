"""One Kafka message per trace, keyed by trace id: the OTel Collector's Kafka convention."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from tests.sidecar.process import llm_request
from watchkeeper.ingest.otlp.split import messages_by_trace, span_count


def _span(trace: int, span: int) -> Span:
    return Span(trace_id=bytes([trace]) * 16, span_id=bytes([span]) * 8, name=f"s{span}")


def _resource(service: str, scopes: list[ScopeSpans]) -> ResourceSpans:
    attribute = KeyValue(key="service.name", value=AnyValue(string_value=service))
    return ResourceSpans(
        resource=Resource(attributes=[attribute]), scope_spans=scopes, schema_url="r-schema"
    )


def test_spans_are_grouped_per_trace_with_their_resource_and_scope() -> None:
    """Every span lands in its trace's message, under its own resource and scope."""
    request = ExportTraceServiceRequest(
        resource_spans=[
            _resource(
                "svc-a",
                [
                    ScopeSpans(
                        scope=InstrumentationScope(name="scope-1"),
                        spans=[_span(1, 1), _span(2, 2), _span(1, 3)],
                    ),
                    ScopeSpans(scope=InstrumentationScope(name="scope-2"), spans=[_span(2, 4)]),
                ],
            ),
            _resource("svc-b", [ScopeSpans(spans=[_span(1, 5)])]),
        ]
    )
    messages = messages_by_trace(request)
    assert [key for key, _ in messages] == [b"01" * 16, b"02" * 16]
    placed = {}
    for key, value in messages:
        message = ExportTraceServiceRequest.FromString(value)
        for resource_spans in message.resource_spans:
            service = resource_spans.resource.attributes[0].value.string_value
            assert resource_spans.schema_url == "r-schema"
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    assert span.trace_id.hex().encode() == key
                    placed[span.name] = (service, scope_spans.scope.name)
    assert placed == {
        "s1": ("svc-a", "scope-1"),
        "s3": ("svc-a", "scope-1"),
        "s2": ("svc-a", "scope-1"),
        "s4": ("svc-a", "scope-2"),
        "s5": ("svc-b", ""),
    }
    assert sum(span_count(ExportTraceServiceRequest.FromString(v)) for _, v in messages) == 5


def test_single_trace_request_is_passed_on_byte_for_byte() -> None:
    """A request holding one trace is forwarded as received, without re-encoding."""
    request = llm_request("split", 0, 4, per_trace=4)
    original = request.SerializeToString()
    ((key, value),) = messages_by_trace(request, original)
    assert value is original
    assert key == request.resource_spans[0].scope_spans[0].spans[0].trace_id.hex().encode()


def test_request_without_spans_makes_no_message() -> None:
    """An empty export (valid OTLP) produces nothing to forward."""
    assert messages_by_trace(ExportTraceServiceRequest()) == []
