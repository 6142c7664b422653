"""Normalisation: GenAI-convention and OpenInference spans become the same call record."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.collector.otlp_payloads import answer_spans, feedback_payload, protobuf_payload
from watchkeeper.collector.processors.decode import decode_request
from watchkeeper.collector.processors.normalize import iter_calls, to_call


def _kv(key: str, value: object) -> KeyValue:
    if isinstance(value, bool):
        any_value = AnyValue(bool_value=value)
    elif isinstance(value, int):
        any_value = AnyValue(int_value=value)
    elif isinstance(value, float):
        any_value = AnyValue(double_value=value)
    else:
        any_value = AnyValue(string_value=str(value))
    return KeyValue(key=key, value=any_value)


def _span(attributes: dict[str, object], *, status: int = 0) -> Span:
    return Span(
        trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
        span_id=bytes.fromhex("b7ad6b7169203331"),
        name="llm",
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_000_250_000_000,
        attributes=[_kv(k, v) for k, v in attributes.items()],
        status=Status(code=status),  # type: ignore[arg-type]
    )


def test_sdk_spans_normalise_with_all_fields() -> None:
    """Spans from @observe carry input, output, model, route, service and latency."""
    request = decode_request(protobuf_payload(answer_spans(2, fail_every=2)))
    calls = [c for c in iter_calls(request, "test") if c is not None]
    assert len(calls) == 2
    failed, ok = calls
    assert ok.input_text == "question number 1?"
    assert ok.output_text == "answer to question number 1?"
    assert ok.request_model == "test-model"
    assert ok.provider == "test"
    assert ok.route == "qa/answer"
    assert ok.service_name == "test-app"
    assert ok.duration_ns > 0
    assert ok.status_code != "ERROR"
    assert failed.is_error
    assert "TimeoutError" in failed.error_type


def test_genai_messages_pick_last_user_and_assistant_text() -> None:
    """With several messages, input is the last user text and output the assistant text."""
    span = _span(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-x",
            "gen_ai.input.messages": json.dumps(
                [
                    {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
                    {"role": "user", "parts": [{"type": "text", "content": "first"}]},
                    {"role": "user", "parts": [{"type": "text", "content": "second"}]},
                ]
            ),
            "gen_ai.output.messages": json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "reply"}]}]
            ),
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.output_tokens": 3,
            "custom.flag": True,
        }
    )
    call = to_call(span, "svc", "test")
    assert call is not None
    assert (call.input_text, call.output_text) == ("second", "reply")
    # A conversation is kept as sent; a lone answer text is not stored twice.
    assert json.loads(call.input_messages)[0]["role"] == "system"
    assert call.output_messages == ""
    assert (call.input_tokens, call.output_tokens) == (12, 3)
    assert call.duration_ns == 250_000_000
    assert call.attributes == {"custom.flag": "True"}


def test_openinference_span_maps_to_the_same_record() -> None:
    """OpenInference keys fill the same columns as GenAI-convention keys."""
    span = _span(
        {
            "openinference.span.kind": "LLM",
            "input.value": "What is RAG?",
            "output.value": "Retrieval-augmented generation.",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.token_count.prompt": 5,
            "llm.token_count.completion": 4,
            "session.id": "conv-1",
        },
        status=2,
    )
    call = to_call(span, "svc", "test")
    assert call is not None
    assert call.input_text == "What is RAG?"
    assert call.output_text == "Retrieval-augmented generation."
    assert call.request_model == "gpt-4o-mini"
    assert call.provider == "openai"
    assert (call.input_tokens, call.output_tokens) == (5, 4)
    assert call.conversation_id == "conv-1"
    assert call.is_error


def test_openinference_flattened_messages_give_the_texts_not_the_request_json() -> None:
    """OpenInference LLM spans: texts come from llm.input_messages / llm.output_messages.

    Their input.value / output.value hold the whole request and response JSON (what the
    OpenInference OpenAI instrumentation records); the detectors must see the user's
    question and the answer, as for GenAI-convention spans.
    """
    span = _span(
        {
            "openinference.span.kind": "LLM",
            "input.value": '{"model": "gpt-4o-mini", "messages": []}',
            "input.mime_type": "application/json",
            "output.value": '{"id": "chatcmpl-1", "choices": []}',
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Be brief.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "What is RAG?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "Retrieval-augmented generation.",
            "llm.model_name": "gpt-4o-mini",
        }
    )
    call = to_call(span, "svc", "test")
    assert call is not None
    assert call.input_text == "What is RAG?"
    assert call.output_text == "Retrieval-augmented generation."
    # The conversation says more than the question (a system prompt): kept, GenAI-shaped.
    assert json.loads(call.input_messages)[0] == {
        "role": "system",
        "parts": [{"type": "text", "content": "Be brief."}],
    }
    assert call.output_messages == ""
    assert not any(key.startswith("llm.input_messages") for key in call.attributes)


def test_non_llm_spans_are_skipped() -> None:
    """A span from other instrumentation (no gen_ai.* or OpenInference kind) is not a call."""
    assert to_call(_span({"http.request.method": "GET"}), "svc", "test") is None


def test_retrieved_contexts_from_genai_and_openinference() -> None:
    """RAG contexts come from gen_ai.retrieval.documents JSON or OpenInference's flat keys."""
    genai = _span(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.retrieval.documents": json.dumps(
                [{"id": "d1", "score": 0.9, "content": "alpha"}, {"content": "beta"}]
            ),
        }
    )
    call = to_call(genai, "svc", "test")
    assert call is not None
    assert call.contexts == ["alpha", "beta"]
    openinference = _span(
        {
            "openinference.span.kind": "LLM",
            "retrieval.documents.1.document.content": "second",
            "retrieval.documents.0.document.content": "first",
            "retrieval.documents.0.document.id": "d0",
        }
    )
    call = to_call(openinference, "svc", "test")
    assert call is not None
    assert call.contexts == ["first", "second"]
    assert "retrieval.documents.0.document.id" not in call.attributes


@pytest.mark.parametrize(
    "values",
    [
        {"openinference.span.kind": "RETRIEVER", "retrieval.documents.0.document.content": "a"},
        {"openinference.span.kind": "AGENT", "input.value": "q", "output.value": "a"},
        {"openinference.span.kind": "CHAIN", "gen_ai.conversation.id": "s1"},
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "helper"},
        {"gen_ai.operation.name": "retrieval", "gen_ai.retrieval.documents": "[]"},
        {"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "e5"},
        {"watchkeeper.span.kind": "chain", "gen_ai.conversation.id": "s1"},
    ],
)
def test_only_llm_kind_spans_are_calls(values: dict[str, str]) -> None:
    """Agents, retrievers, chains and embeddings are trace spans, not LLM calls the
    detectors would score as answers, whatever other GenAI keys they carry."""
    assert to_call(_span(values), "svc", "test") is None


@pytest.mark.parametrize(
    "values",
    [
        {"gen_ai.operation.name": "chat"},
        {"gen_ai.operation.name": "text_completion"},
        {"gen_ai.operation.name": "generate_content"},
        {"openinference.span.kind": "llm", "llm.model_name": "m"},
        {"gen_ai.request.model": "m"},
        {"watchkeeper.span.kind": "llm"},
    ],
)
def test_llm_kind_spans_are_calls(values: dict[str, str]) -> None:
    """GenAI chat-like operations, OpenInference LLM spans, the SDK's own llm kind and a
    GenAI span that names no operation (older SDKs) are LLM calls."""
    assert to_call(_span(values), "svc", "test") is not None


def test_feedback_spans_become_feedback_rows_not_calls() -> None:
    """feedback() from the SDK is stored as feedback on its call, never as a call."""
    from watchkeeper.collector.processors.normalize import normalize_request

    payload, trace_id, span_id = feedback_payload()
    normalized = normalize_request(decode_request(payload), "test")
    assert [c.span_id for c in normalized.calls] == [span_id]
    [row] = normalized.feedback
    assert (row["TraceId"], row["TargetSpanId"]) == (trace_id, span_id)
    assert (row["Score"], row["Label"], row["Comment"]) == (0.0, "thumbs_down", "wrong answer")
    assert row["ServiceName"] == "fb-app"


def test_tool_execution_spans_are_not_calls() -> None:
    """execute_tool spans belong to the trace but are not LLM calls the detectors watch."""
    span = _span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"})
    assert to_call(span, "svc", "test") is None
