"""Forwarding policy against a real broker: what Kafka will never accept is dropped and
counted, and the messages around it still arrive, in order."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.sidecar.process import SidecarProcess, llm_request, span_ids


def _consume(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes]]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    out = []
    try:
        for record in consumer:
            out.append((record.key, record.value))
            if len(out) >= expected:
                break
    finally:
        consumer.close()
    return out


@pytest.mark.kafka
def test_message_the_broker_refuses_is_dropped_counted_and_the_rest_arrive(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A trace above the topic's max.message.bytes is dropped as rejected_by_broker (no
    retry can fix it); the traces before and after it in the same batch still reach
    Kafka, keyed by trace id (kafka-python fails the messages behind a refused one in
    the same producer, so the sidecar retries one by one before it drops anything)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    topic = f"sidecar_small_{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics(
            [NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "4096"})],
            wait_for_metadata=True,
        )
    finally:
        admin.close()
    run = uuid.uuid4().hex
    # One request, three traces: spooled together, so they leave in one producer batch,
    # the huge one in the middle.
    request = llm_request(run, 0, 3)
    spans = request.resource_spans[0].scope_spans[0].spans
    spans[1].attributes[3].value.string_value = "x" * 20_000  # input messages, now 20 KB
    with SidecarProcess(tmp_path / "spool", kafka_bootstrap, topic) as sidecar:
        assert sidecar.post(request.SerializeToString()).status_code == 200
        assert sidecar.wait_for("watchkeeper_sidecar_spool_records", 0, timeout_s=60)
        metrics = sidecar.metrics()
    assert metrics['watchkeeper_sidecar_dropped_total{reason="rejected_by_broker"}'] == 1
    assert metrics["watchkeeper_sidecar_forwarded_messages_total"] == 2
    received = _consume(kafka_bootstrap, topic, expected=2)
    assert [key for key, _ in received] == [
        span_ids(run, 0)[0].hex().encode(),
        span_ids(run, 2)[0].hex().encode(),
    ]
    for key, value in received:
        (spans,) = [
            s.spans
            for r in ExportTraceServiceRequest.FromString(value).resource_spans
            for s in r.scope_spans
        ]
        assert spans[0].trace_id.hex().encode() == key
