"""The real OpenTelemetry Collector feeds watchkeeper through Kafka.

app (OpenTelemetry SDK, OTLP/HTTP) -> Collector (OTLP receiver -> batch -> Kafka exporter
with ``partition_traces_by_id: true``) -> a real broker -> the collector's Kafka receiver
-> chDB. The Collector is built from its Go modules (tests/support/otelcol.py, cached);
the configuration here is the one docs/otel-collector.md gives users.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from tests.support.kafka_broker import create_topic
from tests.support.otelcol import OtelCollector, free_port
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.receivers.kafka import KafkaReceiver
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store

CALLS = 200
#: Text beyond ASCII and a JSON-hostile quote, so "intact" means something.
QUESTION = 'Wie hoch ist der Zugspitze-Gipfel? "ß", 東京, emoji 🛰 #{}'

CONFIG = """\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
processors:
  batch:
    timeout: 200ms
exporters:
  kafka:
    brokers: [{bootstrap}]
    traces:
      topic: {topic}
      encoding: {encoding}
    # Key each message by its trace id, so a trace stays on one partition.
    partition_traces_by_id: true
    producer:
      required_acks: -1
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [kafka]
"""


def _send(endpoint: str, run: str) -> None:
    """200 LLM call spans as an instrumentation that still writes ``gen_ai.system`` would."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"otelcol-{run}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    tracer = provider.get_tracer("interop")
    for i in range(CALLS):
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.system", "openai")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            question = f"{QUESTION} {run} {i}"
            span.set_attribute(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": question}]}]),
            )
            span.set_attribute(
                "gen_ai.output.messages",
                json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": f"A{i} ✓"}]}]
                ),
            )
    provider.shutdown()


@pytest.mark.kafka
@pytest.mark.parametrize("encoding", ["otlp_proto", "otlp_json"])
def test_collector_through_kafka_stores_every_call_once(
    kafka_bootstrap: str, tmp_path: Path, encoding: str
) -> None:
    """Every one of 200 calls is stored exactly once with its texts and its provider (read
    from ``gen_ai.system``), and each Kafka message is keyed by its trace id."""
    run = uuid.uuid4().hex[:8]
    topic = f"otelcol_{encoding}_{run}"
    create_topic(kafka_bootstrap, topic, partitions=3)
    otlp_port = free_port()
    config = CONFIG.format(
        otlp_port=otlp_port, bootstrap=kafka_bootstrap, topic=topic, encoding=encoding
    )
    with OtelCollector(config, otlp_port) as otelcol:
        _send(f"http://127.0.0.1:{otlp_port}/v1/traces", run)
        otelcol.stop()  # SIGTERM flushes the batch processor and the Kafka producer
    store = Store(ChdbBackend(tmp_path / "chdb"))
    store.migrate()
    receiver = KafkaReceiver(
        Pipeline(store), bootstrap=kafka_bootstrap, topic=topic, group=f"g-{topic}"
    )
    receiver.connect()
    try:
        deadline = time.monotonic() + 60
        while store.count_calls() < CALLS and time.monotonic() < deadline:
            receiver.poll_once(timeout_ms=500)
        for _ in range(3):  # anything beyond 200 would be a duplicate
            receiver.poll_once(timeout_ms=300)
        rows = store.select(
            "SELECT c.SpanId AS SpanId, c.Provider AS Provider, c.RequestModel AS Model, "
            "b.InputText AS InputText, b.OutputText AS OutputText "
            "FROM {db}.calls AS c JOIN (SELECT * FROM {db}.call_bodies FINAL) AS b "
            "ON c.SpanId = b.SpanId WHERE c.ServiceName = {service:String}",
            service=f"otelcol-{run}",
        )
    finally:
        receiver.stop()
        store.close()
    assert len(rows) == CALLS
    assert len({row["SpanId"] for row in rows}) == CALLS
    assert sorted(str(row["InputText"]) for row in rows) == sorted(
        f"{QUESTION} {run} {i}" for i in range(CALLS)
    )
    assert {str(row["OutputText"]) for row in rows} == {f"A{i} ✓" for i in range(CALLS)}
    assert {(row["Provider"], row["Model"]) for row in rows} == {("openai", "gpt-4o-mini")}
    _assert_keyed_by_trace_id(kafka_bootstrap, topic, encoding)


def _assert_keyed_by_trace_id(bootstrap: str, topic: str, encoding: str) -> None:
    from kafka import KafkaConsumer
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from watchkeeper.ingest.otlp.decode import decode_request

    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, consumer_timeout_ms=5000,
    )  # fmt: skip
    checked = 0
    try:
        for record in consumer:
            request: ExportTraceServiceRequest = decode_request(
                record.value, "json" if encoding == "otlp_json" else "protobuf"
            )
            trace_ids = {
                span.trace_id.hex()
                for resource in request.resource_spans
                for scope in resource.scope_spans
                for span in scope.spans
            }
            assert trace_ids == {record.key.decode()}
            checked += 1
    finally:
        consumer.close()
    assert checked == CALLS  # one trace per call, one message per trace
