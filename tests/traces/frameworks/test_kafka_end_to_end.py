"""The LangGraph support agent end to end through real parts: OpenInference's spans by
OpenTelemetry's OTLP/HTTP exporter and ours by the SDK's, into ``watchkeeper sidecar``, a
real Kafka broker, the ``KafkaReceiver`` and the pipeline with its signal stage, into chDB.
Every trace is stored whole, the session has its turns, and the signals stored on each
trace's root show the fault planted in that turn.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.sidecar.process import SidecarProcess
from tests.support.kafka_broker import create_topic
from tests.traces.frameworks import support_agent
from tests.traces.frameworks.support_agent import Faults, SupportApp
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.receivers.kafka import KafkaReceiver
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.spans import read_session, read_trace
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.traces.assemble import assemble
from watchkeeper.collector.traces.signals.stage import TraceSignalStage
from watchkeeper.sdk import configure, flush, session, shutdown

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

QUESTION = "When is my refund for order 1234 paid?"
#: turn -> (faults planted, the signal that must show it, or None for a healthy turn)
TURNS = {
    "healthy": (Faults(), None),
    "looping": (Faults(looping_tool=True), "trajectory.tool_loop"),
    "failing": (Faults(failing_tool=True), "trajectory.answer_after_tool_error"),
    "empty": (Faults(empty_retrieval=True), "rag.retrieval_empty"),
    "reversed": (Faults(reversed_rerank=True), "rag.rerank_disagreement"),
    "bad_arguments": (Faults(bad_arguments=True), "trajectory.schema_violation"),
}
SESSION = [
    "How long does shipping from the warehouse take?",
    "Sorry, how long does shipping from the warehouse take?",
]


def _run_app(sidecar_url: str) -> dict[str, str]:
    """Every turn of the app, exported over OTLP/HTTP; trace id by turn name."""
    provider = TracerProvider(resource=Resource.create({"service.name": "support"}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{sidecar_url}/v1/traces"))
    )
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    configure("otlp", endpoint=sidecar_url, service_name="support")
    app = SupportApp()
    ids = {}
    try:
        for name, (faults, _) in TURNS.items():
            support_agent.FAULTS = faults
            app.answer(QUESTION)
            ids[name] = app.trace_id
        support_agent.FAULTS = Faults()
        with session(session_id="chat-kafka", user_id="u-7"):
            for i, question in enumerate(SESSION):
                app.answer(question)
                ids[f"turn{i}"] = app.trace_id
        # The framework's spans first, then ours (the roots): a trace completes when
        # its root arrives.
        assert provider.force_flush(10_000)
        assert flush(10.0)
    finally:
        support_agent.FAULTS = Faults()
        instrumentor.uninstrument()
        provider.shutdown()
        shutdown(timeout_s=5.0)
    return ids


@pytest.fixture(scope="module")
def stored(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, dict[str, str]]]:
    """The app's traces through sidecar and Kafka, stored by the collector's pipeline."""
    workdir: Path = tmp_path_factory.mktemp("traces-kafka")
    topic = f"otlp_spans_traces_{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic, partitions=2)
    with SidecarProcess(workdir / "spool", kafka_bootstrap, topic) as sidecar:
        ids = _run_app(sidecar.url)
        assert sidecar.wait_for("watchkeeper_sidecar_spool_records", 0, timeout_s=60)
    store = Store(ChdbBackend(workdir / "chdb"))
    store.migrate()
    pipeline = Pipeline(store, trace_signals=TraceSignalStage())
    receiver = KafkaReceiver(pipeline, bootstrap=kafka_bootstrap, topic=topic, group=topic)
    receiver.connect()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _all_rooted(store, ids.values()):
            receiver.poll_once(timeout_ms=500)
    finally:
        receiver.stop()
    try:
        yield store, ids
    finally:
        store.close()


def _all_rooted(store: Store, trace_ids: Iterable[str]) -> bool:
    return all(assemble(read_trace(store, t)).root is not None for t in trace_ids)


def _signals(store: Store, trace_id: str) -> dict[str, float]:
    root = assemble(read_trace(store, trace_id)).root
    assert root is not None
    rows = {str(r["SpanId"]): dict(r["Scores"]) for r in store.scores_for_trace(trace_id)}
    return rows.get(root.span_id, {})


def test_every_trace_arrives_whole(stored: tuple[Store, dict[str, str]]) -> None:
    """Each turn's trace is complete: our agent at the root, LangGraph's and our steps
    under it, every parent present."""
    store, ids = stored
    for trace_id in ids.values():
        trace = assemble(read_trace(store, trace_id))
        assert not trace.partial, trace_id
        assert trace.root is not None
        assert trace.root.name == "invoke_agent support"
        assert {"retrieval", "rerank", "chain", "llm"} <= {s.kind for s in trace.spans}


@pytest.mark.parametrize("turn", list(TURNS))
def test_the_stored_signals_show_each_planted_fault(
    stored: tuple[Store, dict[str, str]], turn: str
) -> None:
    """The signal stage scored each trace as its root arrived: the planted fault's signal
    is set on the root's scores, and a healthy turn has no event set."""
    store, ids = stored
    found = _signals(store, ids[turn])
    expected = TURNS[turn][1]
    if expected is None:
        events = ("tool_error", "tool_loop", "answer_after_tool_error", "no_answer")
        assert all(found[f"trajectory.{e}"] == 0.0 for e in events), found
        assert found["rag.retrieval_empty"] == 0.0
        assert found["trajectory.schema_violation"] == 0.0
    else:
        assert found[expected] >= 0.5, found


def test_the_session_and_its_rephrase(stored: tuple[Store, dict[str, str]]) -> None:
    """The session's two turns are stored under its id, with the user; the second turn,
    the same question again, is scored as a rephrase."""
    store, ids = stored
    spans = read_session(store, "chat-kafka")
    assert {s.trace_id for s in spans} == {ids["turn0"], ids["turn1"]}
    assert {s.user_id for s in spans if s.user_id} == {"u-7"}
    assert _signals(store, ids["turn0"])["conversation.rephrase"] == 0.0
    assert _signals(store, ids["turn1"])["conversation.rephrase"] == 1.0
