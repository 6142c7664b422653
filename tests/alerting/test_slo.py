"""Quality SLOs generate burn-rate rules that promtool accepts and that fire on a fast
burn, stay silent on a slow one or on too few calls, and reset after recovery."""

from __future__ import annotations

import doctest
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.promtool import promtool
from watchkeeper.collector.alerting import slo as slo_module
from watchkeeper.collector.alerting.slo import QualitySlo, parse_slos, slo_rules

SLOS = [
    {"name": "faithfulness", "score": "faithfulness_drift.faithfulness", "bound": 0.5,
     "good": "above", "objective": 0.99},
    {"name": "no_pii", "score": "pii_leak.safety", "bound": 0.5, "good": "at_or_below",
     "objective": 0.999},
]  # fmt: skip
RUNBOOK = slo_module.RUNBOOK
DASHBOARD = "/d/watchkeeper-detector/watchkeeper-detector?var-detector="
FAITHFULNESS_DESCRIPTION = (
    "Calls in {ns} miss the SLO faithfulness (0.99 of calls score "
    "faithfulness_drift.faithfulness above 0.5) fast enough to spend a 30-day error budget "
    "in days, over both a long and a short window."
)


def _series(name: str, score: str, ns: str, values: str, le: str = "") -> dict[str, str]:
    bucket = f', le="{le}"' if le else ""
    return {"series": f'{name}{{score="{score}", namespace="{ns}"{bucket}}}', "values": values}


def _alert(ns: str, slo: str, summary: str, description: str, detector: str) -> dict[str, Any]:
    return {
        "exp_labels": {"severity": "critical", "category": "quality", "slo": slo,
                       "namespace": ns},
        "exp_annotations": {
            "summary": summary, "description": description, "runbook_url": RUNBOOK,
            "dashboard_path": DASHBOARD + detector,
        },
    }  # fmt: skip


def test_doctests() -> None:
    """The module's example runs as written."""
    assert doctest.testmod(slo_module).failed == 0


def test_burn_rate_rules_fire_on_fast_burns_only(tmp_path: Path) -> None:
    """prod burns the faithfulness budget at 20x (20% bad at a 99% objective) from its
    first call and pages at once (with an hour of good calls before, the 1 h window would
    take 60 x 14.4 / 20 = 43 minutes); staging at 0.5x and dev (10% bad on 1 call a
    minute: fewer calls than one bad call expected at the objective) stay silent; prod
    resolves within the 6h/30m pair's reset once bad calls stop. canary's 5% PII answers
    (50x a 99.9% objective) page; prod's 0.3% (3x) does not."""
    rules = tmp_path / "slo.yml"
    rules.write_text(yaml.safe_dump(slo_rules(parse_slos(SLOS)), sort_keys=False))
    checked = subprocess.run([promtool(), "check", "rules", str(rules)], capture_output=True,
                             text=True, timeout=60, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    count, bucket = "watchkeeper_detector_score_count", "watchkeeper_detector_score_bucket"
    faith, pii = "faithfulness_drift.faithfulness", "pii_leak.safety"
    series = [
        # prod: 600 scored calls a minute, 120 of them at or below 0.5, until minute 30.
        _series(count, faith, "prod", "0+600x120"),
        _series(bucket, faith, "prod", "0+120x30 3600x90", le="0.5"),
        _series(count, faith, "staging", "0+600x120"),
        _series(bucket, faith, "staging", "0+3x120", le="0.5"),
        _series(count, faith, "dev", "0+1x120"),
        _series(bucket, faith, "dev", "0+0.1x120", le="0.5"),
        # no_pii: bad calls score above 0.5 (the count minus the bucket at 0.5).
        _series(count, pii, "canary", "0+600x120"),
        _series(bucket, pii, "canary", "0+570x120", le="0.5"),
        _series(count, pii, "prod", "0+1000x120"),
        _series(bucket, pii, "prod", "0+997x120", le="0.5"),
    ]
    summary = (
        "faithfulness: 20% of calls miss the objective (0.99 above 0.5), burning its budget fast"
    )
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": "10m", "alertname": "WatchkeeperQualitySloBurn", "exp_alerts": [
                    _alert("prod", "faithfulness", summary,
                           FAITHFULNESS_DESCRIPTION.format(ns="prod"), "faithfulness_drift"),
                    _alert("canary", "no_pii",
                           "no_pii: 5% of calls miss the objective (0.999 at or below 0.5), "
                           "burning its budget fast",
                           "Calls in canary miss the SLO no_pii (0.999 of calls score "
                           "pii_leak.safety at or below 0.5) fast enough to spend a 30-day "
                           "error budget in days, over both a long and a short window.",
                           "pii_leak"),
                ]},
                # 30 minutes after the last bad call, both pairs' short windows are clean.
                {"eval_time": "61m", "alertname": "WatchkeeperQualitySloBurn", "exp_alerts": [
                    _alert("canary", "no_pii",
                           "no_pii: 5% of calls miss the objective (0.999 at or below 0.5), "
                           "burning its budget fast",
                           "Calls in canary miss the SLO no_pii (0.999 of calls score "
                           "pii_leak.safety at or below 0.5) fast enough to spend a 30-day "
                           "error budget in days, over both a long and a short window.",
                           "pii_leak"),
                ]},
            ],
        }],
    }  # fmt: skip
    (tmp_path / "slo_test.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run([promtool(), "test", "rules", "slo_test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, "slos: must be a list of objectives"),
        ([{**SLOS[0], "objective": 1.5}], "slos[0].objective: Input should be less than 1"),
        (
            [{**SLOS[0], "bound": 0.7}],
            "slos[0].bound: Value error, must be a bucket bound of the score histogram: "
            "[0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0]",
        ),
        (
            [SLOS[0], {**SLOS[1], "windows": [{"long": "1h", "short": "5m", "burn": 0.5}]}],
            "slos[1].windows[0].burn: Input should be greater than 1",
        ),
        ([SLOS[0], SLOS[0]], "slos: names must be unique, got ['faithfulness', 'faithfulness']"),
    ],
    ids=["not a list", "objective", "bound", "burn", "duplicate"],
)
def test_invalid_slos_name_the_key_in_one_line(data: Any, message: str) -> None:
    """A bad SLO definition is refused with the key's path and the reason, in one line."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_slos(data)


def test_min_calls_is_one_bad_call_expected_at_the_objective() -> None:
    """A 99% objective needs 100 calls in a window, a 99.9% one 1,000."""
    assert QualitySlo.model_validate(SLOS[0]).min_calls == 100
    assert QualitySlo.model_validate(SLOS[1]).min_calls == 1000


def test_the_runbook_has_the_alerts_section() -> None:
    """The alert's runbook_url names a section of dashboards/runbooks.md."""
    runbooks = Path(__file__).resolve().parents[2] / "dashboards" / "runbooks.md"
    assert RUNBOOK.endswith("#watchkeeperqualitysloburn")
    assert "\n## WatchkeeperQualitySloBurn\n" in runbooks.read_text()
