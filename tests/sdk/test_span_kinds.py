"""@observe(kind=...): agents, tools, retrievers, rerankers and chains as one trace tree,
recorded with the GenAI conventions' operations and OpenInference's span kinds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from watchkeeper.sdk import attributes, configure, current_call, observe, testing

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"order_id": {"type": "integer"}},
    "required": ["order_id"],
}


@observe(kind="retrieval")
def search(query: str, k: int = 3) -> list[tuple[str, float]]:
    return [("Refunds within 30 days.", 0.9), ("Shipping takes 5 days.", 0.4)][:k]


@observe(kind="rerank")
def rerank(query: str, passages: list[str]) -> list[str]:
    current_call().set_documents(list(reversed(passages)), scores=[0.8, 0.2])
    return list(reversed(passages))


@observe(kind="tool", tool_schema=ORDER_SCHEMA)
def get_order(order_id: int) -> dict[str, str]:
    """Look an order up by its number."""
    return {"order": str(order_id), "status": "shipped"}


@observe(model="stand-in", provider="test")
def generate(question: str) -> str:
    return "Your order shipped."


@observe(kind="agent", name="support")
def agent(question: str) -> str:
    passages = [text for text, _ in search(question)]
    rerank(question, passages)
    get_order(1234)
    return generate(question)


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


def test_an_agents_steps_form_one_tree_with_their_kinds() -> None:
    """Each step is a child of the agent's span in one trace; operations, OpenInference
    kinds and span kinds say what each step is."""
    assert agent("Where is my order 1234?") == "Your order shipped."
    spans = _by_name(testing.finished_spans())
    root = spans["invoke_agent support"]
    assert root.parent is None
    expected = {
        "invoke_agent support": ("invoke_agent", "AGENT", SpanKind.INTERNAL),
        "tests.sdk.test_span_kinds.search": ("retrieval", "RETRIEVER", SpanKind.INTERNAL),
        "tests.sdk.test_span_kinds.rerank": (None, "RERANKER", SpanKind.INTERNAL),
        "execute_tool get_order": ("execute_tool", "TOOL", SpanKind.INTERNAL),
        "chat stand-in": ("chat", None, SpanKind.CLIENT),
    }
    found = {}
    for span in spans.values():
        values = dict(span.attributes or {})
        name = span.name if span.name in expected else str(values[attributes.FUNCTION_NAME])
        found[name] = (
            values.get(attributes.OPERATION_NAME),
            values.get(attributes.OPENINFERENCE_SPAN_KIND),
            span.kind,
        )
        assert span.context.trace_id == root.context.trace_id
        if span is not root:
            assert span.parent is not None
            assert span.parent.span_id == root.context.span_id
    assert found == expected
    assert dict(root.attributes or {})[attributes.AGENT_NAME] == "support"


def test_a_retrievers_returned_list_is_its_documents_with_scores() -> None:
    """A retrieval step's returned (text, score) pairs are recorded as documents, its
    query as input.value, and no output.value duplicates them."""
    search("refund policy")
    (span,) = testing.finished_spans()
    values = dict(span.attributes or {})
    documents = json.loads(str(values[attributes.RETRIEVAL_DOCUMENTS]))
    assert documents == [
        {"score": 0.9, "content": "Refunds within 30 days."},
        {"score": 0.4, "content": "Shipping takes 5 days."},
    ]
    assert values[attributes.INPUT_VALUE] == "refund policy"
    assert attributes.OUTPUT_VALUE not in values
    assert attributes.INPUT_MESSAGES not in values


def test_set_documents_gives_a_reranker_its_order_and_scores() -> None:
    """set_documents(docs, scores=...) records the documents in the given order, each
    with its score, in place of the return value."""
    rerank("q", ["first", "second"])
    values = dict(testing.finished_spans()[0].attributes or {})
    assert json.loads(str(values[attributes.RETRIEVAL_DOCUMENTS])) == [
        {"score": 0.8, "content": "second"},
        {"score": 0.2, "content": "first"},
    ]


def test_without_content_documents_keep_ids_and_scores() -> None:
    """capture_content=False drops the passages' text and the query, keeps scores."""
    configure("memory", capture_content=False)
    search("secret question")
    values = dict(testing.finished_spans()[0].attributes or {})
    assert json.loads(str(values[attributes.RETRIEVAL_DOCUMENTS])) == [
        {"score": 0.9},
        {"score": 0.4},
    ]
    assert attributes.INPUT_VALUE not in values


def test_a_tool_carries_its_schema_description_and_failure() -> None:
    """A tool's declared argument schema and docstring line are recorded with its call;
    a tool that raises is an ERROR span with error.type, and the error reaches the app."""

    @observe(kind="tool", name="lookup", tool_schema=ORDER_SCHEMA)
    def failing(order_id: int) -> str:
        raise LookupError("no such order")

    get_order(7)
    with pytest.raises(LookupError):
        failing(8)
    ok, failed = testing.finished_spans()
    values = dict(ok.attributes or {})
    assert json.loads(str(values[attributes.TOOL_PARAMETERS])) == ORDER_SCHEMA
    assert values[attributes.TOOL_DESCRIPTION] == "Look an order up by its number."
    assert values[attributes.TOOL_TYPE] == "function"
    assert json.loads(str(values[attributes.TOOL_CALL_ARGUMENTS])) == {"order_id": 7}
    assert failed.name == "execute_tool lookup"
    assert failed.status.status_code == StatusCode.ERROR
    assert dict(failed.attributes or {})[attributes.ERROR_TYPE] == "LookupError"


def test_a_chain_records_its_input_and_output_values() -> None:
    """A chain step's arguments and result are input.value / output.value (JSON when not
    text; a prompt-like argument, e.g. ``question``, is the input by itself)."""

    @observe(kind="chain")
    def prepare(text: str, top_k: int) -> dict[str, object]:
        return {"text": text.strip(), "top_k": top_k}

    @observe(kind="chain")
    def condense(question: str, history: list[str]) -> str:
        return question.upper()

    prepare(" hi ", 2)
    condense("why?", ["earlier"])
    first, second = (dict(span.attributes or {}) for span in testing.finished_spans())
    assert first[attributes.OPENINFERENCE_SPAN_KIND] == "CHAIN"
    assert attributes.OPERATION_NAME not in first
    assert json.loads(str(first[attributes.INPUT_VALUE])) == {"text": " hi ", "top_k": 2}
    assert json.loads(str(first[attributes.OUTPUT_VALUE])) == {"text": "hi", "top_k": 2}
    assert (second[attributes.INPUT_VALUE], second[attributes.OUTPUT_VALUE]) == ("why?", "WHY?")


def test_async_agent_streaming_its_answer_nests_its_async_tool() -> None:
    """An async-generator agent and the async tool it awaits between chunks form a
    parent and child; the agent's span ends once the stream is exhausted."""

    @observe(kind="tool")
    async def weather(city: str) -> str:
        await asyncio.sleep(0)
        return "sunny"

    @observe(kind="agent", name="forecaster")
    async def forecaster(question: str) -> AsyncIterator[str]:
        yield "It is "
        yield await weather("Paris")

    async def consume() -> str:
        return "".join([chunk async for chunk in forecaster("Weather in Paris?")])

    assert asyncio.run(consume()) == "It is sunny"
    tool, agent_span = testing.finished_spans()
    assert agent_span.name == "invoke_agent forecaster"
    assert tool.parent is not None
    assert tool.parent.span_id == agent_span.context.span_id
    assert dict(tool.attributes or {})[attributes.TOOL_CALL_RESULT] == "sunny"


def test_operation_names_a_kind_as_before() -> None:
    """operation="execute_tool" / "embeddings" still make a tool / an embedding step."""

    @observe(operation="embeddings", model="e5")
    def embed(text: str) -> list[float]:
        return [0.1, 0.2]

    embed("x")
    (span,) = testing.finished_spans()
    values = dict(span.attributes or {})
    assert values[attributes.OPERATION_NAME] == "embeddings"
    assert values[attributes.OPENINFERENCE_SPAN_KIND] == "EMBEDDING"
    assert span.kind == SpanKind.CLIENT


def test_an_unknown_kind_is_an_error_naming_the_choices() -> None:
    """A misspelt kind fails at decoration (re-raised under pytest; logged and counted in
    an app, where the function runs undecorated)."""
    with pytest.raises(ValueError, match=r"kind='tools'.*'tool'"):
        observe(kind="tools")(lambda: None)  # type: ignore[call-overload]
