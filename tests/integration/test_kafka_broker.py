"""The test Kafka broker behaves like a real Kafka for the clients the project uses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.support.kafka_broker import create_topic

pytestmark = pytest.mark.kafka

MESSAGES = 100
PARTITIONS = 3
POLL_DEADLINE_S = 60.0


def _consumer(bootstrap: str, topic: str, group: str) -> KafkaConsumer:
    """A manually committing group consumer that starts at the earliest offset."""
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )


def _poll(consumer: KafkaConsumer, want: int, deadline_s: float) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(key, value)`` pairs until ``want`` arrived or ``deadline_s`` passed."""
    deadline = time.monotonic() + deadline_s
    seen = 0
    while seen < want and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                seen += 1
                yield record.key, record.value


def _wait_for_assignment(consumer: KafkaConsumer, deadline_s: float) -> set[TopicPartition]:
    """Poll (without expecting records) until the group coordinator assigned partitions."""
    deadline = time.monotonic() + deadline_s
    while not consumer.assignment() and time.monotonic() < deadline:
        assert not consumer.poll(timeout_ms=200), "records before the test expected any"
    return set(consumer.assignment())


def test_keyed_messages_round_trip_through_a_consumer_group(kafka_bootstrap: str) -> None:
    """Pins: 100 keyed messages produced to a fresh topic all come back with their keys
    through a consumer group, and a committed group resumes after the commit: a second
    consumer in the same group gets none of them again, but does get a later message.
    """
    suffix = uuid.uuid4().hex[:10]
    topic, group = f"it-broker-{suffix}", f"it-group-{suffix}"
    create_topic(kafka_bootstrap, topic, PARTITIONS)
    sent = {f"key-{i:03d}".encode(): f"value-{i}".encode() for i in range(MESSAGES)}

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    try:
        for future in [producer.send(topic, key=k, value=v) for k, v in sent.items()]:
            future.get(timeout=30)
    finally:
        producer.close(timeout=10)

    first = _consumer(kafka_bootstrap, topic, group)
    try:
        received = dict(_poll(first, MESSAGES, POLL_DEADLINE_S))
        first.commit()
        partitions = first.assignment()
        committed = {tp: first.committed(tp) for tp in partitions}
        end_offsets = first.end_offsets(list(partitions))
    finally:
        first.close()  # leaves the group, so the next member is assigned at once

    assert received == sent
    assert len(partitions) == PARTITIONS
    assert committed == end_offsets
    assert sum(end_offsets.values()) == MESSAGES

    second = _consumer(kafka_bootstrap, topic, group)
    try:
        assigned = _wait_for_assignment(second, POLL_DEADLINE_S)
        assert assigned == partitions
        assert {tp: second.position(tp) for tp in assigned} == end_offsets
        assert list(_poll(second, 1, 2.0)) == []

        # Not just silence: the resumed member does receive what comes after the commit.
        late = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        try:
            late.send(topic, key=b"late", value=b"after-commit").get(timeout=30)
        finally:
            late.close(timeout=10)
        assert list(_poll(second, 1, POLL_DEADLINE_S)) == [(b"late", b"after-commit")]
    finally:
        second.close()
