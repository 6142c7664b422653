"""A batch whose preparation or write fails for any reason is read again, never skipped."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from tests.support.kafka_broker import create_topic
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.receivers.kafka import KafkaReceiver
from watchkeeper.collector.store.store import Store

MESSAGES = 12
SPANS_PER_MESSAGE = 5


class FailsOnce:
    """Wraps a pipeline method: the ``nth`` call raises ``error`` (not a StoreError)."""

    def __init__(self, method: Any, nth: int, error: Exception) -> None:
        self.method, self.nth, self.error, self.calls = method, nth, error, 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        if self.calls == self.nth:
            raise self.error
        return self.method(*args)


@pytest.mark.kafka
def test_failed_batches_are_read_again_not_skipped(kafka_bootstrap: str, store: Store) -> None:
    """The receiver's loop (batches prepared while the previous one is written): a bug
    in preparing one batch and an unexpected error writing another (neither a StoreError)
    cost a pause and a re-read; later commits never pass over them, so every call is
    stored."""
    from kafka import KafkaProducer

    topic = f"fail_{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for _ in range(MESSAGES):
        producer.send(topic, protobuf_payload(answer_spans(SPANS_PER_MESSAGE)))
    producer.flush(30)
    producer.close()

    pipeline = Pipeline(store)
    prepare = FailsOnce(pipeline.prepare, 2, RuntimeError("a bug while preparing"))
    write = FailsOnce(pipeline.write, 3, ValueError("an unexpected error while writing"))
    pipeline.prepare = prepare  # type: ignore[method-assign]
    pipeline.write = write  # type: ignore[method-assign]
    receiver = KafkaReceiver(
        pipeline, bootstrap=kafka_bootstrap, topic=topic, group=f"g-{topic}", max_batch=2
    )
    receiver.start()
    expected = MESSAGES * SPANS_PER_MESSAGE
    deadline = time.monotonic() + 60
    try:
        while store.count_calls() < expected and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        receiver.stop()
    assert prepare.calls > prepare.nth
    assert write.calls > write.nth
    assert store.count_calls() == expected


@pytest.mark.kafka
def test_poll_once_reads_a_failed_batch_again(kafka_bootstrap: str, store: Store) -> None:
    """``poll_once`` raises whatever failed, after seeking back: the next call gets the
    same messages."""
    from kafka import KafkaProducer

    topic = f"fail_{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(topic, protobuf_payload(answer_spans(SPANS_PER_MESSAGE)))
    producer.flush(30)
    producer.close()
    pipeline = Pipeline(store)
    pipeline.process = FailsOnce(pipeline.process, 1, KeyError("unexpected"))  # type: ignore[method-assign]
    receiver = KafkaReceiver(pipeline, bootstrap=kafka_bootstrap, topic=topic, group=f"g-{topic}")
    receiver.connect()
    try:
        handled, deadline = 0, time.monotonic() + 30
        while not handled and time.monotonic() < deadline:
            try:
                handled = receiver.poll_once(timeout_ms=500)
            except KeyError:
                continue
    finally:
        receiver.stop()
    assert handled == 1
    assert store.count_calls() == SPANS_PER_MESSAGE
