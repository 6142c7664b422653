"""current_call(): setting fields of the observed call from inside it."""

from __future__ import annotations

import json

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


def test_prompt_documents_input_output_and_ids() -> None:
    """set_prompt, add_documents (strings, dicts, (doc, score) pairs, objects),
    set_input/set_output and the hex trace/span ids all reach the span."""

    class LangchainLikeDocument:
        def __init__(self, text: str, source: str) -> None:
            self.page_content = text
            self.metadata = {"source": source}

    ids: list[str] = []

    @observe(name="rag")
    def answer(question: str) -> dict[str, str]:
        call = current_call()
        ids.extend([call.trace_id, call.span_id])
        call.set_prompt("support-answer", version=3)
        call.add_documents(["Refunds take 5 days."])
        call.add_documents([{"id": "kb-2", "score": 0.8, "text": "Store credit after 30 days."}])
        call.add_documents([(LangchainLikeDocument("Ship in 2 days.", "kb-3"), 0.5)])
        call.set_input([{"role": "user", "content": "rewritten question"}])
        call.set_output("the answer")
        return {"answer": "the answer", "debug": "..."}

    answer("original question")
    (span,) = testing.finished_spans()
    values = dict(span.attributes or {})
    assert ids == [f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"]
    assert (
        values[attributes.PROMPT_NAME] == values[attributes.GEN_AI_PROMPT_NAME] == "support-answer"
    )
    assert values[attributes.PROMPT_VERSION] == "3"
    assert json.loads(str(values[attributes.RETRIEVAL_DOCUMENTS])) == [
        {"content": "Refunds take 5 days."},
        {"id": "kb-2", "score": 0.8, "content": "Store credit after 30 days."},
        {"id": "kb-3", "score": 0.5, "content": "Ship in 2 days."},
    ]
    assert "rewritten question" in str(values[attributes.INPUT_MESSAGES])
    assert json.loads(str(values[attributes.OUTPUT_MESSAGES])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "the answer"}]}
    ]


def test_messages_are_recorded_as_sent_even_if_the_app_mutates_them() -> None:
    """The messages list is copied (shallowly) when the call starts: appending the reply
    afterwards, as chat apps do, does not change what was recorded."""
    history = [{"role": "user", "content": "hi"}]

    @observe
    def chat(messages: list[dict[str, str]]) -> str:
        messages.append({"role": "assistant", "content": "hello"})  # inside the call, too
        return "hello"

    chat(history)
    history.append({"role": "user", "content": "and more"})
    (span,) = testing.finished_spans()
    recorded = json.loads(str((span.attributes or {})[attributes.INPUT_MESSAGES]))
    assert [m["role"] for m in recorded] == ["user"]


def test_setters_after_the_call_ended_do_nothing() -> None:
    """A handle kept past the end of its call can no longer change the span (the export
    thread may already be reading it)."""
    kept = []

    @observe
    def answer(question: str) -> str:
        kept.append(current_call())
        return "ok"

    answer("hi")
    kept[0].set_user("late")
    kept[0].set_attribute("late", True)
    (span,) = testing.finished_spans()
    assert "late" not in (span.attributes or {})
    assert attributes.USER_ID not in (span.attributes or {})
    assert not kept[0].is_recording


def test_execute_tool_records_tool_attributes_instead_of_messages() -> None:
    """operation="execute_tool" names the span after the tool and records its
    arguments and result as gen_ai.tool.* attributes."""

    @observe(operation="execute_tool")
    def get_order(order_id: int, verbose: bool = False) -> dict[str, str]:
        return {"status": "shipped"}

    get_order(42)
    (span,) = testing.finished_spans()
    values = dict(span.attributes or {})
    assert span.name == "execute_tool get_order"
    assert values[attributes.TOOL_NAME] == "get_order"
    assert json.loads(str(values[attributes.TOOL_CALL_ARGUMENTS])) == {"order_id": 42}
    assert json.loads(str(values[attributes.TOOL_CALL_RESULT])) == {"status": "shipped"}
    assert attributes.INPUT_MESSAGES not in values


def test_decorator_prompt_options_are_static_attributes() -> None:
    """@observe(prompt_name=..., prompt_version=...) stamps every call."""

    @observe(prompt_name="greeting", prompt_version="v2")
    def greet(name: str) -> str:
        return f"hi {name}"

    greet("a")
    values = dict(testing.finished_spans()[0].attributes or {})
    assert values[attributes.PROMPT_NAME] == "greeting"
    assert values[attributes.PROMPT_VERSION] == "v2"
