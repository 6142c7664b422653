"""Attributes read from the OpenAI and Anthropic clients' own response types (built here,
no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from anthropic.types import Message, RawMessageStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response
from opentelemetry.sdk.trace import ReadableSpan
from pydantic import TypeAdapter

from watchkeeper.sdk import attributes, current_call, observe, testing


def only_span() -> ReadableSpan:
    (span,) = testing.finished_spans()
    return span


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def openai_completion(**overrides: Any) -> ChatCompletion:
    data: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_order", "arguments": '{"id": 42}'},
                        }
                    ],
                },
            }
        ],
        "usage": {
            "prompt_tokens": 31,
            "completion_tokens": 9,
            "total_tokens": 40,
            "prompt_tokens_details": {"cached_tokens": 16},
        },
    }
    data.update(overrides)
    return ChatCompletion.model_validate(data)


def test_openai_chat_completion_returned_by_the_function() -> None:
    """A ChatCompletion return value fills response model and id, usage (with cached
    tokens), finish reasons, provider, and output messages with their tool calls."""

    @observe(model="gpt-4o-mini")
    def chat(messages: list[dict[str, Any]]) -> ChatCompletion:
        return openai_completion()

    chat(
        [
            {"role": "user", "content": "Where is order 42?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_0",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_0", "content": "shipped"},
        ]
    )
    values = attrs(only_span())
    assert values[attributes.PROVIDER_NAME] == "openai"
    assert values[attributes.RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert values[attributes.RESPONSE_ID] == "chatcmpl-1"
    assert (values[attributes.USAGE_INPUT_TOKENS], values[attributes.USAGE_OUTPUT_TOKENS]) == (
        31,
        9,
    )
    assert values[attributes.USAGE_CACHE_READ_INPUT_TOKENS] == 16
    assert tuple(values[attributes.RESPONSE_FINISH_REASONS]) == ("tool_calls",)
    assert json.loads(values[attributes.OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_order",
                    "arguments": '{"id": 42}',
                },
            ],
            "finish_reason": "tool_calls",
        }
    ]
    assert json.loads(values[attributes.INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Where is order 42?"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_0", "name": "lookup", "arguments": "{}"}],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_0", "response": "shipped"}],
        },
    ]


def test_set_response_reads_usage_while_the_function_returns_text() -> None:
    """current_call().set_response(...) reads the response; the user-set usage wins
    over the response's when both are given, and an explicit provider is kept."""

    @observe(provider="azure.ai.openai")
    def answer(question: str) -> str:
        reply = openai_completion(
            choices=[
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Shipped."},
                }
            ]
        )
        current_call().set_response(reply)
        current_call().set_usage(output_tokens=10)
        return str(reply.choices[0].message.content)

    assert answer("Where?") == "Shipped."
    values = attrs(only_span())
    assert values[attributes.PROVIDER_NAME] == "azure.ai.openai"
    assert values[attributes.USAGE_INPUT_TOKENS] == 31
    assert values[attributes.USAGE_OUTPUT_TOKENS] == 10
    assert json.loads(values[attributes.OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "Shipped."}
    ]


def test_openai_streamed_chunks() -> None:
    """A generator yielding ChatCompletionChunks records the joined text, the streamed
    tool call assembled from its fragments, the finish reason and the final usage."""
    deltas: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
        {"choices": [{"index": 0, "delta": {"content": "lo"}}]},
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "call_9",
                                "type": "function",
                                "function": {"name": "lookup", "arguments": '{"q":'},
                            }
                        ]
                    },
                }
            ]
        },
        {
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ' "x"}'}}]},
                }
            ]
        },
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}},
    ]
    chunks = [
        ChatCompletionChunk.model_validate(
            {"id": "c-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x", **d}
        )
        for d in deltas
    ]

    @observe
    def stream(prompt: str) -> Iterator[ChatCompletionChunk]:
        yield from chunks

    assert list(stream("hi")) == chunks
    values = attrs(only_span())
    assert values[attributes.RESPONSE_MODEL] == "gpt-x"
    assert (values[attributes.USAGE_INPUT_TOKENS], values[attributes.USAGE_OUTPUT_TOKENS]) == (5, 7)
    assert json.loads(values[attributes.OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Hello"},
                {"type": "tool_call", "id": "call_9", "name": "lookup", "arguments": '{"q": "x"}'},
            ],
            "finish_reason": "tool_calls",
        }
    ]


def test_openai_responses_api_response() -> None:
    """A Responses API Response: text output, function calls, usage, status."""
    response = Response.model_construct(
        id="resp_1",
        object="response",
        model="gpt-4.1",
        status="completed",
        output=[
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Done."}],
            },
            {"type": "function_call", "call_id": "fc_1", "name": "refund", "arguments": "{}"},
        ],
        usage={
            "input_tokens": 11,
            "output_tokens": 3,
            "input_tokens_details": {"cached_tokens": 0},
        },
    )

    @observe
    def respond(prompt: str) -> Response:
        return response

    respond("refund me")
    values = attrs(only_span())
    assert values[attributes.RESPONSE_ID] == "resp_1"
    assert (values[attributes.USAGE_INPUT_TOKENS], values[attributes.USAGE_OUTPUT_TOKENS]) == (
        11,
        3,
    )
    assert tuple(values[attributes.RESPONSE_FINISH_REASONS]) == ("tool_call",)
    parts = json.loads(values[attributes.OUTPUT_MESSAGES])[0]["parts"]
    assert parts == [
        {"type": "text", "content": "Done."},
        {"type": "tool_call", "id": "fc_1", "name": "refund", "arguments": "{}"},
    ]


def anthropic_message() -> Message:
    return Message.model_validate(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "tu_1", "name": "get_order", "input": {"id": 42}},
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 20, "output_tokens": 6, "cache_read_input_tokens": 4},
        }
    )


def test_anthropic_message_with_system_and_tool_blocks() -> None:
    """An Anthropic Message fills usage, stop reason and tool_use parts; the system
    parameter becomes gen_ai.system_instructions; tool_result blocks in the input
    become tool_call_response parts."""

    @observe(model="claude-sonnet-4-5")
    def ask(system: str, messages: list[dict[str, Any]]) -> Message:
        return anthropic_message()

    ask(
        "You are terse.",
        [
            {"role": "user", "content": [{"type": "text", "text": "Order 42?"}]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "tu_0", "content": "shipped"}],
            },
        ],
    )
    values = attrs(only_span())
    assert values[attributes.PROVIDER_NAME] == "anthropic"
    assert values[attributes.USAGE_CACHE_READ_INPUT_TOKENS] == 4
    assert tuple(values[attributes.RESPONSE_FINISH_REASONS]) == ("tool_use",)
    assert json.loads(values[attributes.SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "You are terse."}
    ]
    assert json.loads(values[attributes.OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "Checking."},
        {"type": "tool_call", "id": "tu_1", "name": "get_order", "arguments": '{"id":42}'},
    ]
    second = json.loads(values[attributes.INPUT_MESSAGES])[1]
    assert second["parts"] == [{"type": "tool_call_response", "id": "tu_0", "response": "shipped"}]


def test_anthropic_stream_events() -> None:
    """Raw Anthropic stream events: model and input tokens from message_start, text and
    tool input from the deltas, stop reason and output tokens from message_delta."""
    raw: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_2",
                "type": "message",
                "role": "assistant",
                "model": "claude-x",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi "}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "there"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "tu_2", "name": "lookup", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"q": 1}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 15},
        },
        {"type": "message_stop"},
    ]
    events = [TypeAdapter(RawMessageStreamEvent).validate_python(event) for event in raw]

    @observe
    def stream(prompt: str) -> Iterator[Any]:
        yield from events

    list(stream("hi"))
    values = attrs(only_span())
    assert values[attributes.RESPONSE_MODEL] == "claude-x"
    assert (values[attributes.USAGE_INPUT_TOKENS], values[attributes.USAGE_OUTPUT_TOKENS]) == (
        12,
        15,
    )
    assert json.loads(values[attributes.OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Hi there"},
                {"type": "tool_call", "id": "tu_2", "name": "lookup", "arguments": '{"q": 1}'},
            ],
            "finish_reason": "tool_use",
        }
    ]


@pytest.mark.parametrize("as_dict", [False, True], ids=["object", "model_dump"])
def test_response_objects_and_their_dicts_read_alike(as_dict: bool) -> None:
    """Returning response.model_dump() records the same as returning the object."""
    message = anthropic_message()

    @observe
    def ask(prompt: str) -> Any:
        return message.model_dump() if as_dict else message

    ask("hi")
    assert attrs(only_span())[attributes.RESPONSE_ID] == "msg_1"
