"""Alert history: the collector's Alertmanager-compatible webhook receiver.

Payloads are Alertmanager's webhook format (version 4), as Alertmanager posts it for a
firing and then a resolved group, and Grafana's webhook contact point format (version 1).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from watchkeeper.collector.alerting.webhook import WEBHOOK_PATH, alert_webhook_router
from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import Role, TokenRegistry
from watchkeeper.collector.store.backend import StoreError
from watchkeeper.collector.store.store import Store


def _rfc3339(ms: int, nanos: str = "") -> str:
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}{nanos}Z"


# Recent times: rows older than the table TTL (30 days) would be dropped on insert.
_HOUR_AGO_S = int(time.time()) // 60 * 60 - 3600
STARTS_MS = _HOUR_AGO_S * 1000 + 123
STARTS = _rfc3339(STARTS_MS, ".123456789")
ENDS_MS = STARTS_MS - 123 + 25 * 60_000
ENDS = _rfc3339(ENDS_MS)

#: What Alertmanager posts for a firing group of two alerts (webhook_configs, version 4).
FIRING: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{category="quality"}:{alertname="WatchkeeperFaithfulnessDrop"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "watchkeeper-history",
    "groupLabels": {"alertname": "WatchkeeperFaithfulnessDrop"},
    "commonLabels": {
        "alertname": "WatchkeeperFaithfulnessDrop",
        "category": "quality",
        "severity": "critical",
    },
    "commonAnnotations": {"summary": "Answers are less grounded in their retrieved contexts"},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "WatchkeeperFaithfulnessDrop",
                "category": "quality",
                "severity": "critical",
                "detector": "faithfulness_drift",
                "namespace": "prod",
            },
            "annotations": {
                "summary": "Answers are less grounded in their retrieved contexts",
                "dashboard_path": "/d/watchkeeper-detector/watchkeeper-detector"
                "?var-detector=faithfulness_drift",
            },
            "startsAt": STARTS,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
            "fingerprint": "a1b2c3d4e5f60718",
        },
        {
            "status": "firing",
            "labels": {
                "alertname": "WatchkeeperFaithfulnessDrop",
                "category": "quality",
                "severity": "critical",
                "detector": "faithfulness_drift",
                "namespace": "staging",
            },
            "annotations": {"summary": "Answers are less grounded in their retrieved contexts"},
            "startsAt": _rfc3339(STARTS_MS - 123 + 300_000),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
            "fingerprint": "0f1e2d3c4b5a6978",
        },
    ],
}


def _resolved_first() -> dict[str, Any]:
    """The same group after the prod alert resolved (Alertmanager sends both alerts)."""
    payload = copy.deepcopy(FIRING)
    payload["alerts"][0]["status"] = "resolved"
    payload["alerts"][0]["endsAt"] = ENDS
    return payload


#: What Grafana's webhook contact point posts (Alertmanager's shape plus a few fields).
GRAFANA: dict[str, Any] = {
    "receiver": "watchkeeper alert history",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "Detector alarm on a service, route and model",
                "detector": "input_length_drift",
                "detector_key": "support-bot|answer|gpt-4o-mini",
                "grafana_folder": "watchkeeper",
                "severity": "warning",
                "source": "watchkeeper",
            },
            "annotations": {"summary": "input_length_drift detected a change"},
            "startsAt": _rfc3339(STARTS_MS + 60_000),
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://grafana:3000/alerting/grafana/abc/view",
            "fingerprint": "9f8e7d6c5b4a3921",
            "silenceURL": "http://grafana:3000/alerting/silence/new",
            "dashboardURL": "http://grafana:3000/d/watchkeeper-detector",
            "panelURL": "http://grafana:3000/d/watchkeeper-detector?viewPanel=3",
            "values": {"A": 2, "B": 1},
            "valueString": "[ var='A' value=2 ]",
        }
    ],
    "groupLabels": {"alertname": "Detector alarm on a service, route and model"},
    "commonLabels": {"source": "watchkeeper"},
    "commonAnnotations": {},
    "externalURL": "http://grafana:3000/",
    "version": "1",
    "groupKey": '{}/{source="watchkeeper"}:{alertname="Detector alarm"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] Detector alarm",
    "state": "alerting",
    "message": "**Firing** ...",
}


def _app(store: Store) -> tuple[FastAPI, TokenRegistry]:
    registry = TokenRegistry(store)
    app = FastAPI()
    app.include_router(alert_webhook_router(store, Auth(registry)))
    return app, registry


def _bearer(registry: TokenRegistry, role: Role) -> dict[str, str]:
    token, _ = registry.create(f"{role.value}-bot", role)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    """The webhook router over a fresh store, through a real ASGI client, as an admin."""
    app, registry = _app(store)
    with TestClient(app, headers=_bearer(registry, Role.ADMIN)) as test_client:
        yield test_client


def test_firing_then_resolved_records_one_row_per_state_change(
    client: TestClient, store: Store
) -> None:
    """A firing notification records each alert once; the resolved one adds a resolved row
    with its end time, and the still-firing alert is not duplicated."""
    assert client.post(WEBHOOK_PATH, json=FIRING).json() == {"recorded": 2}
    assert client.post(WEBHOOK_PATH, json=_resolved_first()).json() == {"recorded": 2}
    rows = store.alert_history()
    states = sorted((r["Fingerprint"], r["Status"], r["StartsAtMs"], r["EndsAtMs"]) for r in rows)
    assert states == [
        ("0f1e2d3c4b5a6978", "firing", STARTS_MS + 300_000 - 123, None),
        ("a1b2c3d4e5f60718", "firing", STARTS_MS, None),
        ("a1b2c3d4e5f60718", "resolved", STARTS_MS, ENDS_MS),
    ]
    prod = next(r for r in rows if r["Status"] == "resolved")
    assert prod["AlertName"] == "WatchkeeperFaithfulnessDrop"
    assert prod["Severity"] == "critical"
    assert prod["Labels"]["detector"] == "faithfulness_drift"
    assert prod["Sender"] == "alertmanager"
    assert prod["Receiver"] == "watchkeeper-history"


def test_repeated_notifications_collapse(client: TestClient, store: Store) -> None:
    """Alertmanager re-sends a firing group every repeat_interval and may deliver twice:
    the history still holds one row per (fingerprint, start, status)."""
    for _ in range(3):
        assert client.post(WEBHOOK_PATH, json=FIRING).status_code == 200
    assert len(store.alert_history()) == 2


def test_alert_intervals_give_annotation_regions(client: TestClient, store: Store) -> None:
    """The dashboards' annotation query returns each episode with its start, its end once
    resolved (or now while firing), a text and tags; episodes outside the range are left
    out."""
    client.post(WEBHOOK_PATH, json=FIRING)
    client.post(WEBHOOK_PATH, json=_resolved_first())
    rows = client.get(
        "/api/alerts/intervals", params={"from": STARTS_MS - 3_600_000, "to": ENDS_MS}
    ).json()
    by_fingerprint = {r["Fingerprint"]: r for r in rows}
    prod = by_fingerprint["a1b2c3d4e5f60718"]
    assert (prod["time"], prod["timeEnd"], prod["State"]) == (STARTS_MS, ENDS_MS, "resolved")
    assert prod["text"] == (
        "WatchkeeperFaithfulnessDrop: Answers are less grounded in their retrieved contexts"
    )
    assert prod["tags"] == ["WatchkeeperFaithfulnessDrop", "critical", "resolved"]
    assert prod["DashboardPath"].startswith("/d/watchkeeper-detector/")
    staging = by_fingerprint["0f1e2d3c4b5a6978"]
    assert staging["State"] == "firing"
    assert staging["timeEnd"] > ENDS_MS  # still firing: the region runs to now
    after = client.get(
        "/api/alerts/intervals", params={"from": ENDS_MS + 60_000, "to": ENDS_MS + 120_000}
    ).json()
    assert [r["Fingerprint"] for r in after] == ["0f1e2d3c4b5a6978"]
    before = client.get("/api/alerts/intervals", params={"from": 0, "to": STARTS_MS - 1}).json()
    assert before == []


def test_grafana_contact_point_payload_is_recorded(client: TestClient, store: Store) -> None:
    """Grafana's webhook payload (version 1, extra fields) is accepted and marked as
    coming from Grafana."""
    assert client.post(WEBHOOK_PATH, json=GRAFANA).json() == {"recorded": 1}
    (row,) = store.alert_history()
    assert row["Sender"] == "grafana"
    assert row["Labels"]["detector_key"] == "support-bot|answer|gpt-4o-mini"
    assert row["EndsAtMs"] is None


def test_missing_fingerprint_is_derived_from_labels(client: TestClient, store: Store) -> None:
    """A sender that omits fingerprints still gets one stable id per label set, so its
    repeats collapse too."""
    payload = copy.deepcopy(FIRING)
    for alert in payload["alerts"]:
        del alert["fingerprint"]
    client.post(WEBHOOK_PATH, json=payload)
    client.post(WEBHOOK_PATH, json=payload)
    fingerprints = {r["Fingerprint"] for r in store.alert_history()}
    assert len(fingerprints) == 2
    assert all(len(f) == 16 for f in fingerprints)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.pop("alerts"),
        lambda p: p.update(status="pending"),
        lambda p: p["alerts"][0].update(status="unknown"),
        lambda p: p["alerts"][0].update(startsAt="yesterday"),
        lambda p: p["alerts"][0].update(startsAt="2999-01-01T00:00:00Z"),
        lambda p: p["alerts"][0].update(labels={"alertname": 7}),
    ],
    ids=["no alerts", "bad status", "bad alert status", "bad time", "far future", "bad label"],
)
def test_malformed_payloads_get_422_and_store_nothing(
    client: TestClient, store: Store, mutate: Any
) -> None:
    """A body that is not a webhook notification is refused with 422 (senders do not
    retry 4xx) and nothing of it is stored."""
    payload = copy.deepcopy(FIRING)
    mutate(payload)
    assert client.post(WEBHOOK_PATH, json=payload).status_code == 422
    assert store.alert_history() == []


def test_store_failure_answers_503_so_the_sender_retries(store: Store) -> None:
    """When the store cannot write, the receiver answers 503 (Alertmanager and Grafana
    retry 5xx), not 200."""

    class BrokenStore(Store):
        def record_alerts(self, rows: Any) -> None:
            raise StoreError("chDB: disk full")

    app, registry = _app(BrokenStore(store.backend))
    with TestClient(app, headers=_bearer(registry, Role.ALERTS)) as client:
        response = client.post(WEBHOOK_PATH, json=FIRING)
    assert response.status_code == 503
    assert "disk full" in response.json()["detail"]


@pytest.mark.parametrize(
    ("role", "post", "read"),
    [
        (None, 401, 401),
        (Role.ALERTS, 200, 403),
        (Role.VIEWER, 403, 200),
        (Role.REVIEWER, 403, 200),
        (Role.ADMIN, 200, 200),
    ],
)
def test_alert_routes_by_role(store: Store, role: Role | None, post: int, read: int) -> None:
    """Posting notifications takes the alerts role (or admin); reading the history takes
    viewer or above; no token gets 401 on every route, and an alerts token reads nothing."""
    app, registry = _app(store)
    headers = {} if role is None else _bearer(registry, role)
    with TestClient(app, headers=headers) as client:
        assert client.post(WEBHOOK_PATH, json=FIRING).status_code == post
        assert client.get("/api/alerts", params={"limit": 10}).status_code == read
        window = {"from": 0, "to": ENDS_MS}
        assert client.get("/api/alerts/intervals", params=window).status_code == read
    assert len(store.alert_history()) == (2 if post == 200 else 0)


def test_lone_surrogates_in_a_notification_are_stored_as_replacement_characters(
    client: TestClient, store: Store
) -> None:
    """JSON may carry a lone surrogate escape; the notification is stored with U+FFFD in
    its place instead of failing with 500."""
    body = (
        '{"status": "firing", "receiver": "r\\ud800", "alerts": [{"status": "firing", '
        '"labels": {"alertname": "A\\udfff"}, "annotations": {"summary": "x\\ud800y"}, '
        f'"startsAt": "{STARTS}"}}]}}'
    )
    response = client.post(WEBHOOK_PATH, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    (row,) = store.alert_history()
    assert row["AlertName"] == "A\ufffd"
    assert row["Annotations"]["summary"] == "x\ufffdy"
    assert row["Receiver"] == "r\ufffd"


def test_rejections_are_one_line_and_counted(store: Store) -> None:
    """A body that is not JSON, or JSON that is not a notification (another tool's webhook
    format), answers 422 with one line naming the problem; each rejection is counted by
    reason and each accepted notification by sender."""
    metrics = PipelineMetrics()
    registry = TokenRegistry(store)
    app = FastAPI()
    app.include_router(alert_webhook_router(store, Auth(registry), metrics))
    slack = {"text": "deploy finished", "channel": "#ops"}
    with TestClient(app, headers=_bearer(registry, Role.ALERTS)) as client:
        not_json = client.post(WEBHOOK_PATH, content=b"status=firing")
        other = client.post(WEBHOOK_PATH, json=slack)
        assert client.post(WEBHOOK_PATH, json=FIRING).status_code == 200
        assert client.post(WEBHOOK_PATH, json=GRAFANA).status_code == 200
    assert not_json.status_code == other.status_code == 422
    assert not_json.json()["detail"].startswith("body is not JSON: ")
    assert other.json()["detail"] == (
        "not an Alertmanager or Grafana webhook notification: status: Field required"
    )
    assert "\n" not in not_json.json()["detail"]
    value = metrics.registry.get_sample_value
    assert value("watchkeeper_alert_notifications_rejected_total", {"reason": "malformed"}) == 2
    assert value("watchkeeper_alert_notifications_rejected_total", {"reason": "store"}) == 0
    assert value("watchkeeper_alert_notifications_total", {"sender": "alertmanager"}) == 1
    assert value("watchkeeper_alert_notifications_total", {"sender": "grafana"}) == 1
