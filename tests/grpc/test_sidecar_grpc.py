"""OTLP/gRPC into a real ``watchkeeper sidecar``, sent by the official OpenTelemetry
exporter: accepted means on disk, then in Kafka."""

from __future__ import annotations

import re
import socket
import uuid
from pathlib import Path

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.collector.otlp_payloads import answer_spans
from tests.sidecar.process import SidecarProcess
from tests.sidecar.test_forwarding import _consume
from watchkeeper.ingest.grpc.export import EXPORT_METHOD, TRACE_SERVICE

_GRPC = re.compile(r"OTLP/gRPC on (http://\S+) ")


def _grpc_endpoint(sidecar: SidecarProcess) -> str:
    for line in sidecar.stderr_lines:
        match = _GRPC.search(line)
        if match:
            return match.group(1)
    raise AssertionError("the sidecar did not say where OTLP/gRPC listens")


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.kafka
def test_grpc_export_is_on_disk_when_answered_then_reaches_kafka(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """With Kafka unreachable, the gRPC exporter (gzip) is told SUCCESS for 12 calls; the
    sidecar is then SIGKILLed. A new sidecar on the same spool, with the broker, forwards
    all 12 (what SUCCESS promised was on disk), one message per trace keyed by its id.
    A garbage request is INVALID_ARGUMENT and counted."""
    topic = f"grpc_{uuid.uuid4().hex[:8]}"
    spool = tmp_path / "spool"
    spans = answer_spans(12)
    with SidecarProcess(spool, _closed_port(), topic) as first:
        endpoint = _grpc_endpoint(first)
        exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True, compression=Compression.Gzip)
        try:
            assert exporter.export(spans) is SpanExportResult.SUCCESS
        finally:
            exporter.shutdown()
        with grpc.insecure_channel(endpoint.removeprefix("http://")) as channel:
            export = channel.unary_unary(f"/{TRACE_SERVICE}/{EXPORT_METHOD}")
            with pytest.raises(grpc.RpcError) as refused:
                export(b"\xff\x00garbage", timeout=10)
        assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        counted = first.metrics()
        assert counted['watchkeeper_sidecar_requests_rejected_total{reason="bad_protobuf"}'] == 1
        assert counted["watchkeeper_sidecar_spans_received_total"] == 12
        first.kill()
    with SidecarProcess(spool, kafka_bootstrap, topic):
        messages = _consume(kafka_bootstrap, topic, 12)
    got = {}
    for key, value in messages:
        request = ExportTraceServiceRequest.FromString(value)
        for span in request.resource_spans[0].scope_spans[0].spans:
            assert key == span.trace_id.hex().encode()
            got[span.span_id] = span
    assert sorted(got) == sorted(span.context.span_id.to_bytes(8, "big") for span in spans)
