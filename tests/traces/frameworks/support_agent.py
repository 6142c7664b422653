"""A support agent built with LangGraph around a deterministic stand-in chat model, and a
small RAG pipeline (a LangChain retriever, a reranker), instrumented by OpenInference's
LangChain instrumentation and by ``@observe``.

The stand-in model answers from what the conversation holds: asked a question, it calls
the order tool; given the tool's result, it answers from the retrieved context and the
result. :class:`Faults` makes it (or its parts) misbehave the way production agents do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import StructuredTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from watchkeeper.sdk import current_call, observe

KNOWLEDGE = [
    "Refunds are paid back to the original card within 5 business days.",
    "Orders ship from our Lyon warehouse within 2 days of payment.",
    "The delivery address can be changed in Settings until the parcel is dispatched.",
    "Every laptop carries a two year warranty covering hardware faults.",
]


@dataclass
class Faults:
    """What goes wrong in this run of the app (all off: a healthy app)."""

    #: the model calls the order tool again and again before answering
    looping_tool: bool = False
    #: the order service is down: the tool raises
    failing_tool: bool = False
    #: the index lost its documents: the retriever returns nothing
    empty_retrieval: bool = False
    #: the reranker puts the least relevant passage first
    reversed_rerank: bool = False
    #: the model passes the order number as a string (the framework coerces it)
    bad_arguments: bool = False


FAULTS = Faults()


class StandInChatModel(BaseChatModel):
    """A chat model that decides from the conversation alone (no randomness, no network)."""

    @property
    def _llm_type(self) -> str:
        return "stand-in"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """The tools' OpenAI definitions go with each request, as a real client sends
        them (and as the instrumentation records them)."""
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        tool_results = [m for m in messages if isinstance(m, ToolMessage)]
        question = next(m for m in messages if isinstance(m, HumanMessage))
        order = re.search(r"\d{4}", str(question.content))
        wants_tool = order is not None and (
            not tool_results or (FAULTS.looping_tool and len(tool_results) < 4)
        )
        if wants_tool:
            assert order is not None
            number = order.group() if FAULTS.bad_arguments else int(order.group())
            call = {"name": "get_order", "args": {"order_id": number}, "id": "call"}
            reply = AIMessage(content="", tool_calls=[{**call, "id": f"c{len(tool_results)}"}])
        else:
            reply = AIMessage(content=_answer(str(question.content), tool_results))
        reply.usage_metadata = {"input_tokens": 40, "output_tokens": 12, "total_tokens": 52}
        return ChatResult(generations=[ChatGeneration(message=reply)])


def _answer(question: str, tool_results: Sequence[ToolMessage]) -> str:
    context = question.split("Context:", 1)[1].strip() if "Context:" in question else ""
    first = context.splitlines()[0] if context else "I found nothing about that."
    status = f" Order status: {tool_results[-1].content}" if tool_results else ""
    return f"{first}{status}"


def get_order(order_id: int) -> str:
    """Look an order up by its number."""
    if FAULTS.failing_tool:
        raise ConnectionError("order service unavailable")
    return f"order {order_id} shipped"


class KnowledgeRetriever(BaseRetriever):
    """Passages sharing words with the query, best first, with their overlap as score."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        if FAULTS.empty_retrieval:
            return []
        words = _terms(query)
        scored = []
        for text in KNOWLEDGE:
            overlap = len(words & _terms(text))
            scored.append(Document(page_content=text, metadata={"score": overlap / 10}))
        scored.sort(key=lambda d: -d.metadata["score"])
        return scored[:3]


def _terms(text: str) -> set[str]:
    """Words of more than three letters, plurals folded: what the toy index matches on."""
    return {word.rstrip("s") for word in re.findall(r"[a-z]+", text.lower()) if len(word) > 3}


@observe(kind="rerank")
def rerank(question: str, documents: list[Document]) -> list[str]:
    """Most relevant first (by the retriever's score; reversed when the fault is on)."""
    ranked = sorted(documents, key=lambda d: -d.metadata["score"])
    if FAULTS.reversed_rerank:
        ranked.reverse()
    current_call().set_documents(
        [d.page_content for d in ranked], scores=[d.metadata["score"] for d in ranked]
    )
    return [d.page_content for d in ranked]


def build_graph() -> Any:
    """The agent: model -> tools -> model ... until the model answers."""
    model = StandInChatModel()
    tool = StructuredTool.from_function(get_order)

    bound = model.bind_tools([tool])

    def call_model(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [bound.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode([tool], handle_tool_errors=True))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "model")
    return graph.compile()


class SupportApp:
    """One turn: retrieve, rerank, run the agent on the question and the context."""

    def __init__(self) -> None:
        self.retriever = KnowledgeRetriever()
        self.graph = build_graph()
        #: the trace id of the last turn (to read it back from the store)
        self.trace_id = ""

    @observe(kind="agent", name="support", route="support/answer")
    def answer(self, question: str) -> str:
        self.trace_id = current_call().trace_id
        documents = self.retriever.invoke(question)
        passages = rerank(question, documents)
        prompt = question + ("\nContext:\n" + "\n".join(passages) if passages else "")
        state = self.graph.invoke({"messages": [HumanMessage(prompt)]})
        return str(state["messages"][-1].content)
