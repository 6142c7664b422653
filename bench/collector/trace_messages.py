"""OTLP messages of agent/RAG traces: five spans per LLM call, as instrumented apps send
them (an HTTP handler, a query embedding, a search tool, a reranker, the LLM call)."""

from __future__ import annotations

import json
import time
import uuid

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.support.otlp_messages import message, texts

#: Spans per message (one of them the LLM call).
SPANS_PER_CALL = 5


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=str(value)))


def _span(
    trace_id: bytes, ids: tuple[int, int], name: str, start: int, attrs: dict[str, object]
) -> Span:
    n, parent = ids
    return Span(
        trace_id=trace_id,
        span_id=n.to_bytes(8, "big"),
        parent_span_id=parent.to_bytes(8, "big") if parent else b"",
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=start + 20_000_000,
        status=Status(code=Status.STATUS_CODE_OK),
        attributes=[_kv(k, v) for k, v in attrs.items()],
    )


def trace_message(i: int, run: str) -> tuple[bytes, bytes]:
    """One trace: key = trace id hex, value = ExportTraceServiceRequest with five spans,
    the LLM call the same as ``tests.support.otlp_messages.message``'s."""
    key, single = message(i, run)
    request = ExportTraceServiceRequest.FromString(single)
    llm = request.resource_spans[0].scope_spans[0].spans[0]
    trace_id = llm.trace_id
    base = uuid.uuid5(uuid.NAMESPACE_OID, f"{run}/{i}/spans").int & ((1 << 60) - 1)
    now = time.time_ns()
    prompt, _ = texts(i, 200)
    docs = [texts(i + k, 300)[1] for k in range(3)]
    root, embed, tool, rerank = base + 1, base + 2, base + 3, base + 4
    spans = [
        _span(trace_id, (root, 0), "POST /ask", now, {"http.method": "POST", "http.route": "/ask"}),
        _span(
            trace_id,
            (embed, root),
            "embed query",
            now + 1,
            {"openinference.span.kind": "EMBEDDING", "embedding.model_name": "e5-small"},
        ),
        _span(
            trace_id,
            (tool, root),
            "execute_tool search",
            now + 2,
            {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "search",
                "gen_ai.tool.call.arguments": json.dumps({"q": prompt}),
                "gen_ai.tool.call.result": json.dumps(docs),
            },
        ),
        _span(
            trace_id,
            (rerank, tool),
            "rerank",
            now + 3,
            {"openinference.span.kind": "RERANKER", "reranker.query": prompt}
            | {f"reranker.output_documents.{k}.document.content": d for k, d in enumerate(docs)}
            | {f"reranker.output_documents.{k}.document.score": 0.9 - k / 4 for k in range(3)},
        ),
    ]
    llm.parent_span_id = root.to_bytes(8, "big")
    request.resource_spans[0].scope_spans[0].spans.extend(spans)
    assert len(request.resource_spans[0].scope_spans[0].spans) == SPANS_PER_CALL
    return key, request.SerializeToString()
