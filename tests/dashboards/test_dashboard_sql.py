"""Every ClickHouse query of the dashboards and Grafana alert rules runs on chDB.

Data comes through the real pipeline (tests/dashboards/seed.py). Each query is turned into
what Grafana would send (variables interpolated, the ClickHouse plugin's macros expanded)
and must return rows; the links from an alarm must lead to the calls behind it.
"""

from __future__ import annotations

import operator
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.dashboards.grafana_sql import TimeRange, Value, clickhouse_queries, to_clickhouse
from tests.dashboards.seed import Seeded, seed
from watchkeeper.collector.alerting.dashboards import DETECTOR_UID, build_dashboards
from watchkeeper.collector.alerting.grafana_alerts import AlertingOptions, alert_rules
from watchkeeper.collector.alerting.webhook import WEBHOOK_PATH
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.store import Store

CLICKHOUSE = "grafana-clickhouse-datasource"
DASHBOARDS = build_dashboards()
_NOW = datetime.now(tz=UTC)
LAST_TWO_HOURS = TimeRange(_NOW - timedelta(hours=1), _NOW + timedelta(hours=1), 60)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Seeded]]:
    """One seeded store for the module (closed at its end: one chDB directory at a time)."""
    store = Store(ChdbBackend(Path(tmp_path_factory.mktemp("dashboards")) / "chdb"))
    store.migrate()
    try:
        yield store, seed(store)
    finally:
        store.close()


def run(store: Store, sql: str, variables: Mapping[str, Value], when: TimeRange) -> list[dict]:
    """Run dashboard SQL as Grafana would send it."""
    return store.backend.select(to_clickhouse(sql, variables, when))


def resolve_variables(
    model: dict[str, Any],
    store: Store,
    when: TimeRange,
    overrides: Mapping[str, Value] | None = None,
) -> dict[str, Value]:
    """Variable values as Grafana resolves them on load: textbox defaults, the first option
    of single-value variables, every option of "All"; ClickHouse variables from their own
    queries, in order."""
    values: dict[str, Value] = {}
    for variable in model["templating"]["list"]:
        name, kind = variable["name"], variable["type"]
        if overrides and name in overrides:
            values[name] = overrides[name]
        elif kind == "textbox":
            values[name] = variable.get("query", "")
        elif kind == "custom":
            options = [o.strip() for o in variable["query"].split(",")]
            values[name] = options if variable.get("multi") else options[0]
        elif kind == "query" and variable["datasource"]["type"] == CLICKHOUSE:
            rows = run(store, variable["query"], values, when)
            options = [str(next(iter(row.values()))) for row in rows]
            assert options, f"variable {name} has no options on the seeded data"
            values[name] = options if variable.get("multi") else options[0]
    return values


def _panel(model: dict[str, Any], panel_id: int) -> dict[str, Any]:
    return next(p for p in model["panels"] if p.get("id") == panel_id)


def _fill(url: str, fields: Mapping[str, Any], variables: Mapping[str, Value]) -> dict[str, str]:
    """A data link's URL parameters with ``${__data.fields.X}`` and ``${var}`` filled in."""
    filled = re.sub(r"\$\{__data\.fields\.(\w+)\}", lambda m: str(fields[m.group(1)]), url)
    filled = re.sub(r"\$\{(\w+)\}", lambda m: str(variables[m.group(1)]), filled)
    return {key: values[0] for key, values in parse_qs(urlsplit(filled).query).items()}


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_every_clickhouse_query_returns_rows(seeded: tuple[Store, Seeded], uid: str) -> None:
    """Every panel, annotation and variable query of the dashboard runs on chDB with the
    macros expanded and returns rows for the seeded traffic (a wrong column, table or
    filter would error or come back empty)."""
    store, facts = seeded
    model = DASHBOARDS[uid]
    variables = resolve_variables(
        model, store, LAST_TWO_HOURS, {"trace_id": facts.flagged_trace_id}
    )
    queries = list(clickhouse_queries(model))
    assert queries, "the dashboard has ClickHouse queries"
    for where, sql in queries:
        rows = run(store, sql, variables, LAST_TWO_HOURS)
        assert rows, f"{uid}{where} returned no rows"


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_data_links_name_columns_their_panel_returns(
    seeded: tuple[Store, Seeded], uid: str
) -> None:
    """Every ``${__data.fields.X}`` in a panel's data links is a column of that panel's
    query, so clicking a row fills the link."""
    store, facts = seeded
    model = DASHBOARDS[uid]
    variables = resolve_variables(
        model, store, LAST_TWO_HOURS, {"trace_id": facts.flagged_trace_id}
    )
    checked = 0
    for panel in model["panels"]:
        links = panel.get("fieldConfig", {}).get("defaults", {}).get("links", [])
        fields = {f for link in links for f in re.findall(r"__data\.fields\.(\w+)", link["url"])}
        if not fields:
            continue
        rows = run(store, panel["targets"][0]["rawSql"], variables, LAST_TWO_HOURS)
        assert fields <= set(rows[0]), f"{panel['title']}: {fields - set(rows[0])} missing"
        checked += 1
    assert checked, "the dashboard has data links"


def test_alarm_link_leads_to_the_calls_behind_it(seeded: tuple[Store, Seeded]) -> None:
    """From the drill-down's alarms table, the link sets key, trace and time range; the
    calls table then lists the call that completed the detection first (flagged), and the
    call panel shows its texts."""
    store, facts = seeded
    model = DASHBOARDS[DETECTOR_UID]
    variables = resolve_variables(model, store, LAST_TWO_HOURS)
    assert variables["detector"] == facts.detector
    alarms = run(store, _panel(model, 3)["targets"][0]["rawSql"], variables, LAST_TWO_HOURS)
    (alarm,) = [a for a in alarms if a["SpanId"] == facts.flagged_span_id]

    link = _panel(model, 3)["fieldConfig"]["defaults"]["links"][0]["url"]
    params = _fill(link, alarm, variables)
    assert urlsplit(link).path == f"/d/{DETECTOR_UID}/{DETECTOR_UID}"
    assert params["var-key"] == facts.detector_key
    assert params["var-trace_id"] == facts.flagged_trace_id
    window = TimeRange(
        datetime.fromtimestamp(int(params["from"]) / 1000, tz=UTC),
        datetime.fromtimestamp(int(params["to"]) / 1000, tz=UTC),
    )
    clicked = {**variables, "key": [params["var-key"]], "trace_id": params["var-trace_id"]}
    calls = run(store, _panel(model, 4)["targets"][0]["rawSql"], clicked, window)
    assert calls[0]["SpanId"] == facts.flagged_span_id
    assert calls[0]["Flagged"] in (1, True)
    assert not any(call["Flagged"] for call in calls[1:])
    assert len(calls) > 1, "the calls before the alarm are listed too"

    (call,) = run(store, _panel(model, 5)["targets"][0]["rawSql"], clicked, window)
    assert call["SpanId"] == facts.flagged_span_id
    assert call["Input"].startswith("question number")
    assert "input_length_drift.input_drift" in call["Scores"]


def test_fired_alerts_annotation_is_the_collector_query(seeded: tuple[Store, Seeded]) -> None:
    """The dashboards' "Fired alerts" annotation returns what the collector's
    ``/api/alerts/intervals`` returns for the same range: one SQL source."""
    store, _ = seeded
    model = DASHBOARDS["watchkeeper-overview"]
    (annotation,) = [a for a in model["annotations"]["list"] if a["name"] == "Fired alerts"]
    variables = resolve_variables(model, store, LAST_TWO_HOURS)
    from_dashboard = run(store, annotation["target"]["rawSql"], variables, LAST_TWO_HOURS)
    from_api = store.alert_intervals(LAST_TWO_HOURS.start_s * 1000, LAST_TWO_HOURS.end_s * 1000)
    strip = operator.itemgetter("time", "Alert", "State", "Fingerprint", "tags")
    assert [strip(r) for r in from_dashboard] == [strip(r) for r in from_api]
    assert from_api, "the seeded alert is in range"
    assert {"time", "timeEnd", "text", "tags"} <= set(from_dashboard[0])


# --- Grafana alert rules -------------------------------------------------------------------

_OPS = {"gt": operator.gt, "lt": operator.lt}


def _evaluate(store: Store, rule: dict[str, Any]) -> dict[tuple[tuple[str, Any], ...], bool]:
    """Run the rule's query for its time range and apply its threshold like Grafana does to
    numeric data: one series per row, labelled by the row's string columns."""
    query, threshold = rule["data"][0], rule["data"][1]["model"]
    # The range ends on a whole second ($__timeFilter compares with toDateTime): evaluate at
    # the next one, as Grafana's scheduler would some time after the data arrived; at "now"
    # a row written in the current second would fall outside (seen as a flaky failure).
    now = datetime.now(tz=UTC).replace(microsecond=0) + timedelta(seconds=1)
    when = TimeRange(now - timedelta(seconds=query["relativeTimeRange"]["from"]), now)
    rows = store.backend.select(to_clickhouse(query["model"]["rawSql"], {}, when))
    evaluator = threshold["conditions"][0]["evaluator"]
    results = {}
    for row in rows:
        labels = tuple(sorted((k, v) for k, v in row.items() if isinstance(v, str)))
        (value,) = [v for v in row.values() if not isinstance(v, str)]
        results[labels] = _OPS[evaluator["type"]](float(value), evaluator["params"][0])
    return results


def _rule(uid: str) -> dict[str, Any]:
    return next(r for r in alert_rules(AlertingOptions()) if r["uid"] == uid)


def test_detector_alarm_rule_fires_for_the_alarmed_key(seeded: tuple[Store, Seeded]) -> None:
    """The Grafana detector-alarm rule yields one firing series per alarmed detector and
    key, labelled so the alert links to the drill-down."""
    store, facts = seeded
    results = _evaluate(store, _rule("watchkeeper-detector-alarm"))
    key = (("detector", facts.detector), ("detector_key", facts.detector_key))
    assert results[key] is True
    assert all(results.values())


def _score_row(key: str, score: str, value: float, ago_s: int, n: int) -> dict[str, Any]:
    ts = time.time() - ago_s
    return {
        "Timestamp": f"{ts:.9f}",
        "TraceId": f"{n:032x}",
        "SpanId": f"{abs(hash((key, ago_s, n))) % 16**16:016x}",
        "ServiceName": key.split("|", maxsplit=1)[0],
        "Route": key.split("|")[1],
        "Model": key.split("|")[2],
        "DetectorKey": key,
        "Scores": {score: value},
    }


@pytest.mark.parametrize(
    ("uid", "score"),
    [
        ("watchkeeper-faithfulness-baseline", "faithfulness_drift.faithfulness"),
        ("watchkeeper-consistency-baseline", "consistency_drift.consistency"),
    ],
)
def test_score_baseline_rule_fires_on_a_drop_only(
    seeded: tuple[Store, Seeded], uid: str, score: str
) -> None:
    """A key whose recent mean fell from 0.9 to 0.5 fires; a steady key and a key with too
    few recent calls stay silent."""
    store, _ = seeded
    rows = []
    for key, recent_value, recent_n in (
        (f"svc|{uid}-drop|m", 0.5, 25),
        (f"svc|{uid}-steady|m", 0.88, 25),
        (f"svc|{uid}-thin|m", 0.1, 5),
    ):
        rows += [_score_row(key, score, 0.9, 3 * 3600 + i * 60, i) for i in range(30)]
        rows += [_score_row(key, score, recent_value, 60 + i * 30, i) for i in range(recent_n)]
    store.backend.insert_rows(f"{store.database}.call_scores", rows)
    fired = {dict(k)["detector_key"]: v for k, v in _evaluate(store, _rule(uid)).items()}
    assert fired == {f"svc|{uid}-drop|m": True, f"svc|{uid}-steady|m": False}


def test_review_pass_rate_rule_fires_on_a_drop_only(seeded: tuple[Store, Seeded]) -> None:
    """A queue whose pass rate over the last day fell to a third of the week before fires;
    a queue passing half its items all along stays silent."""
    store, _ = seeded
    now_ms = time.time_ns() // 1_000_000
    day_ms = 86_400_000
    for queue, old_pass, recent_pass in (("qa-drop", 18, 4), ("qa-steady", 10, 6)):
        for i in range(20):
            store.add_label(
                queue=queue,
                span_id=f"{queue}-old-{i}",
                trace_id="t",
                reviewer="ana",
                verdict="pass" if i < old_pass else "fail",
                scores={},
                at_ms=now_ms - 3 * day_ms - i * 60_000,
            )
        for i in range(12):
            store.add_label(
                queue=queue,
                span_id=f"{queue}-new-{i}",
                trace_id="t",
                reviewer="ana",
                verdict="pass" if i < recent_pass else "fail",
                scores={},
                at_ms=now_ms - 3_600_000 - i * 60_000,
            )
    fired = {
        dict(k)["queue"]: v
        for k, v in _evaluate(store, _rule("watchkeeper-review-pass-rate")).items()
    }
    assert fired == {"qa-drop": True, "qa-steady": False}


def test_webhook_path_matches_the_contact_point() -> None:
    """The Grafana contact point posts to the collector's webhook path."""
    from watchkeeper.collector.alerting.grafana_alerts import contact_point

    assert contact_point(AlertingOptions()).get("settings", {})["url"].endswith(WEBHOOK_PATH)
