"""The review-queues dashboard: backlog, throughput, pass rates, agreement, comments."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import table, timeseries

from watchkeeper.collector.alerting.dashboards.common import (
    DETECTOR_UID,
    REVIEW_UID,
    DashboardOptions,
    PanelBuilder,
    ch_query,
    clickhouse_variable,
    dashboard_url,
    datasource_variables,
    hidden_textbox,
    link,
    namespace_variable,
    new_dashboard,
    prom_query,
    with_panels,
)
from watchkeeper.collector.judge.grafana import judge_panels

NS = 'namespace=~"$namespace"'
QUEUE = 'queue=~"${queue:regex}"'
LABELS_FILTER = "$__timeFilter(LabelledAt) AND Queue IN (${queue:sqlstring})"


def build_review(options: DashboardOptions) -> dash.Dashboard:
    """Queue depth and flow (Prometheus), pass rates, agreement and comments (ClickHouse)."""
    board = _new_board(options)
    judges = judge_panels(first_id=8)  # ids 1-7 are this module's
    return with_panels(board, _flow_panels() + _verdict_panels() + judges + _item_panels())


def _new_board(options: DashboardOptions) -> dash.Dashboard:
    """The dashboard with its variables: data sources, namespace, queue, review UI URL."""
    board = new_dashboard(
        REVIEW_UID,
        "watchkeeper / review queues",
        "Human review of sampled and flagged calls: how much waits, how fast it is labelled, "
        "how often reviewers pass items and agree, and what they wrote.",
    )
    for variable in datasource_variables(options):
        board = board.with_variable(variable)
    return (
        board.with_variable(namespace_variable())
        .with_variable(
            # From the data: review queues are configurable (setting review_queues).
            clickhouse_variable(
                "queue", "Queue", "SELECT DISTINCT Queue FROM {db}.review_items", multi=True
            )
        )
        .with_variable(
            hidden_textbox(
                "collector_url",
                options.collector_url,
                "Base URL of the watchkeeper review UI, for links to waiting items.",
            ).label("Review UI")
        )
    )


def _flow_panels() -> list[PanelBuilder]:
    """Items waiting, and items enqueued and labelled per hour (Prometheus)."""
    return [
        timeseries.Panel()
        .id(1)
        .title("Items waiting")
        .description("Unlabelled items per queue (watchkeeper_review_queue_depth).")
        .span(8)
        .with_target(
            prom_query(
                f"max by (queue) (watchkeeper_review_queue_depth{{{NS}, {QUEUE}}})", "{{queue}}"
            )
        ),
        timeseries.Panel()
        .id(2)
        .title("Items enqueued and labelled per hour")
        .span(8)
        .with_target(
            prom_query(
                "sum by (queue) (rate(watchkeeper_review_items_enqueued_total"
                f"{{{NS}, {QUEUE}}}[$__rate_interval])) * 3600",
                "{{queue}} enqueued",
            )
        )
        .with_target(
            prom_query(
                "sum by (queue) (rate(watchkeeper_review_labels_total"
                f"{{{NS}, {QUEUE}}}[$__rate_interval])) * 3600",
                "{{queue}} labelled",
                ref_id="B",
            )
        ),
    ]


def _verdict_panels() -> list[PanelBuilder]:
    """Pass rate, reviewer agreement and rubric scores per queue."""
    return [
        timeseries.Panel()
        .id(3)
        .title("Pass rate by queue")
        .description("Share of labels with verdict pass, per interval (ClickHouse).")
        .unit("percentunit")
        .min(0)
        .max(1)
        .span(8)
        .with_target(
            ch_query(
                f"""
SELECT $__timeInterval(LabelledAt) AS time, Queue, countIf(Verdict = 'pass') / count() AS pass_rate
FROM {{db}}.review_labels FINAL
WHERE {LABELS_FILTER}
GROUP BY time, Queue
ORDER BY time
""",
                shape="timeseries",
            )
        ),
        table.Panel()
        .id(4)
        .title("Reviewer agreement")
        .description(
            "Items labelled by two reviewers or more, and the share of them where every "
            "verdict agrees."
        )
        .span(8)
        .with_target(
            ch_query(
                f"""
SELECT Queue, count() AS Items, round(avg(agree), 3) AS Agreement
FROM (
    SELECT Queue, SpanId, uniqExact(Verdict) = 1 AS agree
    FROM {{db}}.review_labels FINAL
    WHERE {LABELS_FILTER}
    GROUP BY Queue, SpanId
    HAVING uniqExact(Reviewer) >= 2
)
GROUP BY Queue
ORDER BY Queue
"""
            )
        ),
        table.Panel()
        .id(5)
        .title("Rubric scores")
        .description("Mean of each rubric dimension (1-5) per queue.")
        .span(16)
        .with_target(
            ch_query(
                f"""
SELECT Queue, k AS Dimension, round(avg(v), 2) AS Mean, count() AS Labels
FROM (SELECT Queue, Scores FROM {{db}}.review_labels FINAL WHERE {LABELS_FILTER})
ARRAY JOIN mapKeys(Scores) AS k, mapValues(Scores) AS v
GROUP BY Queue, Dimension
ORDER BY Queue, Dimension
"""
            )
        ),
    ]


def _item_panels() -> list[PanelBuilder]:
    """The oldest waiting items and the latest labels, with links to them."""
    return [
        table.Panel()
        .id(6)
        .title("Oldest waiting items")
        .description("Unlabelled items, oldest first. Click to open the queue in the review UI.")
        .span(24)
        .height(8)
        .data_links(
            [
                link(
                    "Review in the watchkeeper UI",
                    "${collector_url}/ui/queues/${__data.fields.Queue}",
                )
            ]
        )
        .with_target(
            ch_query(
                """
SELECT i.Timestamp AS Queued, i.Queue AS Queue, i.Reason AS Reason, i.Model AS Model,
       i.TraceId AS TraceId, substring(i.InputText, 1, 200) AS Input
FROM (SELECT * FROM {db}.review_items FINAL WHERE Queue IN (${queue:sqlstring})) AS i
LEFT ANTI JOIN (SELECT DISTINCT Queue, SpanId FROM {db}.review_labels FINAL) AS l
    ON i.Queue = l.Queue AND i.SpanId = l.SpanId
ORDER BY i.Timestamp
LIMIT 200
"""
            )
        ),
        table.Panel()
        .id(7)
        .title("Latest labels")
        .description("What reviewers decided and wrote. Click a row for the call in full.")
        .span(24)
        .height(10)
        .data_links(
            [
                link(
                    "Show this call",
                    dashboard_url(
                        DETECTOR_UID,
                        var_trace_id="${__data.fields.TraceId}",
                        **{"from": "${__from}", "to": "${__to}"},
                    ),
                )
            ]
        )
        .with_target(
            ch_query(
                f"""
SELECT LabelledAt, Queue, Reviewer, Verdict, toString(Scores) AS Scores, Comment,
       CorrectedAnswer, TraceId
FROM {{db}}.review_labels FINAL
WHERE {LABELS_FILTER}
ORDER BY LabelledAt DESC
LIMIT 200
"""
            )
        ),
    ]
