"""The overview dashboard: traffic, latency, cost, detector scores, alarms, pipeline health."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.builders.common import StackingConfig
from grafana_foundation_sdk.models.common import BigValueGraphMode, GraphDrawStyle, StackingMode

from watchkeeper.collector.alerting.dashboards.alerting_health import alerting_health_panels
from watchkeeper.collector.alerting.dashboards.common import (
    CALL_WEIGHT,
    DETECTOR_UID,
    OVERVIEW_UID,
    DashboardOptions,
    PanelBuilder,
    ch_annotation,
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
from watchkeeper.collector.store import queries
from watchkeeper.collector.store.versions import VERSION_CHANGES_ANNOTATION

NS = 'namespace=~"$namespace"'
CALLS_FILTER = "$__timeFilter(Timestamp) AND ServiceName IN (${service:sqlstring})"

#: Stored detector alarms as annotations (the call that completed each detection).
ALARM_ANNOTATIONS = """
SELECT toUnixTimestamp64Milli(Timestamp) AS time,
       concat(Detector, ' @ ', DetectorKey, ': ', Message) AS text,
       [Detector] AS tags
FROM {db}.alarms FINAL
WHERE $__timeFilter(Timestamp)
ORDER BY time
LIMIT 1000
"""


def alert_intervals_sql() -> str:
    """``queries.ALERT_INTERVALS`` with its parameters as the dashboard's time range.

    The collector's ``GET /api/alerts/intervals`` and the dashboards run the same text.
    """
    return (
        queries.ALERT_INTERVALS.replace("fromUnixTimestamp64Milli({to_ms:Int64})", "$__toTime_ms")
        .replace("{from_ms:Int64}", "toUnixTimestamp64Milli($__fromTime_ms)")
        .replace("{limit:UInt32}", "1000")
    )


def mean_score_by_score(selector: str) -> str:
    """PromQL: mean per-call score by score label, for scores matching ``selector``."""
    return " / ".join(
        f"sum by (score) (rate(watchkeeper_detector_score_{part}{{{NS}, {selector}}}"
        "[$__rate_interval]))"
        for part in ("sum", "count")
    )


def build_overview(options: DashboardOptions, higher_is_better: frozenset[str]) -> dash.Dashboard:
    """Traffic, latency, cost, scores over time, alarms (also as annotations), pipeline."""
    board = _new_board(options)
    board = with_panels(
        board,
        _traffic_panels() + _latency_and_cost_panels(),
        dash.Row("Traffic, latency and cost").id(100),
    )
    better = "|".join(sorted(higher_is_better))
    board = with_panels(board, _score_panels(better) + _alarm_panels(), dash.Row("Quality").id(101))
    board = with_panels(
        board, alerting_health_panels(), dash.Row("Incidents and alerting health").id(103)
    )
    return with_panels(board, _pipeline_panels(), dash.Row("Pipeline health").id(102))


def _new_board(options: DashboardOptions) -> dash.Dashboard:
    """The dashboard with its variables (data sources, namespace, service, prices) and
    its annotations (detector alarms, fired alerts)."""
    board = new_dashboard(
        OVERVIEW_UID,
        "watchkeeper / overview",
        "LLM traffic, latency, cost and quality at a glance. Alarms and fired alerts show as "
        "annotations; click an alarm to open the detector drill-down with the calls behind it.",
    )
    for variable in datasource_variables(options):
        board = board.with_variable(variable)
    return (
        board.with_variable(namespace_variable())
        .with_variable(
            clickhouse_variable(
                "service",
                "Service",
                "SELECT DISTINCT ServiceName FROM {db}.calls WHERE $__timeFilter(Timestamp)",
                multi=True,
            )
        )
        .with_variable(
            hidden_textbox(
                "price_input", "0.15", "USD per million input tokens, for the cost estimate."
            ).label("USD / M input tokens")
        )
        .with_variable(
            hidden_textbox(
                "price_output", "0.60", "USD per million output tokens, for the cost estimate."
            ).label("USD / M output tokens")
        )
        .annotation(ch_annotation("Detector alarms", ALARM_ANNOTATIONS, "orange"))
        .annotation(ch_annotation("Fired alerts", alert_intervals_sql(), "red"))
        .annotation(ch_annotation("Version changes", VERSION_CHANGES_ANNOTATION, "blue"))
    )


def _traffic_panels() -> list[PanelBuilder]:
    """Calls stored per second, calls by route, error rate by route."""
    return [
        timeseries.Panel()
        .id(1)
        .title("Calls stored per second")
        .description("LLM calls the collectors stored, by receiver (Prometheus).")
        .unit("reqps")
        .span(8)
        .with_target(
            prom_query(
                "sum by (source) "
                f"(rate(watchkeeper_calls_ingested_total{{{NS}}}[$__rate_interval]))",
                "{{source}}",
            )
        ),
        timeseries.Panel()
        .id(2)
        .title("Calls by route")
        .description("Calls per interval, re-weighted by the SDK's head-sampling rate.")
        .span(8)
        .draw_style(GraphDrawStyle.BARS)
        .stacking(StackingConfig().mode(StackingMode.NORMAL))
        .with_target(
            ch_query(
                f"""
SELECT $__timeInterval(Timestamp) AS time, Route, sum({CALL_WEIGHT}) AS calls
FROM {{db}}.calls FINAL
WHERE {CALLS_FILTER}
GROUP BY time, Route
ORDER BY time
""",
                shape="timeseries",
            )
        ),
        timeseries.Panel()
        .id(3)
        .title("Error rate by route")
        .description("Share of calls that failed (span status ERROR).")
        .unit("percentunit")
        .min(0)
        .span(8)
        .with_target(
            ch_query(
                f"""
SELECT $__timeInterval(Timestamp) AS time, Route, countIf(StatusCode = 'ERROR') / count() AS errors
FROM {{db}}.calls FINAL
WHERE {CALLS_FILTER}
GROUP BY time, Route
ORDER BY time
""",
                shape="timeseries",
            )
        ),
    ]


def _latency_and_cost_panels() -> list[PanelBuilder]:
    """Latency quantiles, tokens by model, estimated cost."""
    return [
        timeseries.Panel()
        .id(4)
        .title("Latency")
        .description("Call duration quantiles over all selected services.")
        .unit("s")
        .span(8)
        .with_target(
            ch_query(
                f"""
SELECT $__timeInterval(Timestamp) AS time,
       quantile(0.5)(Duration / 1e9) AS p50,
       quantile(0.95)(Duration / 1e9) AS p95,
       quantile(0.99)(Duration / 1e9) AS p99
FROM {{db}}.calls FINAL
WHERE {CALLS_FILTER}
GROUP BY time
ORDER BY time
""",
                shape="timeseries",
            )
        ),
        timeseries.Panel()
        .id(5)
        .title("Tokens by model")
        .description("Input and output tokens per interval, re-weighted by the sampling rate.")
        .unit("short")
        .span(8)
        .with_target(
            ch_query(
                f"""
SELECT $__timeInterval(Timestamp) AS time, ResponseModel AS model,
       sum((InputTokens + OutputTokens) * {CALL_WEIGHT}) AS tokens
FROM {{db}}.calls FINAL
WHERE {CALLS_FILTER}
GROUP BY time, model
ORDER BY time
""",
                shape="timeseries",
            )
        ),
        stat.Panel()
        .id(6)
        .title("Estimated cost")
        .description(
            "Tokens in the time range priced with the dashboard's USD-per-million-tokens "
            "variables (set them to your provider's prices)."
        )
        .unit("currencyUSD")
        .decimals(2)
        .graph_mode(BigValueGraphMode.NONE)
        .span(8)
        .with_target(
            ch_query(
                f"""
SELECT sum((InputTokens * toFloat64OrZero(${{price_input:sqlstring}})
            + OutputTokens * toFloat64OrZero(${{price_output:sqlstring}}))
           / 1e6 * {CALL_WEIGHT}) AS cost
FROM {{db}}.calls FINAL
WHERE {CALLS_FILTER}
"""
            )
        ),
    ]


def _score_panels(better: str) -> list[PanelBuilder]:
    """Mean detector scores: those better when high (``better``: their names as a regex
    alternation) apart from the rest."""
    return [
        timeseries.Panel()
        .id(7)
        .title("Grounding and consistency (higher is better)")
        .description("Mean per-call score of the detectors whose scores are better when high.")
        .unit("percentunit")
        .span(12)
        .with_target(prom_query(mean_score_by_score(f'score=~".*\\\\.({better})"'), "{{score}}")),
        timeseries.Panel()
        .id(8)
        .title("Drift, risk and operational scores (higher is worse)")
        .description("Mean per-call score of every other detector score.")
        .span(12)
        .with_target(prom_query(mean_score_by_score(f'score!~".*\\\\.({better})"'), "{{score}}")),
    ]


def _alarm_panels() -> list[PanelBuilder]:
    """Detector alarms over time, the latest alarms, fired alerts."""
    return [
        timeseries.Panel()
        .id(9)
        .title("Detector alarms")
        .description("Changes detected per interval, by detector.")
        .span(8)
        .draw_style(GraphDrawStyle.BARS)
        .with_target(
            prom_query(
                "sum by (detector) "
                f"(increase(watchkeeper_detector_alarms_total{{{NS}}}[$__rate_interval]))",
                "{{detector}}",
            )
        ),
        table.Panel()
        .id(10)
        .title("Latest alarms")
        .description(
            "Each alarm names the service|route|model whose stream changed. Click a row for the "
            "detector drill-down around it, with the calls behind the alarm."
        )
        .span(16)
        .data_links(
            [
                link(
                    "Calls behind this alarm",
                    dashboard_url(
                        DETECTOR_UID,
                        var_detector="${__data.fields.Detector}",
                        var_key="${__data.fields.DetectorKey}",
                        var_trace_id="${__data.fields.TraceId}",
                        **{"from": "${__data.fields.FromMs}", "to": "${__data.fields.ToMs}"},
                    ),
                )
            ]
        )
        .with_target(
            ch_query(
                """
SELECT Timestamp, Detector, DetectorKey, round(Score, 3) AS Score, Message, TraceId,
       toUnixTimestamp64Milli(Timestamp) - 1800000 AS FromMs,
       toUnixTimestamp64Milli(Timestamp) + 300000 AS ToMs
FROM {db}.alarms FINAL
WHERE $__timeFilter(Timestamp)
ORDER BY Timestamp DESC
LIMIT 100
"""
            )
        ),
        table.Panel()
        .id(11)
        .title("Fired alerts")
        .description(
            "Alerts Alertmanager or Grafana sent to the collector's webhook "
            "(/api/alerts/webhook), with when they resolved. Click for the alert's dashboard."
        )
        .span(24)
        .data_links([link("Open the alert's dashboard", "${__data.fields.DashboardPath}")])
        .with_target(
            ch_query(
                f"""
SELECT fromUnixTimestamp64Milli(time) AS Started,
       if(State = 'resolved', fromUnixTimestamp64Milli(timeEnd), NULL) AS Resolved,
       Alert, Level, State, Summary, DashboardPath
FROM ({alert_intervals_sql()})
ORDER BY Started DESC
"""
            )
        ),
    ]


def _pipeline_panels() -> list[PanelBuilder]:
    """Dead letters, consumer lag, batch duration, store errors, spans dropped in apps."""
    return [
        timeseries.Panel()
        .id(12)
        .title("Dead letters by reason")
        .description("Payloads and spans rejected into the dead_letters table, per second.")
        .span(8)
        .with_target(
            prom_query(
                f"sum by (reason) (rate(watchkeeper_dead_letters_total{{{NS}}}[$__rate_interval]))",
                "{{reason}}",
            )
        ),
        timeseries.Panel()
        .id(13)
        .title("Kafka consumer lag")
        .description("Messages in the collectors' partitions not yet consumed.")
        .span(8)
        .with_target(
            prom_query(
                f"sum by (topic) (watchkeeper_kafka_consumer_lag_messages{{{NS}}})", "{{topic}}"
            )
        ),
        timeseries.Panel()
        .id(14)
        .title("Batch duration (p95)")
        .description("Decode + detect + store of one batch.")
        .unit("s")
        .span(8)
        .with_target(
            prom_query(
                "histogram_quantile(0.95, sum by (le) (rate("
                f"watchkeeper_pipeline_batch_duration_seconds_bucket{{{NS}}}[$__rate_interval])))",
                "p95",
            )
        ),
        timeseries.Panel()
        .id(15)
        .title("Store errors and throttled requests")
        .description("Failed store writes (retried) and OTLP/HTTP requests answered 429.")
        .span(12)
        .with_target(
            prom_query(
                f"sum(rate(watchkeeper_store_errors_total{{{NS}}}[$__rate_interval]))",
                "store errors",
            )
        )
        .with_target(
            prom_query(
                f"sum(rate(watchkeeper_otlp_http_throttled_total{{{NS}}}[$__rate_interval]))",
                "throttled (429)",
                ref_id="B",
            )
        ),
        timeseries.Panel()
        .id(16)
        .title("Spans dropped in apps")
        .description(
            "LLM call spans the SDK dropped inside the apps (queue full), from the apps' own "
            "/metrics (README: Metrics). Empty when apps do not expose them."
        )
        .span(12)
        .with_target(
            prom_query(
                "sum by (job) "
                f"(rate(watchkeeper_sdk_spans_dropped_total{{{NS}}}[$__rate_interval]))",
                "{{job}}",
            )
        ),
    ]
