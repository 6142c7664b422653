"""Grafana-managed alerting as code: alert rules, a contact point, a notification policy.

The Prometheus rules (``dashboards/prometheus/``) page on aggregate metrics through
Alertmanager. These rules page from ClickHouse, per service, route and model (a detector
key), for teams whose on-call lives in Grafana alerting; use one set or the other for the
same signals. Every rule carries ``source=watchkeeper``; the notification policy sends
those alerts to the collector's alert history (webhook) *and* on to the on-call receiver.

Objects are the shapes of Grafana's alerting provisioning HTTP API (built with
``grafana-foundation-sdk``); :func:`rules_file` turns them into a provisioning file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders import alerting, expr
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting as alerting_model

from watchkeeper.collector.alerting.clickhouse_query import ClickHouseQueryBuilder
from watchkeeper.collector.alerting.dashboards.common import DETECTOR_UID, REVIEW_UID
from watchkeeper.collector.alerting.webhook import WEBHOOK_PATH

FOLDER_UID = "watchkeeper"
FOLDER_TITLE = "watchkeeper"
PROMETHEUS_UID = "watchkeeper-prometheus"
CLICKHOUSE_UID = "watchkeeper-clickhouse"
CONTACT_POINT_UID = "watchkeeper-alert-history"
CONTACT_POINT_NAME = "watchkeeper alert history"
RULE_GROUP = "watchkeeper-quality"
RULE_GROUP_INTERVAL_S = 60
#: Label on every watchkeeper alert rule; the notification policy matches it.
SOURCE_MATCHER = ["source", "=", "watchkeeper"]
RUNBOOKS = "https://github.com/watchkeeper/watchkeeper/blob/main/dashboards/runbooks.md"
#: Panels the rules link to (``__panelId__``): the alarms table and the review pass rate.
DETECTOR_ALARMS_PANEL = 3
DETECTOR_SCORE_PANEL = 1
REVIEW_PASS_RATE_PANEL = 3


@dataclass(frozen=True)
class AlertingOptions:
    """What differs between installations."""

    #: ClickHouse database watchkeeper writes to.
    database: str = "watchkeeper"
    #: Base URL at which Grafana reaches the collector (for the alert-history webhook).
    collector_url: str = "http://watchkeeper-collector:4318"
    #: Contact point that pages on-call (Grafana's default one unless told otherwise).
    page_receiver: str = "grafana-default-email"
    #: Bearer token (alerts role) the contact point sends to the collector. The default is
    #: Grafana's provisioning syntax for an environment variable of the Grafana server.
    alerts_token: str = "${WATCHKEEPER_ALERTS_TOKEN}"


@dataclass(frozen=True)
class RuleSpec:
    """One ClickHouse-backed rule: SQL returning label columns and one number, a threshold."""

    uid: str
    title: str
    sql: str
    lookback_s: int
    op: str
    threshold: float
    pending: str
    severity: str
    summary: str
    description: str
    dashboard_uid: str
    panel_id: int
    dashboard_path: str


def _score_baseline_sql(score: str) -> str:
    """Last 30 minutes' mean of ``score`` over the day before, per detector key."""
    detector = score.split(".", 1)[0]
    return f"""
SELECT '{detector}' AS detector, DetectorKey AS detector_key,
       avgIf(v, Timestamp >= $__toTime - INTERVAL 30 MINUTE)
         / avgIf(v, Timestamp < $__toTime - INTERVAL 30 MINUTE) AS ratio
FROM (
    SELECT Timestamp, DetectorKey, Scores['{score}'] AS v
    FROM {{db}}.call_scores FINAL
    WHERE $__timeFilter(Timestamp) AND mapContains(Scores, '{score}')
)
GROUP BY detector_key
HAVING countIf(Timestamp >= $__toTime - INTERVAL 30 MINUTE) >= 20
   AND countIf(Timestamp < $__toTime - INTERVAL 30 MINUTE) >= 20
"""


RULES: tuple[RuleSpec, ...] = (
    RuleSpec(
        uid="watchkeeper-detector-alarm",
        title="Detector alarm on a service, route and model",
        sql="""
SELECT Detector AS detector, DetectorKey AS detector_key, toFloat64(count()) AS alarms
FROM {db}.alarms FINAL
WHERE $__timeFilter(Timestamp)
GROUP BY detector, detector_key
""",
        lookback_s=1800,
        op="gt",
        threshold=0.0,
        pending="0s",
        severity="warning",
        summary="{{ $labels.detector }} detected a change on {{ $labels.detector_key }}",
        description=(
            "{{ $labels.detector }} raised an alarm in the last 30 minutes for "
            "{{ $labels.detector_key }} (service|route|model). The drill-down lists the alarm "
            "and the calls behind it, flagged call first."
        ),
        dashboard_uid=DETECTOR_UID,
        panel_id=DETECTOR_ALARMS_PANEL,
        dashboard_path=(
            f"/d/{DETECTOR_UID}/{DETECTOR_UID}?var-detector={{{{ $labels.detector }}}}"
            "&var-key={{ $labels.detector_key }}"
        ),
    ),
    RuleSpec(
        uid="watchkeeper-faithfulness-baseline",
        title="Faithfulness below its baseline on a service, route and model",
        sql=_score_baseline_sql("faithfulness_drift.faithfulness"),
        lookback_s=86_400 + 1800,
        op="lt",
        threshold=0.8,
        pending="15m",
        severity="warning",
        summary="Faithfulness on {{ $labels.detector_key }} fell over 20% below the last day",
        description=(
            "Answers of {{ $labels.detector_key }} over the last 30 minutes are much less "
            "grounded in their retrieved contexts than over the day before (at least 20 "
            "scored calls in each)."
        ),
        dashboard_uid=DETECTOR_UID,
        panel_id=DETECTOR_SCORE_PANEL,
        dashboard_path=(
            f"/d/{DETECTOR_UID}/{DETECTOR_UID}?var-detector=faithfulness_drift"
            "&var-key={{ $labels.detector_key }}"
        ),
    ),
    RuleSpec(
        uid="watchkeeper-consistency-baseline",
        title="Consistency below its baseline on a service, route and model",
        sql=_score_baseline_sql("consistency_drift.consistency"),
        lookback_s=86_400 + 1800,
        op="lt",
        threshold=0.8,
        pending="15m",
        severity="warning",
        summary="Consistency on {{ $labels.detector_key }} fell over 20% below the last day",
        description=(
            "Answers of {{ $labels.detector_key }} to repeated questions agree much less over "
            "the last 30 minutes than over the day before (at least 20 scored calls in each)."
        ),
        dashboard_uid=DETECTOR_UID,
        panel_id=DETECTOR_SCORE_PANEL,
        dashboard_path=(
            f"/d/{DETECTOR_UID}/{DETECTOR_UID}?var-detector=consistency_drift"
            "&var-key={{ $labels.detector_key }}"
        ),
    ),
    RuleSpec(
        uid="watchkeeper-review-pass-rate",
        title="Reviewer pass rate of a queue well below last week",
        sql="""
SELECT Queue AS queue,
       (countIf(Verdict = 'pass' AND recent) / countIf(recent))
         / (countIf(Verdict = 'pass' AND NOT recent) / countIf(NOT recent)) AS ratio
FROM (
    SELECT Queue, Verdict, LabelledAt >= $__toTime - INTERVAL 1 DAY AS recent
    FROM {db}.review_labels FINAL
    WHERE $__timeFilter(LabelledAt)
)
GROUP BY queue
HAVING countIf(recent) >= 10 AND countIf(NOT recent) >= 10
""",
        lookback_s=8 * 86_400,
        op="lt",
        threshold=0.8,
        pending="1h",
        severity="warning",
        summary="Reviewers pass far fewer {{ $labels.queue }} items than last week",
        description=(
            "Over the last day (at least 10 labels) reviewers passed a share of queue "
            "{{ $labels.queue }} more than 20% below their pass rate over the week before."
        ),
        dashboard_uid=REVIEW_UID,
        panel_id=REVIEW_PASS_RATE_PANEL,
        dashboard_path=f"/d/{REVIEW_UID}/{REVIEW_UID}?var-queue={{{{ $labels.queue }}}}",
    ),
)


def runbook_anchor(title_or_name: str) -> str:
    """The GitHub anchor of a runbook heading."""
    keep = (c for c in title_or_name.lower() if c.isalnum() or c in " -")
    return "".join(keep).replace(" ", "-")


def alert_rules(options: AlertingOptions) -> list[dict[str, Any]]:
    """Every rule, in the provisioning API's shape (``POST /api/v1/provisioning/alert-rules``)."""
    return [_to_json(_rule(spec, options)) for spec in RULES]


def _rule(spec: RuleSpec, options: AlertingOptions) -> alerting.Rule:
    query = ClickHouseQueryBuilder(spec.sql.strip().replace("{db}", options.database)).ref_id("A")
    threshold = (
        expr.TypeThreshold()
        .ref_id("B")
        .expression("A")
        .conditions(
            [
                expr.ExprTypeThresholdConditions().evaluator(
                    expr.ExprTypeThresholdConditionsEvaluator()
                    .type(spec.op)  # type: ignore[arg-type]
                    .params([spec.threshold])
                )
            ]
        )
    )
    return (
        alerting.Rule(spec.title)
        .uid(spec.uid)
        .org_id(1)
        .folder_uid(FOLDER_UID)
        .rule_group(RULE_GROUP)
        .condition("B")
        .with_query(
            alerting.Query("A")
            .datasource_uid(CLICKHOUSE_UID)
            .relative_time_range(alerting_model.RelativeTimeRange(from_val=spec.lookback_s, to=0))
            .model(query)
        )
        .with_query(alerting.Query("B").datasource_uid("__expr__").model(threshold))
        .for_val(spec.pending)
        # No rows means nothing to alert on (no alarms, too few calls), not missing data.
        .no_data_state("OK")
        .exec_err_state("Error")
        .is_paused(False)
        .labels(
            {"severity": spec.severity, "category": "quality", SOURCE_MATCHER[0]: "watchkeeper"}
        )
        .annotations(
            {
                "summary": spec.summary,
                "description": spec.description,
                "runbook_url": f"{RUNBOOKS}#{runbook_anchor(spec.uid)}",
                "dashboard_path": spec.dashboard_path,
                "__dashboardUid__": spec.dashboard_uid,
                "__panelId__": str(spec.panel_id),
            }
        )
    )


def contact_point(options: AlertingOptions) -> dict[str, Any]:
    """The webhook contact point that records alerts in the collector's alert history."""
    return _to_json(
        alerting.ContactPoint()
        .uid(CONTACT_POINT_UID)
        .name(CONTACT_POINT_NAME)
        .type("webhook")
        .settings(
            {
                "url": options.collector_url.rstrip("/") + WEBHOOK_PATH,
                "httpMethod": "POST",
                "authorization_scheme": "Bearer",
                "authorization_credentials": options.alerts_token,
            }
        )
        .disable_resolve_message(False)
    )


def watchkeeper_routes(page_receiver: str) -> list[dict[str, Any]]:
    """Policy routes for watchkeeper alerts: record them (and go on), then page on-call."""
    record = (
        alerting.NotificationPolicy()
        .receiver(CONTACT_POINT_NAME)
        .object_matchers([SOURCE_MATCHER])
        .continue_val(True)
    )
    page = (
        alerting.NotificationPolicy()
        .receiver(page_receiver)
        .object_matchers([SOURCE_MATCHER])
        .group_by(["alertname", "detector", "detector_key", "queue"])
    )
    return [_to_json(record), _to_json(page)]


def notification_policy(options: AlertingOptions) -> dict[str, Any]:
    """A whole policy tree: the on-call receiver at the root, watchkeeper's routes first.

    Grafana replaces the organisation's whole tree with a provisioned one; ``push`` merges
    the routes into the existing tree instead (:func:`merge_policy`).
    """
    return {
        "receiver": options.page_receiver,
        "group_by": ["grafana_folder", "alertname"],
        "routes": watchkeeper_routes(options.page_receiver),
    }


def merge_policy(tree: dict[str, Any], page_receiver: str | None = None) -> dict[str, Any]:
    """``tree`` with watchkeeper's routes first and any earlier copy of them removed.

    Pages go to ``page_receiver``, by default the tree's root receiver.
    """
    merged: dict[str, Any] = json.loads(json.dumps(tree))
    others = [
        route
        for route in merged.get("routes") or []
        if route.get("object_matchers") != [SOURCE_MATCHER]
    ]
    receiver = page_receiver or merged.get("receiver") or AlertingOptions.page_receiver
    merged["routes"] = watchkeeper_routes(receiver) + others
    return merged


def rules_file(rules: list[dict[str, Any]], options: AlertingOptions) -> dict[str, Any]:
    """The alerting provisioning file: rule group, contact point, notification policy."""
    file_rules = []
    for rule in rules:
        annotations = dict(rule["annotations"])
        entry = {
            "uid": rule["uid"],
            "title": rule["title"],
            "condition": rule["condition"],
            "data": rule["data"],
            "dashboardUid": annotations.pop("__dashboardUid__"),
            "panelId": int(annotations.pop("__panelId__")),
            "noDataState": rule["noDataState"],
            "execErrState": rule["execErrState"],
            "for": rule["for"],
            "annotations": annotations,
            "labels": rule["labels"],
            "isPaused": rule["isPaused"],
        }
        file_rules.append(entry)
    point = contact_point(options)
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": RULE_GROUP,
                "folder": FOLDER_TITLE,
                "interval": f"{RULE_GROUP_INTERVAL_S}s",
                "rules": file_rules,
            }
        ],
        "contactPoints": [
            {
                "orgId": 1,
                "name": point["name"],
                "receivers": [
                    {
                        "uid": point["uid"],
                        "type": point["type"],
                        "settings": point["settings"],
                        "disableResolveMessage": point["disableResolveMessage"],
                    }
                ],
            }
        ],
        "policies": [{"orgId": 1, **notification_policy(options)}],
    }


def _to_json(builder: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(builder.build()))
    return result
