"""Alert history: an Alertmanager-compatible webhook receiver that records alerts.

Alertmanager's ``webhook_configs`` (payload version 4) and Grafana's webhook contact point
(the same shape plus a few fields) post here; every alert of a notification becomes one
``alert_history`` row per state change. Repeated notifications (``repeat_interval``, a
retried delivery) carry the same fingerprint, start and status, and collapse into one row.
A store failure answers 503, which both senders retry; a body that is not a notification
answers 422, which they do not, with the first problem in one line. Both rejections are
counted in ``watchkeeper_alert_notifications_rejected_total`` by reason, accepted
notifications in ``watchkeeper_alert_notifications_total`` by sender.

Both routes need a bearer token: posting takes the ``alerts`` role (or admin), made for the
senders' configuration (Alertmanager's ``http_config.authorization``, Grafana's webhook
``authorization_credentials``); reading the history takes viewer or above. Text is made
valid (lone surrogates become U+FFFD) before it is stored.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from watchkeeper.collector.metrics import PipelineMetrics
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import Role
from watchkeeper.collector.store.backend import StoreError
from watchkeeper.collector.store.store import Store
from watchkeeper.ingest.text_repair import repair_strings

#: Path Alertmanager and Grafana post to (``/api/alerts/webhook`` under the collector URL).
WEBHOOK_PATH = "/api/alerts/webhook"
#: Alerts accepted in one notification; Alertmanager's ``max_alerts`` bounds it at the source.
MAX_ALERTS = 10_000
#: Senders put a zero time (Go's 0001-01-01) in ``endsAt`` of alerts still firing.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: ClickHouse's DateTime64 ends in 2299; a start beyond is a broken sender, not an alert.
_LATEST_START = datetime(2262, 1, 1, tzinfo=UTC)


class WebhookAlert(BaseModel):
    """One alert of a notification, as Alertmanager and Grafana send it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(None, alias="endsAt")
    generator_url: str = Field("", alias="generatorURL")
    fingerprint: str = ""

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, moment: datetime | None) -> datetime | None:
        # RFC 3339 always carries an offset; a naive time is read as UTC.
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment

    @field_validator("starts_at")
    @classmethod
    def _storable(cls, moment: datetime) -> datetime:
        if not _EPOCH <= moment < _LATEST_START:
            raise ValueError("startsAt must be between 1970 and 2262")
        return moment


class WebhookPayload(BaseModel):
    """A notification: Alertmanager's webhook payload (version 4) or Grafana's (version 1)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    version: str = ""
    group_key: str = Field("", alias="groupKey")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL")
    alerts: list[WebhookAlert] = Field(max_length=MAX_ALERTS)
    #: Only Grafana sends it; tells the two senders apart.
    org_id: int | None = Field(None, alias="orgId")

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: Any) -> Any:
        # A lone surrogate (JSON allows "\ud800") would make the row unstorable: 500.
        return repair_strings(data)


def alert_rows(payload: WebhookPayload, received_ms: int) -> list[dict[str, Any]]:
    """The ``alert_history`` rows of one notification (one per alert)."""
    sender = "grafana" if payload.org_id is not None else "alertmanager"
    rows = []
    for alert in payload.alerts:
        ends = alert.ends_at if alert.status == "resolved" else None
        if ends is not None and not _EPOCH < ends < _LATEST_START:
            ends = None
        rows.append(
            {
                "StartsAt": _ch_ms(_epoch_ms(alert.starts_at)),
                "Fingerprint": alert.fingerprint or label_fingerprint(alert.labels),
                "Status": alert.status,
                "EndsAt": None if ends is None else _ch_ms(_epoch_ms(ends)),
                "AlertName": alert.labels.get("alertname", ""),
                "Severity": alert.labels.get("severity", ""),
                "Labels": alert.labels,
                "Annotations": alert.annotations,
                "GeneratorURL": alert.generator_url,
                "Receiver": payload.receiver,
                "GroupKey": payload.group_key,
                "ExternalURL": payload.external_url,
                "Sender": sender,
                "ReceivedAt": _ch_ms(received_ms),
            }
        )
    return rows


def label_fingerprint(labels: dict[str, str]) -> str:
    """A stable id for a label set, for senders that omit ``fingerprint``.

    Alertmanager's own fingerprint is also a hash of the label set, so an alert keeps its
    identity across notifications either way.
    """
    text = "\xff".join(f"{k}\xfe{v}" for k, v in sorted(labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_notification(body: bytes) -> WebhookPayload:
    """The notification in ``body``; :class:`ValueError` with one line saying what is wrong.

    Parsed by the standard library first: it keeps lone surrogates, which the model then
    repairs, where a stricter JSON parser would refuse the whole body.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise ValueError(
            f"not an Alertmanager or Grafana webhook notification: {where}: {error['msg']}"
        ) from None


class _WebhookCounters:
    """Accepted and rejected notifications; no-ops without a registry (tests of the router)."""

    def __init__(self, metrics: PipelineMetrics | None) -> None:
        registry = None if metrics is None else metrics.registry
        self.accepted = Counter(
            "watchkeeper_alert_notifications_total",
            "Alert notifications recorded by the alert webhook, by sender: alertmanager, grafana.",
            ["sender"],
            registry=registry,
        )
        self.rejected = Counter(
            "watchkeeper_alert_notifications_rejected_total",
            "Alert notifications the alert webhook refused, by reason: malformed (not "
            "Alertmanager's or Grafana's format, 422), store (history not stored, 503).",
            ["reason"],
            registry=registry,
        )
        for reason in ("malformed", "store"):
            self.rejected.labels(reason)


def alert_webhook_router(
    store: Store, auth: Auth, metrics: PipelineMetrics | None = None
) -> APIRouter:
    """``POST /api/alerts/webhook`` (record) and ``GET /api/alerts`` (read the history)."""
    router = APIRouter(prefix="/api/alerts", tags=["alerts"])
    reader = [Depends(auth.api(Role.VIEWER))]
    counters = _WebhookCounters(metrics)

    @router.post(
        "/webhook",
        summary="Record an Alertmanager or Grafana webhook notification",
        responses={
            422: {"description": "not a notification; the sender does not retry"},
            503: {"description": "the store is unavailable; the sender retries"},
        },
        dependencies=[Depends(auth.api(Role.ALERTS))],
        openapi_extra={"requestBody": _REQUEST_BODY},
    )
    async def receive(request: Request) -> dict[str, int]:
        try:
            payload = parse_notification(await request.body())
        except ValueError as exc:
            counters.rejected.labels("malformed").inc()
            raise HTTPException(422, str(exc)) from None
        rows = alert_rows(payload, time.time_ns() // 1_000_000)
        try:
            await run_in_threadpool(store.record_alerts, rows)
        except StoreError as exc:
            counters.rejected.labels("store").inc()
            raise HTTPException(503, f"alert history not stored: {exc}") from None
        counters.accepted.labels("grafana" if payload.org_id is not None else "alertmanager").inc()
        return {"recorded": len(rows)}

    @router.get("", summary="Recorded alert state changes, newest first", dependencies=reader)
    def history(limit: int = Query(100, ge=1, le=10_000)) -> list[dict[str, Any]]:
        return store.alert_history(limit)

    @router.get(
        "/intervals",
        summary="Alert episodes overlapping a time range (epoch ms)",
        dependencies=reader,
    )
    def intervals(
        from_ms: int = Query(..., alias="from", ge=0),
        to_ms: int = Query(..., alias="to", ge=0),
        limit: int = Query(1000, ge=1, le=10_000),
    ) -> list[dict[str, Any]]:
        return store.alert_intervals(from_ms, to_ms, limit)

    return router


_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "Alertmanager's webhook payload (version 4) or Grafana's "
                "webhook contact point payload (version 1)",
                "required": ["status", "alerts"],
            }
        }
    },
}


def _epoch_ms(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _ch_ms(ms: int) -> str:
    """Epoch ms as a ``DateTime64(3)`` literal; numeric, so the server's zone never applies."""
    seconds, millis = divmod(ms, 1000)
    return f"{seconds}.{millis:03d}"
