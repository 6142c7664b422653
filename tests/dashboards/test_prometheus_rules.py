"""The Prometheus alert rules in dashboards/prometheus/: valid, documented, unit-tested.

`promtool test rules` runs the scenarios under dashboards/prometheus/tests/, where every
alert is shown firing when it should and silent when it should not.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.promtool import check_rules, promtool

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "dashboards" / "prometheus"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*_test.yml"))
RUNBOOKS = ROOT / "dashboards" / "runbooks.md"
RUNBOOK_BASE = "https://github.com/watchkeeper/watchkeeper/blob/main/dashboards/runbooks.md#"


def _alert_rules() -> list[dict[str, Any]]:
    rules = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend(rule for rule in group["rules"] if "alert" in rule)
    return rules


def test_rule_files_exist() -> None:
    """Both rule files and their promtool test files are where the README says."""
    assert [p.name for p in RULE_FILES] == [
        "watchkeeper-judges.yml",
        "watchkeeper-pipeline.yml",
        "watchkeeper-quality.yml",
    ]
    assert {p.name for p in TEST_FILES} >= {"pipeline_test.yml", "quality_test.yml"}


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules_passes(path: Path) -> None:
    """`promtool check rules` accepts the file: YAML shape, PromQL syntax, templates."""
    result = check_rules(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(path: Path) -> None:
    """`promtool test rules` passes: each alert fires and stays silent as the scenario says."""
    result = subprocess.run(
        [promtool(), "test", "rules", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_silent() -> None:
    """Every alert appears in the promtool tests at least once expecting alerts and once
    expecting none, so no rule ships untested in either direction."""
    firing: set[str] = set()
    silent: set[str] = set()
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    names = {rule["alert"] for rule in _alert_rules()}
    assert names - firing == set(), "alerts never tested firing"
    assert names - silent == set(), "alerts never tested silent"


def test_every_alert_has_labels_and_annotations_on_call_needs() -> None:
    """Each alert says how bad (severity), what (summary, description), what to do
    (runbook_url) and where to look (dashboard_path)."""
    for rule in _alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["labels"]["category"] in {"quality", "pipeline"}, rule["alert"]
        annotations = rule["annotations"]
        for key in ("summary", "description", "runbook_url", "dashboard_path"):
            assert annotations.get(key, "").strip(), f"{rule['alert']} lacks {key}"
        assert annotations["dashboard_path"].startswith("/d/watchkeeper-"), rule["alert"]


def test_runbook_urls_point_at_existing_runbook_sections() -> None:
    """Each runbook_url names a heading of dashboards/runbooks.md (GitHub anchor rules)."""
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
        for line in RUNBOOKS.read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in _alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOK_BASE), url
        assert url.removeprefix(RUNBOOK_BASE) in headings, f"{rule['alert']}: no section {url}"


def test_group_names_are_unique_across_repository_rule_files() -> None:
    """Group names are unique across our files and the Helm chart's own rules, since the
    chart puts every group into one PrometheusRule (duplicates are rejected)."""
    chart_rules = ROOT / "helm" / "watchkeeper" / "files" / "prometheus"
    ours = {p.name for p in RULE_FILES}
    paths = RULE_FILES + [p for p in sorted(chart_rules.glob("*.yml")) if p.name not in ours]
    seen: dict[str, str] = {}
    for path in paths:
        document = yaml.safe_load(path.read_text())
        for group in document.get("groups", []):
            assert group["name"] not in seen, f"{group['name']} in {seen.get(group['name'])}"
            seen[group["name"]] = path.name
