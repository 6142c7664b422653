"""The committed Grafana files: generated from code, consistent, PromQL valid for promtool.

dashboards/grafana/ is the output of `watchkeeper grafana export dashboards/grafana` with
default options; the dashboards are built in code with grafana-foundation-sdk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.helm.promtool import check_rules
from watchkeeper.collector.alerting.dashboards import build_dashboards, detector_names
from watchkeeper.collector.alerting.export import GrafanaOptions, export

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "dashboards" / "grafana"
REGENERATE = "run `watchkeeper grafana export dashboards/grafana` and commit the result"


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_committed_files_are_the_export_output(tmp_path: Path) -> None:
    """`grafana export` with defaults reproduces dashboards/grafana/ byte for byte, so the
    committed JSON never drifts from the code (e.g. after a detector is added)."""
    export(tmp_path, GrafanaOptions())
    fresh, committed = _files(tmp_path), _files(COMMITTED)
    assert sorted(fresh) == sorted(committed), REGENERATE
    for name, content in fresh.items():
        assert committed[name] == content, f"dashboards/grafana/{name} is stale: {REGENERATE}"


def test_dashboards_have_unique_panel_ids_and_data_sources() -> None:
    """Panel ids are unique per dashboard (alert rules and links address them), and every
    panel and query names a data source through the dashboard's variables."""
    for uid, model in build_dashboards().items():
        ids = [panel["id"] for panel in model["panels"]]
        assert len(ids) == len(set(ids)), uid
        for panel in model["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] in ("${prometheus}", "${clickhouse}"), panel
            for target in panel["targets"]:
                assert target["datasource"]["uid"] in ("${prometheus}", "${clickhouse}")


def test_detector_variable_lists_every_default_detector() -> None:
    """The drill-down offers every detector the collector runs by default."""
    model = build_dashboards()["watchkeeper-detector"]
    (variable,) = [v for v in model["templating"]["list"] if v["name"] == "detector"]
    assert variable["query"].split(",") == detector_names()


def _prometheus_expressions(model: Any) -> list[str]:
    found = []
    if isinstance(model, dict):
        source = model.get("datasource") or {}
        if source.get("type") == "prometheus":
            if "expr" in model:
                found.append(model["expr"])
            query = model.get("query")
            if isinstance(query, str) and query.startswith("label_values("):
                found.append(query.removeprefix("label_values(").split(",")[0])
        for value in model.values():
            found += _prometheus_expressions(value)
    elif isinstance(model, list):
        for value in model:
            found += _prometheus_expressions(value)
    return found


def _as_promql(expression: str) -> str:
    """Grafana's variables replaced by values of the right kind."""
    for variable, value in {
        "$__rate_interval": "5m",
        "$__interval": "1m",
        "${queue:regex}": ".*",
        "$namespace": ".*",
        "$score": "faithfulness_drift.faithfulness",
    }.items():
        expression = expression.replace(variable, value)
    assert "$" not in expression, expression
    return expression


def test_every_promql_expression_passes_promtool(tmp_path: Path) -> None:
    """Each PromQL expression of the dashboards parses for Prometheus' own promtool (run
    as recording rules through `promtool check rules`)."""
    expressions = [
        _as_promql(e)
        for model in build_dashboards().values()
        for e in _prometheus_expressions(model)
    ]
    assert len(expressions) >= 15
    rules = [
        {"record": f"dashboard:expression_{i}:check", "expr": e} for i, e in enumerate(expressions)
    ]
    path = tmp_path / "dashboard_expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = check_rules(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerting_file_references_resolve() -> None:
    """The alerting provisioning file's rules query provisioned data sources, link to
    panels that exist, evaluate their condition, and carry no `$` in labels (Grafana
    expands environment variables there)."""
    alerting = yaml.safe_load(
        (COMMITTED / "provisioning" / "alerting" / "watchkeeper.yaml").read_text()
    )
    sources = yaml.safe_load(
        (COMMITTED / "provisioning" / "datasources" / "watchkeeper.yaml").read_text()
    )
    source_uids = {s["uid"] for s in sources["datasources"]} | {"__expr__"}
    boards = {p.stem: json.loads(p.read_text()) for p in COMMITTED.glob("*.json")}
    (group,) = alerting["groups"]
    assert group["rules"], "rules exist"
    for rule in group["rules"]:
        assert {q["datasourceUid"] for q in rule["data"]} <= source_uids, rule["uid"]
        assert rule["condition"] in {q["refId"] for q in rule["data"]}, rule["uid"]
        panel_ids = {p["id"] for p in boards[rule["dashboardUid"]]["panels"]}
        assert rule["panelId"] in panel_ids, rule["uid"]
        assert not any("$" in v for v in rule["labels"].values()), rule["uid"]
        for key in ("summary", "description", "runbook_url", "dashboard_path"):
            assert rule["annotations"][key], f"{rule['uid']} lacks {key}"
    receivers = {point["name"] for point in alerting["contactPoints"]}
    (policy,) = alerting["policies"]
    routed = {route["receiver"] for route in policy["routes"]}
    assert "watchkeeper alert history" in receivers & routed


def test_dashboard_paths_in_alerts_name_existing_dashboards() -> None:
    """Every `dashboard_path` annotation (Prometheus and Grafana rules) opens a dashboard
    that exists, with variables it defines."""
    boards = build_dashboards()
    paths = []
    for rule_file in (ROOT / "dashboards" / "prometheus").glob("*.yml"):
        for group in yaml.safe_load(rule_file.read_text())["groups"]:
            paths += [r["annotations"]["dashboard_path"] for r in group["rules"] if "alert" in r]
    alerting = yaml.safe_load(
        (COMMITTED / "provisioning" / "alerting" / "watchkeeper.yaml").read_text()
    )
    paths += [r["annotations"]["dashboard_path"] for r in alerting["groups"][0]["rules"]]
    for path in paths:
        match = re.match(r"^/d/([\w-]+)/[\w-]+(?:\?(.*))?$", path)
        assert match, path
        model = boards[match.group(1)]
        names = {v["name"] for v in model["templating"]["list"]}
        for param in (match.group(2) or "").split("&"):
            if param:
                assert param.split("=")[0].removeprefix("var-") in names, path
