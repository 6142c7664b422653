"""@observe: the span each call records, on every kind of function it accepts."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from watchkeeper.sdk import attributes, observe, testing


def only_span() -> ReadableSpan:
    spans = testing.finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def messages(span: ReadableSpan, key: str) -> Any:
    assert span.attributes is not None
    return json.loads(str(span.attributes[key]))


def user_text(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "parts": [{"type": "text", "content": text}]}]


def assistant_text(text: str) -> list[dict[str, Any]]:
    return [{"role": "assistant", "parts": [{"type": "text", "content": text}]}]


def test_sync_function_records_genai_attributes() -> None:
    """A decorated function yields one CLIENT span named "{operation} {model}" with the
    GenAI attributes, the function name, the default route and the sample rate."""

    @observe(model="gpt-4o-mini", provider="openai")
    def answer(question: str) -> str:
        return "Paris."

    assert answer("Capital of France?") == "Paris."

    span = only_span()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes is not None
    qualified = f"{__name__}.{answer.__qualname__}"
    assert dict(span.attributes) == {
        attributes.OPERATION_NAME: "chat",
        attributes.PROVIDER_NAME: "openai",
        attributes.REQUEST_MODEL: "gpt-4o-mini",
        attributes.FUNCTION_NAME: qualified,
        attributes.ROUTE: qualified,
        attributes.SAMPLE_RATE: 1.0,
        attributes.INPUT_MESSAGES: json.dumps(
            user_text("Capital of France?"), separators=(",", ":")
        ),
        attributes.OUTPUT_MESSAGES: json.dumps(assistant_text("Paris."), separators=(",", ":")),
    }
    assert span.end_time is not None
    assert span.start_time is not None
    assert span.end_time >= span.start_time


def test_bare_decorator_without_model_names_span_after_function() -> None:
    """Bare @observe works; with no model known the span takes the function's qualname."""

    @observe
    def summarize(text: str) -> str:
        return text[:3]

    assert summarize("abcdef") == "abc"
    span = only_span()
    assert span.name == summarize.__qualname__
    assert span.attributes is not None
    assert attributes.REQUEST_MODEL not in span.attributes
    assert attributes.PROVIDER_NAME not in span.attributes


def test_model_argument_of_the_call_is_recorded() -> None:
    """A ``model`` argument (passed or defaulted) becomes gen_ai.request.model and names
    the span (an explicit model= option wins); it is never mistaken for the prompt."""

    @observe(operation="text_completion")
    def complete(model: str, text: str, temperature: float = 0.0) -> str:
        return "ok"

    @observe
    def chat(text: str, model: str = "default-model") -> str:
        return "ok"

    @observe(model="configured-model")
    def routed(model: str, text: str) -> str:
        return "ok"

    complete("claude-x", "Hello there")
    chat("Hi")
    routed("ignored-model", "Route me")
    first, second, third = testing.finished_spans()
    assert first.name == "text_completion claude-x"
    assert first.attributes is not None
    assert first.attributes[attributes.REQUEST_MODEL] == "claude-x"
    assert messages(first, attributes.INPUT_MESSAGES) == user_text("Hello there")
    assert second.name == "chat default-model"
    assert third.name == "chat configured-model"
    assert messages(third, attributes.INPUT_MESSAGES) == user_text("Route me")


def test_messages_argument_is_converted_to_genai_shape() -> None:
    """A ``messages`` list of {role, content} dicts becomes GenAI messages, including
    multi-part content (text kept, other parts reduced to their type)."""

    @observe(model="m")
    def chat(messages: list[dict[str, Any]], model: str = "ignored") -> str:
        return "Sure."

    chat(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Look:"}, {"type": "image_url"}]},
            {"role": "assistant", "content": None},
        ]
    )
    span = only_span()
    assert span.name == "chat m"
    assert messages(span, attributes.INPUT_MESSAGES) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {
            "role": "user",
            "parts": [{"type": "text", "content": "Look:"}, {"type": "image_url"}],
        },
        {"role": "assistant", "parts": []},
    ]


def test_named_prompt_parameter_wins_over_first_string_argument() -> None:
    """``prompt``/``question``/``input``/``query`` parameters are the input even when
    another string argument comes first."""

    @observe
    def ask(user_id: str, query: str) -> str:
        return "ok"

    ask("user-7", query="Where is my order?")
    assert messages(only_span(), attributes.INPUT_MESSAGES) == user_text("Where is my order?")


def test_arguments_without_a_string_are_recorded_as_bounded_json() -> None:
    """With no text argument the input is a JSON-safe rendering of the bound arguments."""

    @observe
    def score(values: list[int], weight: float, flag: bool = True) -> float:
        return 1.5

    score([1, 2, 3], weight=float("nan"))
    span = only_span()
    (message,) = messages(span, attributes.INPUT_MESSAGES)
    assert message["role"] == "user"
    assert json.loads(message["parts"][0]["content"]) == {"values": "[1, 2, 3]", "weight": "nan"}
    assert messages(span, attributes.OUTPUT_MESSAGES) == assistant_text("1.5")


def test_long_text_is_truncated_to_the_content_budget() -> None:
    """Text beyond max_content_chars is cut with a marker, bounding span size."""
    from watchkeeper.sdk import configure

    configure("memory", max_content_chars=10)

    @observe
    def echo(prompt: str) -> str:
        return prompt

    echo("x" * 1000)
    span = only_span()
    content = messages(span, attributes.INPUT_MESSAGES)[0]["parts"][0]["content"]
    assert content == "x" * 10 + "…[truncated]"


def test_none_result_records_no_output_messages() -> None:
    """A function returning None leaves gen_ai.output.messages unset."""

    @observe
    def fire(prompt: str) -> None:
        return None

    fire("hi")
    span = only_span()
    assert span.attributes is not None
    assert attributes.OUTPUT_MESSAGES not in span.attributes


class Assistant:
    def __init__(self, persona: str) -> None:
        self.persona = persona

    @observe(model="gpt-4o", route="support-bot/answer")
    def answer(self, question: str) -> str:
        return f"{self.persona}: fine"

    @observe
    def configure_tools(self, count: int) -> int:
        return count


def test_method_records_without_self() -> None:
    """Methods bind normally; ``self`` is neither the prompt nor part of the arguments."""
    bot = Assistant("Ada")
    assert bot.answer("How are you?") == "Ada: fine"
    assert bot.configure_tools(3) == 3

    answered, configured = testing.finished_spans()
    assert answered.attributes is not None
    assert answered.attributes[attributes.ROUTE] == "support-bot/answer"
    assert answered.attributes[attributes.FUNCTION_NAME] == f"{__name__}.Assistant.answer"
    assert messages(answered, attributes.INPUT_MESSAGES) == user_text("How are you?")
    content = messages(configured, attributes.INPUT_MESSAGES)[0]["parts"][0]["content"]
    assert json.loads(content) == {"count": 3}


def test_async_function_records_span() -> None:
    """Coroutine functions stay coroutine functions and record a span when awaited."""

    @observe(model="m", provider="anthropic")
    async def answer(question: str) -> str:
        await asyncio.sleep(0)
        return "async answer"

    assert inspect.iscoroutinefunction(answer)
    assert asyncio.run(answer("Why?")) == "async answer"
    span = only_span()
    assert span.name == "chat m"
    assert span.attributes is not None
    assert span.attributes[attributes.PROVIDER_NAME] == "anthropic"
    assert messages(span, attributes.OUTPUT_MESSAGES) == assistant_text("async answer")


def test_wrapper_preserves_signature_and_metadata() -> None:
    """functools.wraps: name, docstring, signature and __wrapped__ are the original's."""

    def original(question: str, *, model: str = "m") -> str:
        """Answer a question."""
        return question

    wrapped = observe(original)
    assert wrapped.__name__ == "original"
    assert wrapped.__doc__ == "Answer a question."
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped.__wrapped__ is original  # type: ignore[attr-defined]


class QuotaExceededError(RuntimeError):
    pass


def test_exception_propagates_unchanged_and_marks_span_error() -> None:
    """The caller gets the very same exception; the span has status ERROR, error.type
    and an exception event."""
    raised = QuotaExceededError("out of tokens")

    @observe(model="m")
    def call(prompt: str) -> str:
        raise raised

    with pytest.raises(QuotaExceededError) as caught:
        call("hi")
    assert caught.value is raised

    span = only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[attributes.ERROR_TYPE] == "QuotaExceededError"
    assert attributes.OUTPUT_MESSAGES not in span.attributes
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.message"] == "out of tokens"


def test_async_exception_propagates_unchanged() -> None:
    """Async calls re-raise the original exception and mark the span as failed."""

    @observe
    async def call(prompt: str) -> str:
        raise TimeoutError("provider timed out")

    with pytest.raises(TimeoutError, match="provider timed out"):
        asyncio.run(call("hi"))
    span = only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[attributes.ERROR_TYPE] == "TimeoutError"


def test_user_exception_traceback_starts_in_user_code() -> None:
    """The traceback's last frame is the user's raise, not SDK code."""

    @observe
    def call(prompt: str) -> str:
        replies: dict[str, str] = {}
        return replies[prompt]

    with pytest.raises(KeyError) as caught:
        call("hi")
    assert caught.traceback[-1].name == "call"
