"""Split an OTLP export request into one Kafka message per trace.

The wire contract of topic ``otlp_spans`` is the OpenTelemetry Collector's Kafka exporter
with ``partition_traces_by_id``: each message an ``ExportTraceServiceRequest`` holding
the spans of one trace, keyed by the trace id as 32 lowercase hex digits, so that a trace
stays on one partition and one collector sees all of it. The SDK's Kafka exporter does
the same from its own span objects (``encode_by_trace``); this works on decoded OTLP.
"""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans


def messages_by_trace(
    request: ExportTraceServiceRequest, original: bytes | None = None
) -> list[tuple[bytes, bytes]]:
    """``(key, ExportTraceServiceRequest bytes)`` per trace, in order of first appearance.

    Each message keeps the resource and instrumentation scope of its spans. A request
    holding a single trace is passed on as it came (``original``, when it is the
    protobuf encoding of ``request``), without re-encoding.

    >>> from opentelemetry.proto.trace.v1.trace_pb2 import Span
    >>> request = ExportTraceServiceRequest()
    >>> spans = request.resource_spans.add().scope_spans.add().spans
    >>> spans.extend([Span(trace_id=bytes([1]) * 16), Span(trace_id=bytes([2]) * 16)])
    >>> [key for key, _ in messages_by_trace(request)]
    [b'01010101010101010101010101010101', b'02020202020202020202020202020202']
    """
    trace_ids = {
        span.trace_id
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    }
    if not trace_ids:
        return []
    if len(trace_ids) == 1:
        (trace_id,) = trace_ids
        return [(trace_id.hex().encode("ascii"), original or request.SerializeToString())]
    by_trace: dict[bytes, ExportTraceServiceRequest] = {}
    resources: dict[tuple[bytes, int], ResourceSpans] = {}
    scopes: dict[tuple[bytes, int, int], ScopeSpans] = {}
    for i, resource_spans in enumerate(request.resource_spans):
        for j, scope_spans in enumerate(resource_spans.scope_spans):
            for span in scope_spans.spans:
                trace_id = span.trace_id
                target = scopes.get((trace_id, i, j))
                if target is None:
                    out_resource = resources.get((trace_id, i))
                    if out_resource is None:
                        message = by_trace.setdefault(trace_id, ExportTraceServiceRequest())
                        out_resource = message.resource_spans.add()
                        out_resource.resource.CopyFrom(resource_spans.resource)
                        out_resource.schema_url = resource_spans.schema_url
                        resources[(trace_id, i)] = out_resource
                    target = out_resource.scope_spans.add()
                    target.scope.CopyFrom(scope_spans.scope)
                    target.schema_url = scope_spans.schema_url
                    scopes[(trace_id, i, j)] = target
                target.spans.append(span)
    return [
        (trace_id.hex().encode("ascii"), message.SerializeToString())
        for trace_id, message in by_trace.items()
    ]


def span_count(request: ExportTraceServiceRequest) -> int:
    """Spans in ``request``."""
    return sum(
        len(scope_spans.spans)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
    )
