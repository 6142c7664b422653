"""The sidecar's OTLP/HTTP side: accepted means spooled; refusals say whether to retry."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.helm.promtool import check_metrics
from tests.sidecar.process import llm_request
from watchkeeper.ingest.sidecar.metrics import SidecarMetrics
from watchkeeper.ingest.sidecar.receiver import sidecar_app
from watchkeeper.ingest.sidecar.spool import Spool

PROTOBUF = {"content-type": "application/x-protobuf"}


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    """A small spool (1 MiB) in a fresh directory."""
    opened = Spool(tmp_path / "spool", max_bytes=1 << 20, segment_bytes=64 * 1024)
    yield opened
    opened.close()


@pytest.fixture
def metrics(spool: Spool) -> SidecarMetrics:
    """Sidecar metrics watching ``spool``."""
    m = SidecarMetrics()
    m.watch_spool(spool)
    return m


@pytest.fixture
def client(spool: Spool, metrics: SidecarMetrics) -> Iterator[TestClient]:
    """The sidecar app over ``spool``, no Kafka."""
    with TestClient(sidecar_app(spool, metrics)) as test_client:
        yield test_client


def _rejected(metrics: SidecarMetrics, reason: str) -> float | None:
    return metrics.registry.get_sample_value(
        "watchkeeper_sidecar_requests_rejected_total", {"reason": reason}
    )


def _spooled(spool: Spool) -> list[tuple[bytes, ExportTraceServiceRequest]]:
    entries = spool.read(max_records=10_000, max_bytes=1 << 30)
    return [(e.key, ExportTraceServiceRequest.FromString(e.value)) for e in entries]


def test_protobuf_request_is_spooled_as_one_message_per_trace(
    client: TestClient, spool: Spool, metrics: SidecarMetrics
) -> None:
    """A 200 means every span is in the spool, split per trace and keyed by trace id."""
    request = llm_request("recv", 0, 6, per_trace=2)
    response = client.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    spooled = _spooled(spool)
    assert len(spooled) == 3
    for key, message in spooled:
        spans = message.resource_spans[0].scope_spans[0].spans
        assert len(spans) == 2
        assert {span.trace_id.hex().encode() for span in spans} == {key}
    assert metrics.registry.get_sample_value("watchkeeper_sidecar_spans_received_total") == 6


def test_json_and_gzip_are_accepted_and_leave_as_protobuf(client: TestClient, spool: Spool) -> None:
    """OTLP/JSON (hex ids) and gzipped protobuf both arrive; the spool holds protobuf."""
    request = llm_request("recv-json", 0, 1)
    document = json_format.MessageToDict(request)
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span_proto = request.resource_spans[0].scope_spans[0].spans[0]
    span["traceId"], span["spanId"] = span_proto.trace_id.hex(), span_proto.span_id.hex()
    response = client.post(
        "/v1/traces", content=json.dumps(document), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {}
    gzipped = llm_request("recv-gzip", 0, 1)
    response = client.post(
        "/v1/traces",
        content=gzip.compress(gzipped.SerializeToString()),
        headers={**PROTOBUF, "content-encoding": "gzip"},
    )
    assert response.status_code == 200
    (json_key, from_json), (_, from_gzip) = _spooled(spool)
    assert from_json == request
    assert json_key == span_proto.trace_id.hex().encode()
    assert from_gzip == gzipped


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"\xff\xfe not protobuf", PROTOBUF, "bad_protobuf"),
        (b"{not json", {"content-type": "application/json"}, "bad_json"),
        (b"not gzip", {**PROTOBUF, "content-encoding": "gzip"}, "bad_gzip"),
        (b"", PROTOBUF, "empty"),
    ],
)
def test_bad_payloads_get_400_are_counted_and_spool_nothing(
    client: TestClient, metrics: SidecarMetrics, body: bytes, headers: dict[str, str], reason: str
) -> None:
    """Garbage is refused at the edge (400: the client must not retry) and counted."""
    response = client.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == 400
    assert client.get("/healthz").json()["spool_records"] == 0
    assert _rejected(metrics, reason) == 1


def test_full_spool_answers_503_with_retry_after_until_it_drains(
    client: TestClient, spool: Spool, metrics: SidecarMetrics
) -> None:
    """Spool full: 503 + Retry-After (OTLP clients retry), nothing partial; then 200 again."""
    request = llm_request("full", 0, 200).SerializeToString()  # about 60 KB
    statuses = []
    for _ in range(30):
        statuses.append(client.post("/v1/traces", content=request, headers=PROTOBUF).status_code)
        if statuses[-1] != 200:
            break
    assert statuses[-1] == 503
    assert set(statuses[:-1]) == {200}
    refused = client.post("/v1/traces", content=request, headers=PROTOBUF)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert spool.pending_records == 200 * (len(statuses) - 1)
    assert _rejected(metrics, "spool_full") == 2
    while entries := spool.read():  # what the forwarder does once Kafka is back
        spool.commit(entries)
    assert client.post("/v1/traces", content=request, headers=PROTOBUF).status_code == 200


def test_healthz_is_ok_while_kafka_is_away(client: TestClient) -> None:
    """Health does not depend on Kafka (the app's pod must stay ready); it reports it."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["kafka"] == "disconnected"


def test_metrics_pass_promtool_and_show_the_spool(client: TestClient) -> None:
    """/metrics passes `promtool check metrics` and exposes the spool gauges."""
    client.post("/v1/traces", content=llm_request("m", 0, 3).SerializeToString(), headers=PROTOBUF)
    body = client.get("/metrics").content
    result = check_metrics(body)
    assert result.returncode == 0, result.stdout + result.stderr
    text = body.decode()
    assert "watchkeeper_sidecar_spool_records 3.0" in text
    assert "watchkeeper_sidecar_spool_limit_bytes 1.048576e+06" in text
    assert 'watchkeeper_sidecar_requests_rejected_total{reason="spool_full"} 0.0' in text
