"""The walking skeleton through a real broker: @observe -> Kafka -> collector -> chDB."""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest

from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.receivers.kafka import KafkaReceiver
from watchkeeper.collector.store.store import Store
from watchkeeper.sdk import configure, flush, observe, shutdown, stats

N_CALLS = 300


def _drain(receiver: KafkaReceiver, store: Store, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while store.count_calls() < expected and time.monotonic() < deadline:
        receiver.poll_once(timeout_ms=500)


@pytest.mark.kafka
@pytest.mark.parametrize("client", ["confluent", "kafka-python"])
def test_decorated_calls_arrive_exactly_once_with_fields_intact(
    kafka_bootstrap: str, store: Store, client: str
) -> None:
    """N decorated calls exported to Kafka are stored once each, every field as sent.

    Also pins at-least-once bookkeeping: after the batch is stored and committed, a new
    consumer in the same group receives nothing more.
    """
    topic = f"otlp_spans_{uuid.uuid4().hex[:8]}"
    group = f"it-{uuid.uuid4().hex[:8]}"
    configure("kafka", kafka_bootstrap=kafka_bootstrap, topic=topic, service_name="it-app")

    @observe(model="it-model", provider="it-provider", route="it/answer")
    def answer(question: str, index: int) -> str:
        if index % 50 == 0:
            raise ValueError(f"bad question {index}")
        return f"answer {index}: {question[::-1]}"

    before = stats()
    for i in range(N_CALLS):
        with contextlib.suppress(ValueError):
            answer(f"question {i} " + "x" * (i % 37), i)
    assert flush(30.0)
    after = stats()
    assert after["spans_exported"] - before["spans_exported"] == N_CALLS
    assert after["spans_dropped"] == before["spans_dropped"]

    receiver = KafkaReceiver(
        Pipeline(store), bootstrap=kafka_bootstrap, topic=topic, group=group, client=client
    )
    receiver.connect()
    try:
        _drain(receiver, store, N_CALLS, timeout_s=60)
        # A little longer: duplicates, if any, would arrive now.
        for _ in range(3):
            receiver.poll_once(timeout_ms=300)
    finally:
        receiver.stop()

    rows = store.select(
        "SELECT c.TraceId AS TraceId, c.SpanId AS SpanId, b.InputText AS InputText, "
        "b.OutputText AS OutputText, c.RequestModel AS RequestModel, c.Provider AS Provider, "
        "c.Route AS Route, c.ServiceName AS ServiceName, c.StatusCode AS StatusCode, "
        "c.ErrorType AS ErrorType, c.Source AS Source, c.InputChars AS InputChars "
        "FROM (SELECT * FROM {db}.calls FINAL) AS c "
        "JOIN (SELECT * FROM {db}.call_bodies FINAL) AS b ON c.SpanId = b.SpanId"
    )
    assert len(rows) == N_CALLS
    assert len({r["SpanId"] for r in rows}) == N_CALLS
    by_input = {r["InputText"]: r for r in rows}
    for i in range(N_CALLS):
        question = f"question {i} " + "x" * (i % 37)
        row = by_input[question]
        assert (row["RequestModel"], row["Provider"], row["Route"]) == (
            "it-model",
            "it-provider",
            "it/answer",
        )
        assert row["ServiceName"] == "it-app"
        assert row["InputChars"] == len(question)
        assert row["Source"] == "kafka"
        if i % 50 == 0:
            assert row["StatusCode"] == "ERROR"
            assert "ValueError" in row["ErrorType"]
        else:
            assert row["OutputText"] == f"answer {i}: {question[::-1]}"
    # Raw count without FINAL: nothing was written twice in the first place.
    raw = store.select("SELECT count() AS n FROM {db}.calls")
    assert int(raw[0]["n"]) == N_CALLS

    again = KafkaReceiver(
        Pipeline(store), bootstrap=kafka_bootstrap, topic=topic, group=group, client=client
    )
    again.connect()
    try:
        seen = sum(again.poll_once(timeout_ms=500) for _ in range(4))
    finally:
        again.stop()
    assert seen == 0
    shutdown()
