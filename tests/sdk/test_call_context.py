"""current_call(): setting fields of the observed call from inside it."""

from __future__ import annotations

from watchkeeper.sdk import attributes, current_call, observe, testing
from watchkeeper.sdk.call_context import NOT_IN_A_CALL


def test_setters_record_on_the_current_span() -> None:
    """set_model/set_usage/set_user/set_conversation/set_attribute land on the span,
    and set_model renames it to "{operation} {model}"."""

    @observe(provider="openai")
    def answer(question: str) -> str:
        call = current_call()
        assert call.is_recording
        call.set_model("gpt-4o-2024-08-06")
        call.set_usage(input_tokens=12, output_tokens=30)
        call.set_user("user-42")
        call.set_conversation("conv-9")
        call.set_attribute(attributes.PROMPT_VERSION, "v3")
        return "ok"

    answer("hi")
    (span,) = testing.finished_spans()
    assert span.name == "chat gpt-4o-2024-08-06"
    assert span.attributes is not None
    assert span.attributes[attributes.REQUEST_MODEL] == "gpt-4o-2024-08-06"
    assert span.attributes[attributes.USAGE_INPUT_TOKENS] == 12
    assert span.attributes[attributes.USAGE_OUTPUT_TOKENS] == 30
    assert span.attributes[attributes.USER_ID] == "user-42"
    assert span.attributes[attributes.CONVERSATION_ID] == "conv-9"
    assert span.attributes[attributes.PROMPT_VERSION] == "v3"


def test_explicit_span_name_survives_set_model() -> None:
    """With @observe(name=...), set_model records the model but keeps the chosen name."""

    @observe(name="retrieve-and-answer")
    def answer(question: str) -> str:
        current_call().set_model("m2")
        return "ok"

    answer("hi")
    (span,) = testing.finished_spans()
    assert span.name == "retrieve-and-answer"
    assert span.attributes is not None
    assert span.attributes[attributes.REQUEST_MODEL] == "m2"


def test_set_attribute_stores_unsupported_values_as_text() -> None:
    """Values OTel cannot carry (dicts, objects) are stored as a bounded repr; lists of
    primitives are kept as lists."""

    @observe
    def answer(question: str) -> str:
        current_call().set_attribute("app.filters", {"lang": "en"})
        current_call().set_attribute("app.tags", ["a", "b"])
        return "ok"

    answer("hi")
    (span,) = testing.finished_spans()
    assert span.attributes is not None
    assert span.attributes["app.filters"] == "{'lang': 'en'}"
    assert tuple(span.attributes["app.tags"]) == ("a", "b")  # type: ignore[arg-type]


def test_current_call_outside_a_call_is_a_silent_no_op() -> None:
    """Outside an observed call every setter does nothing and nothing is recorded."""
    call = current_call()
    assert call is NOT_IN_A_CALL
    assert not call.is_recording
    call.set_model("m")
    call.set_usage(1, 2)
    call.set_user("u")
    call.set_conversation("c")
    call.set_attribute("k", object())
    assert testing.finished_spans() == ()


def test_current_call_is_restored_after_a_nested_call() -> None:
    """After an inner observed call returns, current_call() is the outer call again."""

    @observe(name="inner")
    def inner(prompt: str) -> str:
        return "x"

    @observe(name="outer")
    def outer(prompt: str) -> str:
        inner(prompt)
        current_call().set_user("outer-user")
        return "y"

    outer("hi")
    inner_span, outer_span = testing.finished_spans()
    assert "user.id" not in (inner_span.attributes or {})
    assert (outer_span.attributes or {})["user.id"] == "outer-user"
    assert current_call() is NOT_IN_A_CALL
