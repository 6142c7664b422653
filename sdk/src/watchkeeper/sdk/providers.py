"""Read GenAI attributes from the OpenAI and Anthropic Python clients' own response types.

Recognised by shape, never by import (the SDK does not depend on either client), and
read on the export thread. Objects or their ``model_dump()`` dicts both work:

- OpenAI Chat Completions: ``ChatCompletion`` and streamed ``ChatCompletionChunk``\\ s
  (usage arrives in the last chunk with ``stream_options={"include_usage": True}``);
- OpenAI Responses: ``Response`` and its stream events (``response.completed`` carries
  the whole response; otherwise the ``response.output_text.delta`` texts are joined);
- Anthropic Messages: ``Message`` and the raw stream events (``message_start``,
  ``content_block_*``, ``message_delta``).

>>> reading = read_response({"type": "message", "model": "claude-x", "id": "msg_1",
...     "role": "assistant", "content": [{"type": "text", "text": "Hi"}],
...     "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 1}},
...     Budget(100))
>>> reading.provider, reading.input_tokens, reading.output_messages
('anthropic', 3, [{'role': 'assistant', 'parts': [{'type': 'text', 'content': 'Hi'}], \
'finish_reason': 'end_turn'}])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from watchkeeper.sdk import attributes
from watchkeeper.sdk.confidence import LogprobTally
from watchkeeper.sdk.messages import Budget, content_parts, dumps, message_dict
from watchkeeper.sdk.messages import field as get

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_ANTHROPIC_EVENTS: Final = frozenset(
    {
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    }
)
_RESPONSES_FINAL_EVENTS: Final = ("response.completed", "response.incomplete", "response.failed")
_RESPONSES_STATUS: Final = {"completed": "stop", "failed": "error", "cancelled": "cancelled"}


@dataclass
class Reading:
    """What a provider response says about the call."""

    provider: str
    response_model: str | None = None
    response_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    finish_reasons: list[str] = field(default_factory=list)
    output_messages: list[dict[str, Any]] | None = None
    logprobs: LogprobTally = field(default_factory=LogprobTally)

    def attributes(self) -> dict[str, AttributeValue]:
        """The GenAI attributes this reading fills (content aside)."""
        values: dict[str, AttributeValue] = {}
        pairs: tuple[tuple[str, object], ...] = (
            (attributes.RESPONSE_MODEL, self.response_model),
            (attributes.RESPONSE_ID, self.response_id),
            (attributes.USAGE_INPUT_TOKENS, self.input_tokens),
            (attributes.USAGE_OUTPUT_TOKENS, self.output_tokens),
            (attributes.USAGE_CACHE_READ_INPUT_TOKENS, self.cache_read_input_tokens),
            (attributes.USAGE_CACHE_CREATION_INPUT_TOKENS, self.cache_creation_input_tokens),
        )
        for key, value in pairs:
            if isinstance(value, str | int) and not isinstance(value, bool):
                values[key] = value
        if self.finish_reasons:
            values[attributes.RESPONSE_FINISH_REASONS] = list(self.finish_reasons)
        mean, confidence = self.logprobs.mean, self.logprobs.confidence
        if mean is not None and confidence is not None:
            values[attributes.RESPONSE_LOGPROB_MEAN] = mean
            values[attributes.RESPONSE_CONFIDENCE] = confidence
        return values

    def output_json(self) -> str | None:
        """``gen_ai.output.messages`` of the reading, if it saw any output."""
        return None if self.output_messages is None else dumps(self.output_messages)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def read_response(response: object, budget: Budget) -> Reading | None:
    """Read a complete (non-streamed) response; None if it is not one we know."""
    if isinstance(response, str | bytes | int | float | list | tuple) or response is None:
        return None
    kind = get(response, "object")
    if kind == "chat.completion":
        return _openai_chat(response, budget)
    if kind == "response":
        return _openai_response(response, budget)
    if get(response, "type") == "message" and get(response, "content") is not None:
        return _anthropic_message(response, budget)
    return None


def read_stream(chunks: Sequence[object], budget: Budget) -> Reading | None:
    """Read the chunks of a streamed response; None if they are not ones we know."""
    first = next((chunk for chunk in chunks if not isinstance(chunk, str | bytes)), None)
    if first is None:
        return None
    if get(first, "object") == "chat.completion.chunk":
        return _openai_chunks(chunks, budget)
    kind = get(first, "type")
    if isinstance(kind, str) and kind.startswith("response."):
        return _openai_response_events(chunks, budget)
    if kind in _ANTHROPIC_EVENTS:
        return _anthropic_events(chunks, budget)
    return None


# --- OpenAI Chat Completions -----------------------------------------------------------


def _openai_usage(reading: Reading, usage: object) -> None:
    if usage is None:
        return
    reading.input_tokens = _int(get(usage, "prompt_tokens", get(usage, "input_tokens")))
    reading.output_tokens = _int(get(usage, "completion_tokens", get(usage, "output_tokens")))
    details = get(usage, "prompt_tokens_details") or get(usage, "input_tokens_details")
    if details is not None:
        reading.cache_read_input_tokens = _int(get(details, "cached_tokens"))


def _openai_chat(response: object, budget: Budget) -> Reading:
    reading = Reading("openai", _str(get(response, "model")), _str(get(response, "id")))
    _openai_usage(reading, get(response, "usage"))
    messages = []
    for choice in get(response, "choices") or ():
        reading.logprobs.add_choice(choice)
        message = message_dict(get(choice, "message"), budget)
        refusal = get(get(choice, "message"), "refusal")
        if refusal:
            message["parts"].append({"type": "text", "content": budget.take(str(refusal))})
        reason = _str(get(choice, "finish_reason"))
        if reason:
            message["finish_reason"] = reason
            reading.finish_reasons.append(reason)
        messages.append(message)
    reading.output_messages = messages
    return reading


def _openai_chunks(chunks: Sequence[object], budget: Budget) -> Reading:
    reading = Reading("openai")
    texts: dict[int, list[str]] = {}
    calls: dict[int, dict[int, dict[str, Any]]] = {}
    reasons: dict[int, str] = {}
    for chunk in chunks:
        if isinstance(chunk, str | bytes):
            continue
        reading.response_model = reading.response_model or _str(get(chunk, "model"))
        reading.response_id = reading.response_id or _str(get(chunk, "id"))
        if get(chunk, "usage") is not None:
            _openai_usage(reading, get(chunk, "usage"))
        for choice in get(chunk, "choices") or ():
            index = get(choice, "index", 0)
            reading.logprobs.add_choice(choice)
            delta = get(choice, "delta")
            text = get(delta, "content")
            if text:
                texts.setdefault(index, []).append(text)
            for call in get(delta, "tool_calls") or ():
                slot = calls.setdefault(index, {}).setdefault(
                    get(call, "index", 0), {"id": None, "name": "", "arguments": []}
                )
                slot["id"] = slot["id"] or get(call, "id")
                function = get(call, "function")
                if function is not None:
                    slot["name"] += get(function, "name") or ""
                    slot["arguments"].append(get(function, "arguments") or "")
            reason = get(choice, "finish_reason")
            if reason:
                reasons[index] = reason
    messages = []
    for index in sorted(set(texts) | set(calls) | set(reasons)):
        parts: list[dict[str, Any]] = []
        if index in texts:
            parts.append({"type": "text", "content": budget.take("".join(texts[index]))})
        for slot in calls.get(index, {}).values():
            parts.append(
                {
                    "type": "tool_call",
                    "id": slot["id"],
                    "name": slot["name"],
                    "arguments": budget.take("".join(slot["arguments"])),
                }
            )
        message: dict[str, Any] = {"role": "assistant", "parts": parts}
        if index in reasons:
            message["finish_reason"] = reasons[index]
            reading.finish_reasons.append(reasons[index])
        messages.append(message)
    reading.output_messages = messages
    return reading


# --- OpenAI Responses ------------------------------------------------------------------


def _openai_response(response: object, budget: Budget) -> Reading:
    reading = Reading("openai", _str(get(response, "model")), _str(get(response, "id")))
    _openai_usage(reading, get(response, "usage"))
    parts: list[dict[str, Any]] = []
    for item in get(response, "output") or ():
        kind = get(item, "type")
        if kind == "message":
            parts.extend(content_parts(get(item, "content"), budget))
            for content in get(item, "content") or ():
                reading.logprobs.add(get(content, "logprobs"))
        elif kind == "function_call":
            parts.append(
                {
                    "type": "tool_call",
                    "id": get(item, "call_id"),
                    "name": str(get(item, "name")),
                    "arguments": budget.take(str(get(item, "arguments") or "")),
                }
            )
        elif kind == "reasoning":
            summary = " ".join(str(get(s, "text", "")) for s in get(item, "summary") or ())
            if summary:
                parts.append({"type": "reasoning", "content": budget.take(summary)})
    status = _str(get(response, "status")) or "completed"
    reason = _RESPONSES_STATUS.get(status) or str(
        get(get(response, "incomplete_details"), "reason") or status
    )
    if any(part["type"] == "tool_call" for part in parts) and reason == "stop":
        reason = "tool_call"
    reading.finish_reasons.append(reason)
    reading.output_messages = [{"role": "assistant", "parts": parts, "finish_reason": reason}]
    return reading


def _openai_response_events(events: Sequence[object], budget: Budget) -> Reading:
    for event in reversed(events):
        final = get(event, "response")
        if final is not None and get(event, "type") in _RESPONSES_FINAL_EVENTS:
            return _openai_response(final, budget)
    # The stream ended early: what was said so far, from the text deltas.
    reading = Reading("openai")
    text = "".join(
        str(get(event, "delta") or "")
        for event in events
        if get(event, "type") == "response.output_text.delta"
    )
    reading.output_messages = [
        {"role": "assistant", "parts": [{"type": "text", "content": budget.take(text)}]}
    ]
    return reading


# --- Anthropic Messages ----------------------------------------------------------------


def _anthropic_usage(reading: Reading, usage: object) -> None:
    if usage is None:
        return
    reading.input_tokens = _int(get(usage, "input_tokens")) or reading.input_tokens
    reading.output_tokens = _int(get(usage, "output_tokens")) or reading.output_tokens
    reading.cache_read_input_tokens = _int(get(usage, "cache_read_input_tokens"))
    reading.cache_creation_input_tokens = _int(get(usage, "cache_creation_input_tokens"))


def _anthropic_message(message: object, budget: Budget) -> Reading:
    reading = Reading("anthropic", _str(get(message, "model")), _str(get(message, "id")))
    _anthropic_usage(reading, get(message, "usage"))
    output: dict[str, Any] = {
        "role": "assistant",
        "parts": content_parts(get(message, "content"), budget),
    }
    reason = _str(get(message, "stop_reason"))
    if reason:
        output["finish_reason"] = reason
        reading.finish_reasons.append(reason)
    reading.output_messages = [output]
    return reading


def _anthropic_events(events: Sequence[object], budget: Budget) -> Reading:
    reading = Reading("anthropic")
    blocks: dict[int, dict[str, Any]] = {}
    reason = None
    for event in events:
        kind = get(event, "type")
        if kind == "message_start":
            message = get(event, "message")
            reading.response_model = _str(get(message, "model"))
            reading.response_id = _str(get(message, "id"))
            _anthropic_usage(reading, get(message, "usage"))
        elif kind == "content_block_start":
            block = get(event, "content_block")
            blocks[get(event, "index", 0)] = {
                "type": get(block, "type"),
                "id": get(block, "id"),
                "name": get(block, "name"),
                "pieces": [get(block, "text") or ""],
            }
        elif kind == "content_block_delta":
            delta = get(event, "delta")
            slot = blocks.setdefault(
                get(event, "index", 0), {"type": "text", "id": None, "name": None, "pieces": []}
            )
            slot["pieces"].append(
                get(delta, "text") or get(delta, "partial_json") or get(delta, "thinking") or ""
            )
        elif kind == "message_delta":
            reason = _str(get(get(event, "delta"), "stop_reason")) or reason
            _anthropic_usage(reading, get(event, "usage"))
    parts: list[dict[str, Any]] = []
    for _, slot in sorted(blocks.items()):
        text = budget.take("".join(slot["pieces"]))
        if slot["type"] == "tool_use":
            parts.append(
                {"type": "tool_call", "id": slot["id"], "name": slot["name"], "arguments": text}
            )
        elif slot["type"] == "thinking":
            parts.append({"type": "reasoning", "content": text})
        else:
            parts.append({"type": "text", "content": text})
    output: dict[str, Any] = {"role": "assistant", "parts": parts}
    if reason:
        output["finish_reason"] = reason
        reading.finish_reasons.append(reason)
    reading.output_messages = [output]
    return reading
