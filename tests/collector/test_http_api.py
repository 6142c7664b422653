"""The HTTP side: OTLP/HTTP receiver, review API, /metrics — through a real ASGI client."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.review.auth import csrf_token
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.store import Store


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    """An app over a fresh store whose review reservoir takes every call; requests carry
    the API token of reviewer "ana" (the review API needs one)."""
    pipeline = Pipeline(store, reservoir=ReviewReservoir(size=100, window_s=3600))
    token, _ = TokenRegistry(store).create("ana", "reviewer")
    with TestClient(build_app(pipeline)) as test_client:
        test_client.headers["authorization"] = f"Bearer {token}"
        test_client.pipeline = pipeline  # type: ignore[attr-defined]
        test_client.token = token  # type: ignore[attr-defined]
        yield test_client


def _post_spans(client: TestClient, n: int, *, gzipped: bool = False) -> int:
    body = protobuf_payload(answer_spans(n))
    headers = {"content-type": "application/x-protobuf"}
    if gzipped:
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    status = client.post("/v1/traces", content=body, headers=headers).status_code
    client.pipeline.flush_review()  # type: ignore[attr-defined]
    return status


def test_otlp_http_stores_calls(client: TestClient, store: Store) -> None:
    """POST /v1/traces with protobuf, plain and gzipped, stores every call."""
    assert _post_spans(client, 3) == 200
    assert _post_spans(client, 2, gzipped=True) == 200
    assert store.count_calls() == 5


def test_otlp_http_rejects_garbage_with_400(client: TestClient, store: Store) -> None:
    """Garbage gets 400 (not retried by OTLP exporters) and lands in dead letters."""
    response = client.post(
        "/v1/traces", content=b"\xff\x00garbage", headers={"content-type": "application/x-protobuf"}
    )
    assert response.status_code == 400
    assert store.dead_letter_counts() == {"bad_protobuf": 1}


def test_review_flow_list_then_label(client: TestClient) -> None:
    """Items can be listed, labelled, and then leave the queue."""
    _post_spans(client, 2)
    queues = {q["name"]: q["depth"] for q in client.get("/api/queues").json()}
    assert queues["random"] == 2
    items = client.get("/api/queues/random/items").json()
    span_id = items[0]["span_id"]
    response = client.post(
        f"/api/queues/random/items/{span_id}/label",
        json={"verdict": "pass", "scores": {"helpfulness": 5}},
    )
    assert response.status_code == 201
    remaining = client.get("/api/queues/random/items").json()
    assert [i["span_id"] for i in remaining] == [items[1]["span_id"]]
    labels = client.get("/api/queues/random/labels").json()
    assert labels[0]["Reviewer"] == "ana"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (
            "/api/queues/nope/items/0123456789abcdef/label",
            {"verdict": "pass"},
            404,
        ),
        (
            "/api/queues/random/items/0123456789abcdef/label",
            {"verdict": "pass"},
            404,
        ),
        ("/api/queues/random/items/not-hex/label", {"verdict": "pass"}, 422),
        (
            "/api/queues/random/items/0123456789abcdef/label",
            {"verdict": "meh"},
            422,
        ),
        (
            "/api/queues/random/items/0123456789abcdef/label",
            {"verdict": "pass", "scores": {"tone": 9}},
            422,
        ),
    ],
)
def test_label_input_is_validated(client: TestClient, path: str, body: dict, status: int) -> None:
    """Unknown queues and items give 404; malformed labels give 422 with a reason."""
    response = client.post(path, json=body)
    assert response.status_code == status
    assert response.json()["detail"]


def test_metrics_expose_ingest_alarms_and_queue_depth(client: TestClient) -> None:
    """/metrics carries calls ingested, detector alarms and review queue depth."""
    _post_spans(client, 3)
    text = client.get("/metrics").text
    assert 'watchkeeper_calls_ingested_total{source="otlp_http"} 3.0' in text
    assert "# TYPE watchkeeper_detector_alarms_total counter" in text
    assert 'watchkeeper_review_queue_depth{queue="random"} 3.0' in text
    assert 'watchkeeper_review_queue_depth{queue="alarms"} 0.0' in text


def test_ui_lists_queues_and_labels_through_a_form(client: TestClient) -> None:
    """After logging in, the UI's queue list shows the queue (the home is the overview) and
    a posted form labels the item."""
    _post_spans(client, 1)
    token = client.token  # type: ignore[attr-defined]
    login = client.post(
        "/login",
        content=f"token={token}&next=/",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert login.status_code == 303
    assert "Overview" in client.get("/").text
    assert "random" in client.get("/ui/queues").text
    item = client.get("/api/queues/random/items").json()[0]
    page = client.get("/ui/queues/random").text
    assert item["span_id"] in page
    response = client.post(
        f"/ui/queues/random/items/{item['span_id']}/label",
        content=f"csrf={csrf_token(token)}&verdict=fail&helpfulness=2&comment=wrong",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.get("/api/queues/random/items").json() == []
