"""The per-detector drill-down: from an alarm to the calls behind it, and to one call."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import table, timeseries
from grafana_foundation_sdk.models.common import TableCellHeight
from grafana_foundation_sdk.models.dashboard import VariableHide

from watchkeeper.collector.alerting.dashboards.common import (
    DETECTOR_UID,
    DashboardOptions,
    PanelBuilder,
    ch_annotation,
    ch_query,
    clickhouse_variable,
    custom_variable,
    dashboard_url,
    datasource_variables,
    hidden_textbox,
    link,
    namespace_variable,
    new_dashboard,
    prom_query,
    with_panels,
)
from watchkeeper.collector.alerting.dashboards.overview import alert_intervals_sql

#: Calls of the selected keys with the selected score, joined with whether this detector
#: flagged them and with their texts (kept for a sample, every flagged call and errors).
CALLS_BEHIND = """
SELECT s.Timestamp AS Time, s.DetectorKey AS DetectorKey, round(s.Score, 4) AS Score,
       a.SpanId != '' AS Flagged, s.TraceId AS TraceId, s.SpanId AS SpanId,
       b.KeepReason AS KeptBecause, substring(b.InputText, 1, 300) AS Input,
       substring(b.OutputText, 1, 300) AS Output
FROM (
    SELECT Timestamp, TraceId, SpanId, DetectorKey, Scores[${score:sqlstring}] AS Score
    FROM {db}.call_scores FINAL
    WHERE $__timeFilter(Timestamp) AND DetectorKey IN (${key:sqlstring})
      AND mapContains(Scores, ${score:sqlstring})
) AS s
LEFT JOIN (
    SELECT DISTINCT SpanId FROM {db}.alarms FINAL
    WHERE $__timeFilter(Timestamp) AND Detector = ${detector:sqlstring}
) AS a ON s.SpanId = a.SpanId
LEFT JOIN (
    SELECT SpanId, KeepReason, InputText, OutputText FROM {db}.call_bodies FINAL
    WHERE $__timeFilter(Timestamp)
) AS b ON s.SpanId = b.SpanId
ORDER BY Flagged DESC,
         if(${higher_is_better:sqlstring} = 'yes', s.Score, -s.Score) ASC,
         Time DESC
LIMIT 500
"""

#: One trace's calls with texts, contexts and every score (set by the links above).
CALL_DETAIL = """
SELECT c.Timestamp AS Time, c.SpanId AS SpanId, c.ServiceName AS Service, c.Route AS Route,
       c.ResponseModel AS Model, c.Duration / 1e9 AS Seconds, c.StatusCode AS Status,
       b.InputText AS Input, b.OutputText AS Output,
       arrayStringConcat(b.Contexts, '\\n---\\n') AS Contexts,
       toString(s.Scores) AS Scores
FROM (SELECT * FROM {db}.calls FINAL WHERE TraceId = ${trace_id:sqlstring}) AS c
LEFT JOIN (
    SELECT SpanId, InputText, OutputText, Contexts FROM {db}.call_bodies FINAL
    WHERE TraceId = ${trace_id:sqlstring}
) AS b ON c.SpanId = b.SpanId
LEFT JOIN (
    SELECT SpanId, Scores FROM {db}.call_scores FINAL WHERE TraceId = ${trace_id:sqlstring}
) AS s ON c.SpanId = s.SpanId
ORDER BY c.Timestamp
"""


def build_detector(
    options: DashboardOptions, detectors: list[str], higher_is_better: frozenset[str]
) -> dash.Dashboard:
    """Score by key, the detector's alarms, the calls behind them, one call in full."""
    board = _new_board(options, detectors, higher_is_better)
    return with_panels(board, _score_panels() + _drill_down_panels() + _alert_panels())


def _new_board(
    options: DashboardOptions, detectors: list[str], higher_is_better: frozenset[str]
) -> dash.Dashboard:
    """The dashboard with its variables (data sources, namespace, detector, score, key,
    direction, trace) and annotations (this detector's alarms, fired alerts)."""
    board = new_dashboard(
        DETECTOR_UID,
        "watchkeeper / detector",
        "One detector across services, routes and models: its score by key, its alarms, and "
        "the calls behind an alarm (flagged call first, then the worst scores). Links from "
        "alarms and alerts land here with the detector, key and time range set.",
    )
    for variable in datasource_variables(options):
        board = board.with_variable(variable)
    better = sorted(higher_is_better)
    return (
        board.with_variable(namespace_variable())
        .with_variable(custom_variable("detector", "Detector", detectors, multi=False))
        .with_variable(
            clickhouse_variable(
                "score",
                "Score",
                """
SELECT DISTINCT k FROM (
    SELECT arrayJoin(mapKeys(Scores)) AS k FROM {db}.call_scores
    WHERE $__timeFilter(Timestamp)
) WHERE startsWith(k, concat(${detector:sqlstring}, '.'))
""",
                multi=False,
            )
        )
        .with_variable(
            clickhouse_variable(
                "key",
                "Service | route | model",
                "SELECT DISTINCT DetectorKey FROM {db}.call_scores WHERE $__timeFilter(Timestamp)",
                multi=True,
            )
        )
        .with_variable(
            clickhouse_variable(
                "higher_is_better",
                "Higher is better",
                # Orders the calls worst first whichever way the score points.
                "SELECT if(splitByChar('.', ${score:sqlstring})[2] IN ("
                + ", ".join(f"'{name}'" for name in better)
                + "), 'yes', 'no')",
                multi=False,
            ).hide(VariableHide.HIDE_VARIABLE)
        )
        .with_variable(
            hidden_textbox(
                "trace_id", "", "Trace whose calls the bottom panel shows (set by links)."
            ).label("Trace id")
        )
        .annotation(
            ch_annotation(
                "Alarms of this detector",
                """
SELECT toUnixTimestamp64Milli(Timestamp) AS time,
       concat(DetectorKey, ': ', Message) AS text, [DetectorKey] AS tags
FROM {db}.alarms FINAL
WHERE $__timeFilter(Timestamp) AND Detector = ${detector:sqlstring}
ORDER BY time
LIMIT 1000
""",
                "orange",
            )
        )
        .annotation(ch_annotation("Fired alerts", alert_intervals_sql(), "red"))
    )


def _score_panels() -> list[PanelBuilder]:
    """The score by key (ClickHouse) and over every collector (Prometheus)."""
    return [
        timeseries.Panel()
        .id(1)
        .title("${score} by service | route | model")
        .description("Mean per-call score per interval and detector key (ClickHouse).")
        .span(16)
        .with_target(
            ch_query(
                """
SELECT $__timeInterval(Timestamp) AS time, DetectorKey, avg(Scores[${score:sqlstring}]) AS score
FROM {db}.call_scores FINAL
WHERE $__timeFilter(Timestamp) AND DetectorKey IN (${key:sqlstring})
  AND mapContains(Scores, ${score:sqlstring})
GROUP BY time, DetectorKey
ORDER BY time
""",
                shape="timeseries",
            )
        ),
        timeseries.Panel()
        .id(2)
        .title("${score}, all keys (Prometheus)")
        .description("Mean per-call score over every collector, from watchkeeper_detector_score.")
        .span(8)
        .with_target(
            prom_query(
                'sum(rate(watchkeeper_detector_score_sum{namespace=~"$namespace", score="$score"}'
                "[$__rate_interval])) / sum(rate(watchkeeper_detector_score_count"
                '{namespace=~"$namespace", score="$score"}[$__rate_interval]))',
                "$score",
            )
        ),
    ]


def _drill_down_panels() -> list[PanelBuilder]:
    """The detector's alarms, the calls behind them, one call in full."""
    return [
        table.Panel()
        .id(3)
        .title("Alarms of ${detector}")
        .description(
            "Click a row to show the calls of that key from 30 minutes before the alarm to 5 "
            "after, and the call that completed the detection at the bottom."
        )
        .span(24)
        .height(8)
        .data_links(
            [
                link(
                    "Calls behind this alarm",
                    dashboard_url(
                        DETECTOR_UID,
                        var_detector="${detector}",
                        var_score="${score}",
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
SELECT Timestamp, DetectorKey, round(Score, 4) AS Score, Message, TraceId, SpanId,
       toUnixTimestamp64Milli(Timestamp) - 1800000 AS FromMs,
       toUnixTimestamp64Milli(Timestamp) + 300000 AS ToMs
FROM {db}.alarms FINAL
WHERE $__timeFilter(Timestamp) AND Detector = ${detector:sqlstring}
  AND DetectorKey IN (${key:sqlstring})
ORDER BY Timestamp DESC
LIMIT 200
"""
            )
        ),
        table.Panel()
        .id(4)
        .title("Calls behind the alarms: flagged first, then worst ${score}")
        .description(
            "Calls of the selected keys in the time range with their score. Texts are stored "
            "for a sample plus every flagged or failed call. Click a row for the full call."
        )
        .span(24)
        .height(12)
        .cell_height(TableCellHeight.SM)
        .data_links(
            [
                link(
                    "Show this call",
                    dashboard_url(
                        DETECTOR_UID,
                        var_detector="${detector}",
                        var_score="${score}",
                        var_key="${key}",
                        var_trace_id="${__data.fields.TraceId}",
                        **{"from": "${__from}", "to": "${__to}"},
                    ),
                )
            ]
        )
        .with_target(ch_query(CALLS_BEHIND)),
        table.Panel()
        .id(5)
        .title("Call ${trace_id}")
        .description("Every call of the selected trace: texts, retrieved contexts, all scores.")
        .span(24)
        .height(10)
        .cell_height(TableCellHeight.LG)
        .with_target(ch_query(CALL_DETAIL)),
    ]


def _alert_panels() -> list[PanelBuilder]:
    """Alerts the collector's webhook recorded for this detector."""
    return [
        table.Panel()
        .id(6)
        .title("Fired alerts")
        .description("Alerts recorded by the collector's webhook (Alertmanager and Grafana).")
        .span(24)
        .height(8)
        .data_links([link("Open the alert's dashboard", "${__data.fields.DashboardPath}")])
        .with_target(
            ch_query(
                f"""
SELECT fromUnixTimestamp64Milli(time) AS Started,
       if(State = 'resolved', fromUnixTimestamp64Milli(timeEnd), NULL) AS Resolved,
       Alert, Level, State, AlertLabels['detector_key'] AS DetectorKey, Summary, DashboardPath
FROM ({alert_intervals_sql()})
WHERE AlertLabels['detector'] = ${{detector:sqlstring}}
ORDER BY Started DESC
"""
            )
        ),
    ]
