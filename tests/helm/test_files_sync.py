"""The chart's copies of the alert rules and dashboards match their sources in dashboards/.

Helm reads only files inside the chart, so helm/watchkeeper/files/ holds copies
(`make helm-sync` makes them). Files there without a source are the chart's own (the
sidecars' alerts and dashboard); they must not alert on what the sources alert on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.helm.chart import CHART, ROOT

RULE_SOURCES = ROOT / "dashboards" / "prometheus"
DASHBOARD_SOURCES = ROOT / "dashboards" / "grafana"


def _rule_files(directory: Path) -> list[Path]:
    """YAML files with top-level ``groups`` (rule files, not promtool test files)."""
    found = []
    for path in sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")]):
        document = yaml.safe_load(path.read_text())
        if isinstance(document, dict) and "groups" in document:
            found.append(path)
    return found


def _alerts(path: Path) -> dict[str, set[str]]:
    """Alert name -> the watchkeeper metrics its expression reads."""
    document = yaml.safe_load(path.read_text())
    return {
        rule["alert"]: set(re.findall(r"watchkeeper_[a-z0-9_]+", rule["expr"]))
        for group in document["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def test_rule_file_copies_are_byte_identical_to_their_sources() -> None:
    """Each rule file under dashboards/prometheus/ has an identical copy in the chart."""
    sources = _rule_files(RULE_SOURCES) if RULE_SOURCES.is_dir() else []
    if not sources:
        pytest.skip("dashboards/prometheus/ holds no rule files yet; the chart ships its own")
    for source in sources:
        copy = CHART / "files" / "prometheus" / source.name
        assert copy.is_file(), f"{copy} missing: run `make helm-sync`"
        assert copy.read_bytes() == source.read_bytes(), f"{copy} is stale: run `make helm-sync`"


def test_dashboard_copies_are_byte_identical_to_their_sources() -> None:
    """Each dashboard under dashboards/grafana/ has an identical copy in the chart."""
    sources = sorted(DASHBOARD_SOURCES.glob("*.json")) if DASHBOARD_SOURCES.is_dir() else []
    if not sources:
        pytest.skip("dashboards/grafana/ holds no dashboards yet; the chart ships its own")
    for source in sources:
        copy = CHART / "files" / "dashboards" / source.name
        assert copy.is_file(), f"{copy} missing: run `make helm-sync`"
        assert copy.read_bytes() == source.read_bytes(), f"{copy} is stale: run `make helm-sync`"


def test_chart_own_rules_do_not_repeat_synced_alerts() -> None:
    """An alert name is defined once across the chart's rule files, and the chart's own
    alerts read no metric the synced alerts already alert on, so the PrometheusRule
    never pages twice for one problem."""
    files = _rule_files(CHART / "files" / "prometheus")
    assert files, "the chart must ship at least its own sidecar rules"
    synced = {path.name for path in _rule_files(RULE_SOURCES)} if RULE_SOURCES.is_dir() else set()
    seen: dict[str, str] = {}
    synced_metrics: set[str] = set()
    own_metrics: dict[str, set[str]] = {}
    for path in files:
        for alert, metrics in _alerts(path).items():
            assert alert not in seen, f"{alert} is in both {seen.get(alert)} and {path.name}"
            seen[alert] = path.name
            if path.name in synced:
                synced_metrics |= metrics
            else:
                own_metrics[alert] = metrics
    assert own_metrics, "the chart's own rule file defines no alert"
    for alert, metrics in own_metrics.items():
        assert not metrics & synced_metrics, f"{alert} repeats a synced alert on {metrics}"
