"""A LangGraph agent and a RAG pipeline, traced by OpenInference's LangChain
instrumentation and by ``@observe``, through the collector's pipeline into the store:
the trace tree, the session and every signal on framework-made traces, with faults
planted in the app (a looping tool, a failing tool, an empty retrieval, a reversed
reranker, a user who rephrases).

The framework's spans are encoded by OpenTelemetry's own OTLP encoder (what its OTLP
exporters send), ours by the SDK's; both go through ``Pipeline.process`` into chDB, and
the trace is read back from the ``spans`` table and assembled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.traces.frameworks import support_agent
from tests.traces.frameworks.support_agent import Faults, SupportApp
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.spans import read_session, read_trace
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.traces.assemble import Trace, assemble
from watchkeeper.collector.traces.signals import trace_signals
from watchkeeper.collector.traces.signals.conversation import conversation_signals
from watchkeeper.collector.traces.signals.stage import TraceSignalStage
from watchkeeper.sdk import configure, session, shutdown, testing

SERVICE = "support"


@dataclass
class Turn:
    """One answered question: its trace id and answer."""

    trace_id: str
    answer: str


@pytest.fixture(scope="module")
def framework_spans() -> Iterator[InMemorySpanExporter]:
    """OpenInference's LangChain instrumentation on an app-owned TracerProvider."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    configure("memory", service_name=SERVICE)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        shutdown(timeout_s=5.0)


class Harness:
    """Runs turns of the app and hands their spans to the collector's pipeline."""

    def __init__(self, store: Store, exporter: InMemorySpanExporter) -> None:
        self.store = store
        self.exporter = exporter
        self.pipeline = Pipeline(store, trace_signals=TraceSignalStage())
        self.app = SupportApp()
        exporter.clear()
        testing.clear()

    def turn(self, question: str, faults: Faults | None = None) -> Turn:
        support_agent.FAULTS = faults or Faults()
        try:
            answer = self.app.answer(question)
        finally:
            support_agent.FAULTS = Faults()
        ours = testing.finished_payload()
        theirs = encode_spans(self.exporter.get_finished_spans()).SerializeToString()
        testing.clear()
        self.exporter.clear()
        self.pipeline.process([Payload(ours, "test"), Payload(theirs, "test")])
        return Turn(self.app.trace_id, answer)

    def trace(self, trace_id: str) -> Trace:
        return assemble(read_trace(self.store, trace_id))


@pytest.fixture
def harness(store: Store, framework_spans: InMemorySpanExporter) -> Harness:
    return Harness(store, framework_spans)


def test_the_trace_tree_of_a_framework_agent(harness: Harness) -> None:
    """One turn is one complete trace: our agent span at the root, the retriever, the
    reranker, LangGraph's graph with its model calls and tool call under it, each of the
    kind it is; the answer comes from the retrieved passage and the tool."""
    turn = harness.turn("When is my refund for order 1234 paid?")
    assert turn.answer.startswith("Refunds are paid back")
    assert "order 1234 shipped" in turn.answer
    trace = harness.trace(turn.trace_id)
    assert not trace.partial
    assert trace.root is not None
    assert (trace.root.kind, trace.root.name) == ("agent", "invoke_agent support")
    kinds = {span.kind for span in trace.spans}
    assert {"agent", "retrieval", "rerank", "chain", "llm", "tool"} <= kinds
    depth = {span.span_id: d for d, span in trace.walk()}
    tool = next(s for s in trace.spans if s.kind == "tool")
    assert depth[tool.span_id] >= 2  # under LangGraph's graph, under our agent
    retrieval = next(s for s in trace.spans if s.kind == "retrieval")
    assert retrieval.parent_span_id == trace.root.span_id
    # OpenInference's LangChain retriever spans carry the passages, not their scores
    # (LangChain keeps those in each document's metadata); our reranker's carry both.
    assert retrieval.documents[0][0].startswith("Refunds are paid back")
    reranker = next(s for s in trace.spans if s.kind == "rerank")
    assert reranker.documents[0][0] == retrieval.documents[0][0]
    assert reranker.documents[0][1] == pytest.approx(0.2)  # refund, paid


def test_only_the_model_calls_are_llm_calls(harness: Harness) -> None:
    """The calls the detectors score are the trace's LLM spans and nothing else: the
    retriever, the reranker, the agent and LangGraph's chains are trace spans, and no
    detector score lands on them (a retriever scored as an answer looked like a bad one)."""
    turn = harness.turn("When is my refund for order 1234 paid?")
    trace = harness.trace(turn.trace_id)
    llm = {s.span_id for s in trace.spans if s.kind == "llm"}
    assert len(llm) == 2  # the model before and after the tool
    calls = harness.store.calls_for_trace(turn.trace_id)
    assert {str(c["SpanId"]) for c in calls} == llm
    trace_level = ("trajectory.", "rag.", "conversation.")
    scored = {
        str(r["SpanId"])
        for r in harness.store.scores_for_trace(turn.trace_id)
        if any(not name.startswith(trace_level) for name in r["Scores"])
    }
    assert scored
    assert scored <= llm


def test_a_healthy_turn_raises_no_signal(harness: Harness) -> None:
    """Clean: no tool error, loop or empty retrieval; the reranker follows relevance and
    the answer uses its first passage."""
    found = trace_signals(
        harness.trace(harness.turn("When is my refund for order 1234 paid?").trace_id)
    )
    for event in ("tool_error", "tool_loop", "no_answer", "answer_after_tool_error"):
        assert found[f"trajectory.{event}"] == 0.0, event
    assert found["rag.retrieval_empty"] == 0.0
    assert found["trajectory.schema_violation"] == 0.0  # against the tools the model was given
    assert found["rag.rerank_disagreement"] == 0.0
    assert found["rag.context_utilisation"] > 0.0
    assert found["trajectory.steps"] == 3.0  # model, tool, model


@pytest.mark.parametrize(
    ("fault", "signal"),
    [
        ("looping_tool", "trajectory.tool_loop"),
        ("failing_tool", "trajectory.answer_after_tool_error"),
        ("empty_retrieval", "rag.retrieval_empty"),
        ("reversed_rerank", "rag.rerank_disagreement"),
        ("bad_arguments", "trajectory.schema_violation"),
    ],
)
def test_a_fault_planted_in_the_app_shows_in_its_signal(
    harness: Harness, fault: str, signal: str
) -> None:
    """Each fault, planted in the running app, sets its signal on the stored trace."""
    turn = harness.turn(
        "When is my refund for order 1234 paid?", dataclasses.replace(Faults(), **{fault: True})
    )
    found = trace_signals(harness.trace(turn.trace_id))
    assert found[signal] >= 0.5, found
    if fault == "failing_tool":
        assert found["trajectory.tool_error"] == 1.0


def test_a_rephrasing_user_in_a_session(harness: Harness) -> None:
    """Three turns in one session, the user asking again: the stored session has the
    turns in order, the second and third are rephrases, the session ends abandoned; the
    trace and session API serve them."""
    asked = [
        "How long does shipping from the warehouse take?",
        "Sorry, how long does shipping from the warehouse take?",
        "how long does shipping from the warehouse take",
    ]
    with session(session_id="chat-9", user_id="u-1"):
        turns = [harness.turn(question) for question in asked]
    spans = read_session(harness.store, "chat-9")
    by_trace: dict[str, list[object]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    assert set(by_trace) == {turn.trace_id for turn in turns}
    found = conversation_signals([assemble(group) for group in by_trace.values()])  # type: ignore[arg-type]
    assert [turn["rephrase"] for turn in found.turns] == [0.0, 1.0, 1.0]
    assert found.session["abandoned"] == 1.0
    token = TokenRegistry(harness.store).create("vic", "viewer")[0]
    with TestClient(build_app(harness.pipeline)) as client:
        headers = {"authorization": f"Bearer {token}"}
        reply = client.get("/api/sessions/chat-9", headers=headers)
        assert reply.status_code == 200, reply.text
        assert [t["trace_id"] for t in reply.json()["turns"]] == [t.trace_id for t in turns]
        tree = client.get(f"/api/traces/{turns[0].trace_id}", headers=headers).json()
        assert tree["session_id"] == "chat-9"
        assert not tree["partial"]


def test_the_pipeline_stores_the_signals_on_the_root_span(harness: Harness) -> None:
    """With the signal stage on, the collector scores each trace as it completes: the
    root span's call_scores row holds the trajectory and RAG signals, and the trace API
    shows them on the root."""
    turn = harness.turn("When is my refund for order 1234 paid?", Faults(failing_tool=True))
    rows = {
        str(r["SpanId"]): dict(r["Scores"]) for r in harness.store.scores_for_trace(turn.trace_id)
    }
    root = harness.trace(turn.trace_id).root
    assert root is not None
    stored = rows[root.span_id]
    assert stored["trajectory.tool_error"] == 1.0
    assert stored["trajectory.answer_after_tool_error"] == 1.0
    assert stored["rag.retrieval_empty"] == 0.0
