"""Seed a chDB store through the real pipeline so every dashboard panel has rows to show.

Calls come from the SDK (OTLP protobuf) through ``Pipeline.process``; two scripted
detectors stand in for the real ones so alarms happen on a known call. Review labels and
alert history go through the store's own methods, as the review API and the webhook do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.alerting.webhook import WebhookPayload, alert_rows
from watchkeeper.collector.incidents.baseline import BaselineResets
from watchkeeper.collector.incidents.tracker import IncidentTracker
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.review.queues import default_queues
from watchkeeper.collector.store.incidents import IncidentStore
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import CallView, Detector

CALLS = 40
ALARM_AT = 15


class ScriptedDetector(Detector):
    """Scores each call ``base + n / 100`` and alarms on call number ``alarm_at``."""

    def __init__(self, name: str, score_name: str, alarm_at: int, base: float) -> None:
        self.name = name
        self.score_name = score_name
        self.alarm_at = alarm_at
        self.base = base
        self._n = 0
        self._scores: dict[str, float] = {}

    def update(self, call: CallView) -> None:
        """Count the call, score it, alarm on the scripted one."""
        self._n += 1
        self._scores = {self.score_name: self.base + self._n / 100}

    @property
    def scores(self) -> Mapping[str, float]:
        """The last call's score."""
        return self._scores

    @property
    def drift_detected(self) -> bool:
        """True on call number ``alarm_at``."""
        return self._n == self.alarm_at

    def _params(self) -> dict[str, object]:
        return {
            "name": self.name,
            "score_name": self.score_name,
            "alarm_at": self.alarm_at,
            "base": self.base,
        }


@dataclass(frozen=True)
class Seeded:
    """What the seed wrote that tests look for."""

    detector: str
    flagged_span_id: str
    flagged_trace_id: str
    detector_key: str


def seed(store: Store) -> Seeded:
    """Calls, scores, one alarm per detector, review items and labels, alert history."""
    names = {"input_length_drift", "faithfulness_drift"}
    # The built-in queues whose rules name only the detectors this seed runs.
    queues = {
        name: queue
        for name, queue in default_queues().items()
        if all(
            (rule.alarm in (None, "*") or rule.alarm in names)
            and (rule.score is None or rule.score.split(".", 1)[0] in names)
            for rule in queue.when
        )
    }
    pipeline = Pipeline(
        store,
        detectors=[
            ScriptedDetector("input_length_drift", "input_drift", ALARM_AT, 0.1),
            ScriptedDetector("faithfulness_drift", "faithfulness", ALARM_AT + 5, 0.5),
        ],
        router=ReviewRouter(queues),
    )
    # The alarms group into an incident, as a running collector's do.
    tracker = IncidentTracker(IncidentStore(store), BaselineResets(lambda: pipeline.detect))
    pipeline.store_stages = (*pipeline.store_stages, tracker)
    spans = answer_spans(CALLS, fail_every=7)
    pipeline.process([Payload(protobuf_payload(spans), "otlp_http")])
    pipeline.flush_review()
    alarm = next(a for a in store.alarms() if a["Detector"] == "input_length_drift")

    items = [item for queue in store.queue_depths() for item in store.pending_items(queue, 100)]
    assert len(items) >= 3, "the seed needs review items in the queues"
    for index, item in enumerate(items[:-1]):  # the last one stays waiting
        for reviewer in ("ana", "ben") if index == 0 else ("ana",):
            store.add_label(
                queue=item["Queue"],
                span_id=item["SpanId"],
                trace_id=item["TraceId"],
                reviewer=reviewer,
                verdict="pass" if index % 2 else "fail",
                scores={"helpfulness": 2 + index % 3, "tone": 4},
                comment=f"label {index}",
            )

    now_ms = time.time_ns() // 1_000_000
    store.record_alerts(alert_rows(_notification(alarm, now_ms), now_ms))
    return Seeded(
        detector="input_length_drift",
        flagged_span_id=alarm["SpanId"],
        flagged_trace_id=alarm["TraceId"],
        detector_key=alarm["DetectorKey"],
    )


def _notification(alarm: dict[str, Any], now_ms: int) -> WebhookPayload:
    """A Grafana notification for the alarm, as the detector-alarm rule would send."""
    starts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_ms // 1000 - 120))
    return WebhookPayload.model_validate(
        {
            "version": "1",
            "orgId": 1,
            "status": "firing",
            "receiver": "watchkeeper alert history",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "Detector alarm on a service, route and model",
                        "detector": alarm["Detector"],
                        "detector_key": alarm["DetectorKey"],
                        "severity": "warning",
                    },
                    "annotations": {
                        "summary": "input_length_drift detected a change",
                        "dashboard_path": "/d/watchkeeper-detector/watchkeeper-detector",
                    },
                    "startsAt": starts,
                    "fingerprint": "seeded0000000001",
                }
            ],
        }
    )
