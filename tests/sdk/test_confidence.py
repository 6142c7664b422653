"""The app's own confidence: token log-probabilities the provider returned, as span
attributes, read from the official clients' response types."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from watchkeeper.sdk import attributes, observe, testing


def _token(text: str, logprob: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": None, "top_logprobs": []}


def _values() -> dict[str, Any]:
    (span,) = testing.finished_spans()
    return dict(span.attributes or {})


def _completion(choices: list[dict[str, Any]]) -> ChatCompletion:
    return ChatCompletion.model_validate(
        {
            "id": "c-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-x",
            "choices": choices,
        }
    )


def _choice(index: int, text: str, logprobs: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {
        "index": index,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": text},
        "logprobs": None if logprobs is None else {"content": logprobs},
    }


def test_chat_completion_logprobs_give_the_mean_and_confidence_of_the_first_choice() -> None:
    """Tokens -0.1, -0.3, -0.2 of choice 0: mean -0.2, confidence exp(-0.2) = 0.8187;
    the second choice's tokens do not count."""
    tokens = [_token("Paris", -0.1), _token(" it", -0.3), _token(" is", -0.2)]
    other = [_token("Lyon", -5.0)]

    @observe(model="gpt-x")
    def ask(q: str) -> ChatCompletion:
        return _completion([_choice(0, "Paris it is", tokens), _choice(1, "Lyon", other)])

    ask("capital?")
    values = _values()
    assert math.isclose(values[attributes.RESPONSE_LOGPROB_MEAN], -0.2)
    assert math.isclose(values[attributes.RESPONSE_CONFIDENCE], math.exp(-0.2))


def test_no_logprobs_in_the_response_means_no_confidence_attribute() -> None:
    """A response the app did not ask logprobs for records neither attribute."""

    @observe(model="gpt-x")
    def ask(q: str) -> ChatCompletion:
        return _completion([_choice(0, "Paris", None)])

    ask("capital?")
    values = _values()
    assert attributes.RESPONSE_CONFIDENCE not in values
    assert attributes.RESPONSE_LOGPROB_MEAN not in values


def test_streamed_chunks_logprobs_are_read_across_chunks() -> None:
    """Chunks carrying one token each (-0.5 and -1.5): mean -1.0, confidence exp(-1)."""
    deltas = [
        {"index": 0, "delta": {"content": "Ye"}, "logprobs": {"content": [_token("Ye", -0.5)]}},
        {"index": 0, "delta": {"content": "s"}, "logprobs": {"content": [_token("s", -1.5)]}},
        {"index": 0, "delta": {}, "finish_reason": "stop"},
    ]
    chunks = [
        ChatCompletionChunk.model_validate(
            {
                "id": "c-1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "gpt-x",
                "choices": [d],
            }
        )
        for d in deltas
    ]

    @observe
    def stream(q: str) -> Iterator[ChatCompletionChunk]:
        yield from chunks

    assert list(stream("ok?")) == chunks
    values = _values()
    assert math.isclose(values[attributes.RESPONSE_LOGPROB_MEAN], -1.0)
    assert math.isclose(values[attributes.RESPONSE_CONFIDENCE], math.exp(-1.0))
