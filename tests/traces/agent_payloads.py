"""OTLP payloads of agent and RAG traces as instrumentations send them: OpenTelemetry GenAI
spans (invoke_agent, chat, execute_tool) and OpenInference spans (RETRIEVER, RERANKER,
CHAIN), plus a plain HTTP span, recorded by the OpenTelemetry SDK."""

from __future__ import annotations

import json
from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

#: span name -> kind the collector must give it
EXPECTED_KINDS = {
    "invoke_agent helper": "agent",
    "chat plan": "llm",
    "execute_tool search": "tool",
    "retrieve": "retrieval",
    "rerank": "rerank",
    "format answer": "chain",
    "GET /weather": "other",
    "chat answer": "llm",
}
#: span name -> parent's span name (the root has none)
EXPECTED_PARENTS = {
    "chat plan": "invoke_agent helper",
    "execute_tool search": "invoke_agent helper",
    "retrieve": "execute_tool search",
    "rerank": "execute_tool search",
    "format answer": "invoke_agent helper",
    "GET /weather": "format answer",
    "chat answer": "invoke_agent helper",
}


def _messages(role: str, text: str) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def agent_trace(
    session: str = "session-1",
    question: str = "What is the weather in Oslo?",
    fail_tool: bool = False,
) -> list[ReadableSpan]:
    """One agent turn: plan with an LLM, call a search tool (retrieve, rerank), format with
    a chain (which calls an HTTP API), answer with an LLM."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "agent-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    agent_attrs = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "helper",
        "gen_ai.conversation.id": session,
        "user.id": "user-7",
        "gen_ai.input.messages": _messages("user", question),
    }
    with tracer.start_as_current_span("invoke_agent helper", attributes=agent_attrs):
        with tracer.start_as_current_span(
            "chat plan",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "stand-in",
                "gen_ai.input.messages": _messages("user", question),
                "gen_ai.output.messages": _messages("assistant", "call search"),
                "gen_ai.conversation.id": session,
            },
        ):
            pass
        _tool(tracer, fail_tool)
        with (
            tracer.start_as_current_span(
                "format answer",
                attributes={
                    "openinference.span.kind": "CHAIN",
                    "input.value": "raw",
                    "output.value": "nice",
                },
            ),
            tracer.start_as_current_span("GET /weather", attributes={"http.method": "GET"}),
        ):
            pass
        with tracer.start_as_current_span(
            "chat answer",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "stand-in",
                "gen_ai.input.messages": _messages("user", question),
                "gen_ai.output.messages": _messages("assistant", "It is sunny in Oslo."),
                "gen_ai.conversation.id": session,
            },
        ):
            pass
    provider.shutdown()
    return list(exporter.get_finished_spans())


def _tool(tracer: object, fail: bool) -> None:
    start = tracer.start_as_current_span  # type: ignore[attr-defined]
    with start(
        "execute_tool search",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "search",
            "gen_ai.tool.call.arguments": '{"q": "weather Oslo"}',
            "gen_ai.tool.call.result": "sunny, 21 C",
        },
    ) as tool:
        with start(
            "retrieve",
            attributes={
                "openinference.span.kind": "RETRIEVER",
                "input.value": "weather Oslo",
                "retrieval.documents.0.document.content": "Oslo forecast: sunny",
                "retrieval.documents.0.document.score": 0.9,
                "retrieval.documents.1.document.content": "Bergen forecast: rain",
                "retrieval.documents.1.document.score": 0.4,
            },
        ):
            pass
        with start(
            "rerank",
            attributes={
                "openinference.span.kind": "RERANKER",
                "reranker.query": "weather Oslo",
                "reranker.output_documents.0.document.content": "Bergen forecast: rain",
                "reranker.output_documents.0.document.score": 0.8,
                "reranker.output_documents.1.document.content": "Oslo forecast: sunny",
                "reranker.output_documents.1.document.score": 0.1,
            },
        ):
            pass
        if fail:
            tool.set_status(Status(StatusCode.ERROR, "search backend down"))


def payload(spans: Sequence[ReadableSpan]) -> bytes:
    """The spans as one ``ExportTraceServiceRequest`` (protobuf)."""
    data: bytes = encode_spans(list(spans)).SerializeToString()
    return data
