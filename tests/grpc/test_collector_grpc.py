"""OTLP/gRPC into the collector's pipeline, sent by the official OpenTelemetry exporter."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.receivers.otlp_grpc import otlp_grpc_server
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.grpc.export import EXPORT_METHOD, TRACE_SERVICE
from watchkeeper.ingest.grpc.server import GrpcServer
from watchkeeper.ingest.settings import HttpSettings


def _serve(pipeline: Pipeline, **settings: object) -> GrpcServer:
    server = otlp_grpc_server(pipeline, HttpSettings.model_validate({"http_port": 0, **settings}))
    assert server is not None
    server.start()
    return server


@pytest.fixture
def receiver(store: Store) -> Iterator[tuple[GrpcServer, Pipeline]]:
    """The OTLP/gRPC receiver on any free loopback port, into a pipeline over ``store``."""
    pipeline = Pipeline(store)
    server = _serve(pipeline)
    yield server, pipeline
    server.stop(1.0)


def _raw_export(server: GrpcServer, payload: bytes) -> grpc.RpcError | None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        export = channel.unary_unary(f"/{TRACE_SERVICE}/{EXPORT_METHOD}")
        try:
            export(payload, timeout=10)
        except grpc.RpcError as exc:
            return exc
    return None


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_official_exporter_stores_every_call(
    receiver: tuple[GrpcServer, Pipeline], store: Store, compression: Compression
) -> None:
    """The OpenTelemetry Python OTLP/gRPC exporter, plain and gzip: every call is stored
    with its texts, and the exporter is told success only after the store confirmed."""
    server, _ = receiver
    exporter = OTLPSpanExporter(endpoint=server.endpoint, insecure=True, compression=compression)
    try:
        assert exporter.export(answer_spans(5)) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert store.count_calls() == 5
    inputs = sorted(str(row["InputText"]) for row in store.recent_calls(10))
    assert inputs[0].startswith("question number 0?")


def test_garbage_is_invalid_argument_and_a_dead_letter(
    receiver: tuple[GrpcServer, Pipeline], store: Store
) -> None:
    """A payload that is not OTLP is refused with INVALID_ARGUMENT (exporters do not retry
    it) and lands in the dead letters with its reason."""
    server, _ = receiver
    error = _raw_export(server, b"\xff\x00garbage")
    assert error is not None
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert store.dead_letter_counts() == {"bad_protobuf": 1}


def test_invalid_utf8_is_repaired_not_refused(
    receiver: tuple[GrpcServer, Pipeline], store: Store
) -> None:
    """A string with invalid UTF-8 costs neither the request nor its other spans: it is
    stored with U+FFFD in place of the bad bytes, as over OTLP/HTTP."""
    server, _ = receiver
    payload = protobuf_payload(answer_spans(3))
    marker = b"question number 1?"
    assert marker in payload
    broken = payload.replace(marker, b"question numbe\xed\xa0\x80?")  # same length
    assert _raw_export(server, broken) is None
    assert store.count_calls() == 3
    assert any("\ufffd" in str(row["InputText"]) for row in store.recent_calls(10))


def test_opentelemetry_collector_otlp_exporter_is_accepted(
    receiver: tuple[GrpcServer, Pipeline], store: Store
) -> None:
    """The real OpenTelemetry Collector's gRPC ``otlp`` exporter (grpc-go, gzip by
    default) delivers every call to the receiver."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    from tests.support.otelcol import OtelCollector, free_port

    server, _ = receiver
    otlp_port = free_port()
    config = f"""\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp_port}
exporters:
  otlp:
    endpoint: 127.0.0.1:{server.port}
    tls:
      insecure: true
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp]
"""
    with OtelCollector(config, otlp_port) as otelcol:
        exporter = HttpExporter(endpoint=f"http://127.0.0.1:{otlp_port}/v1/traces")
        try:
            assert exporter.export(answer_spans(7)) is SpanExportResult.SUCCESS
        finally:
            exporter.shutdown()
        otelcol.stop()  # flushes the exporter's queue
    assert store.count_calls() == 7
