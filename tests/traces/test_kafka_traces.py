"""Whole traces end to end through a real Kafka broker into chDB.

Two producers, as in production: the SDK (``@observe(kind=...)`` steps of an agent with
a RAG tool, nested, in a session) through its Kafka exporter, and OpenTelemetry /
OpenInference-shaped spans sent as the OpenTelemetry Collector's Kafka exporter would
(key = trace id), some with their spans out of order across messages, one with a parent
that never arrives. Each trace is read back from the ``spans`` table and assembled.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.traces.agent_payloads import EXPECTED_KINDS, EXPECTED_PARENTS, agent_trace, payload
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.receivers.kafka import KafkaReceiver
from watchkeeper.collector.store.spans import read_session, read_trace
from watchkeeper.collector.store.store import Store
from watchkeeper.collector.traces.assemble import Trace, assemble
from watchkeeper.sdk import configure, current_call, flush, observe, session, shutdown


def _sdk_agent_turns(bootstrap: str, topic: str) -> list[str]:
    """Two turns of an SDK-instrumented agent in session ``sdk-s1``; their trace ids."""
    configure("kafka", kafka_bootstrap=bootstrap, topic=topic, service_name="sdk-agent")

    @observe(kind="retrieval", name="search docs")
    def retrieve(query: str) -> list[str]:
        current_call().set_documents(["Oslo: sunny", "Bergen: rain"], scores=[0.9, 0.3])
        return ["Oslo: sunny", "Bergen: rain"]

    @observe(kind="rerank", name="rerank docs")
    def rerank(docs: list[str]) -> list[str]:
        return list(reversed(docs))

    @observe(kind="tool", name="weather_tool")
    def weather(city: str) -> str:
        return rerank(retrieve(f"weather {city}"))[0]

    @observe(kind="llm", model="stand-in", provider="test")
    def answer(question: str, facts: str) -> str:
        return f"{facts} (answering {question})"

    @observe(kind="chain", name="format")
    def fmt(text: str) -> str:
        return text.upper()

    @observe(kind="agent", name="helper")
    def agent(question: str) -> str:
        ids.append(current_call().trace_id)
        return fmt(answer(question, weather("Oslo")))

    ids: list[str] = []
    with session("sdk-s1", user_id="u-1"):
        agent("Weather in Oslo?")
        agent("And tomorrow?")
    assert flush(30.0)
    return ids


def _produce_raw(bootstrap: str, topic: str) -> dict[str, Any]:
    """OpenTelemetry/OpenInference-shaped traces: one in one message, one span per
    message in reverse order (children first), one without its tool span."""
    from kafka import KafkaProducer

    whole, reversed_trace = agent_trace("raw-s1"), agent_trace("raw-s1", "Tomorrow?")
    broken = agent_trace("raw-s2")
    tool = next(s for s in broken if s.name == "execute_tool search")
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")

    def send(spans: list[Any]) -> None:
        key = format(spans[0].context.trace_id, "032x").encode()
        producer.send(topic, key=key, value=payload(spans))

    send(whole)
    for span in reversed(reversed_trace):
        send([span])
    send([s for s in broken if s is not tool])
    producer.flush(30)
    producer.close()
    return {
        "whole": _id(whole),
        "reversed": _id(reversed_trace),
        "broken": _id(broken),
        "missing": format(tool.context.span_id, "016x"),
        "span_count": len(whole),
    }


def _id(spans: list[Any]) -> str:
    return format(spans[0].context.trace_id, "032x")


def _drain(receiver: KafkaReceiver, store: Store, trace_ids: list[str], spans: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        receiver.poll_once(timeout_ms=500)
        if sum(len(read_trace(store, t)) for t in trace_ids) >= spans:
            return


def _names(trace: Trace) -> dict[str, str]:
    return {s.span_id: s.name for s in trace.spans}


@pytest.mark.kafka
def test_traces_through_kafka_are_assembled_or_shown_partial(
    kafka_bootstrap: str, store: Store
) -> None:
    """SDK and OTel/OpenInference traces come out of the broker whole, with every kind
    of span in place; reversed spans across messages assemble the same; a missing parent
    gives a partial trace with nothing dropped; sessions gather their turns."""
    topic = f"otlp_spans_{uuid.uuid4().hex[:8]}"
    sdk_ids = _sdk_agent_turns(kafka_bootstrap, topic)
    raw = _produce_raw(kafka_bootstrap, topic)
    receiver = KafkaReceiver(
        Pipeline(store), bootstrap=kafka_bootstrap, topic=topic, group=f"g-{topic}"
    )
    receiver.connect()
    all_ids = [*sdk_ids, raw["whole"], raw["reversed"], raw["broken"]]
    try:
        _drain(receiver, store, all_ids, 2 * 7 + 2 * 8 + 7)
    finally:
        receiver.stop()
        shutdown()

    for trace_id in (raw["whole"], raw["reversed"]):
        trace = assemble(read_trace(store, trace_id))
        assert not trace.partial
        assert {s.name: s.kind for s in trace.spans} == EXPECTED_KINDS
        names = _names(trace)
        parents = {s.name: names[s.parent_span_id] for s in trace.spans if s.parent_span_id}
        assert parents == EXPECTED_PARENTS
    broken = assemble(read_trace(store, raw["broken"]))
    assert broken.partial
    assert broken.missing_parents == {raw["missing"]}
    assert len(broken.spans) == raw["span_count"] - 1

    for trace_id in sdk_ids:
        trace = assemble(read_trace(store, trace_id))
        assert not trace.partial, trace
        assert trace.root is not None
        assert trace.root.kind == "agent"
        depth = {s.kind: d for d, s in trace.walk()}
        assert depth == {"agent": 0, "tool": 1, "retrieval": 2, "rerank": 2, "llm": 1, "chain": 1}
        retrieval = next(s for s in trace.spans if s.kind == "retrieval")
        assert retrieval.documents == (("Oslo: sunny", 0.9), ("Bergen: rain", 0.3))
        rerank = next(s for s in trace.spans if s.kind == "rerank")
        assert [d[0] for d in rerank.documents] == ["Bergen: rain", "Oslo: sunny"]
        assert trace.root.session_id == "sdk-s1"
        assert trace.root.user_id == "u-1"
    turns = {s.trace_id for s in read_session(store, "sdk-s1")}
    assert turns == set(sdk_ids)
    assert {s.trace_id for s in read_session(store, "raw-s1")} == {raw["whole"], raw["reversed"]}
