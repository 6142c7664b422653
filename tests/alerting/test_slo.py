"""Quality SLOs generate burn-rate rules that promtool accepts and that fire on a fast
burn, stay silent on a slow one or on too few calls, and reset after recovery."""

from __future__ import annotations

import doctest
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]

from tests.helm.promtool import promtool
from watchkeeper.collector.alerting import slo as slo_module
from watchkeeper.collector.alerting.slo import QualitySlo, parse_slos, slo_rules

SLOS = [
    {"name": "chat_faithful", "route": "/chat", "score": "faithfulness_drift.faithfulness",
     "good": "at_least", "threshold": 0.5, "objective": 0.99},
    {"name": "no_pii", "score": "pii_leak.safety", "threshold": 0.5, "good": "at_most",
     "objective": 0.999},
    {"name": "triage", "review_queue": "random", "objective": 0.9},
]  # fmt: skip
RUNBOOK = slo_module.RUNBOOK
DETECTOR = "/d/watchkeeper-detector/watchkeeper-detector?var-detector="
CHAT = "0.99 of calls on route /chat score faithfulness_drift.faithfulness at least 0.5"
PII = "0.999 of calls on every route score pii_leak.safety at most 0.5"
TRIAGE = "0.9 of the random queue's verdicts pass"


def _series(name: str, labels: str, values: str) -> dict[str, str]:
    return {"series": f"{name}{{{labels}}}", "values": values}


def _calls(slo: str, ns: str, total: str, good: str) -> list[dict[str, str]]:
    labels = f'slo="{slo}", namespace="{ns}"'
    return [
        _series("watchkeeper_slo_calls_total", labels, total),
        _series("watchkeeper_slo_good_calls_total", labels, good),
    ]


def _alert(ns: str, slo: str, value: str, objective: str, **labels: str) -> dict[str, Any]:
    dashboard = labels.pop("dashboard")
    return {
        "exp_labels": {"severity": "critical", "category": "quality", "slo": slo,
                       "namespace": ns, **labels},
        "exp_annotations": {
            "summary": f"{slo}: {value} miss the objective ({objective}), burning its budget fast",
            "description": f"{ns} misses the SLO {slo} ({objective}) fast enough to spend a "
            "30-day error budget in days, over both a long and a short window.",
            "runbook_url": RUNBOOK, "dashboard_path": dashboard,
        },
    }  # fmt: skip


def test_doctests() -> None:
    """The module's example runs as written."""
    assert doctest.testmod(slo_module).failed == 0


def _scenario() -> list[dict[str, str]]:
    outcomes = "watchkeeper_review_dimension_outcomes_total"
    review = 'queue="random", dimension="verdict", namespace="support"'
    return [
        # prod: 600 calls a minute on /chat, 120 of them bad until minute 30 (20x).
        *_calls("chat_faithful", "prod", "0+600x120", "0+480x30 14400+600x90"),
        *_calls("chat_faithful", "staging", "0+600x120", "0+597x120"),  # 0.5x
        *_calls("chat_faithful", "dev", "0+1x120", "0+0.9x120"),  # 10% bad, 1 call a minute
        *_calls("no_pii", "canary", "0+600x120", "0+570x120"),  # 5% unsafe: 50x
        *_calls("no_pii", "prod", "0+1000x120", "0+997x120"),  # 0.3%: 3x
        # reviewers fail 2 of 3 items: 6.7x a 90% pass-rate objective (6h/30m pair only).
        _series(outcomes, f'{review}, outcome="pass"', "0+10x120"),
        _series(outcomes, f'{review}, outcome="fail"', "0+20x120"),
    ]


def _expected(at: str) -> list[dict[str, Any]]:
    chat = _alert("prod", "chat_faithful", "20%", CHAT, route="/chat", service="*",
                  dashboard=DETECTOR + "faithfulness_drift")  # fmt: skip
    pii = _alert("canary", "no_pii", "5%", PII, route="*", service="*",
                 dashboard=DETECTOR + "pii_leak")  # fmt: skip
    review = "/d/watchkeeper-review/watchkeeper-review?var-queue=random"
    triage = _alert("support", "triage", "66.67%", TRIAGE, dashboard=review)
    # 30 minutes after the last bad call, both of prod's pairs' short windows are clean.
    return [chat, pii, triage] if at == "10m" else [pii, triage]


def run_promtool_test(tmp_path: Path, rule_files: list[Path], tests: list[dict[str, Any]]) -> str:
    """``promtool test rules`` on ``tests`` over ``rule_files``; its output on failure."""
    spec = {"rule_files": [str(f) for f in rule_files], "evaluation_interval": "1m",
            "tests": tests}  # fmt: skip
    (tmp_path / "rules_test.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = subprocess.run([promtool(), "test", "rules", "rules_test.yml"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    return "" if result.returncode == 0 else result.stdout + result.stderr


def check_rules(path: Path) -> str:
    """``promtool check rules``; its output on failure."""
    checked = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True,
                             text=True, timeout=60, check=False)  # fmt: skip
    return "" if checked.returncode == 0 else checked.stdout + checked.stderr


def burn_rate_test() -> dict[str, Any]:
    """The scenario of :func:`test_burn_rate_rules_fire_on_fast_burns_only` as a promtool
    test (also run on the rules ``watchkeeper alerting rules`` writes)."""
    return {
        "interval": "1m",
        "input_series": _scenario(),
        "alert_rule_test": [
            {"eval_time": at, "alertname": "WatchkeeperQualitySloBurn", "exp_alerts": _expected(at)}
            for at in ("10m", "61m")
        ],
    }


def test_burn_rate_rules_fire_on_fast_burns_only(tmp_path: Path) -> None:
    """prod's /chat burns the faithfulness budget at 20x (20% bad at a 99% objective) from
    its first call and pages at once; staging at 0.5x and dev (10% bad on 1 call a minute:
    fewer calls than one bad call expected at the objective) stay silent; prod resolves
    within the 6h/30m pair's reset once bad calls stop. canary's 5% PII answers (50x a
    99.9% objective) page; prod's 0.3% (3x) does not. Reviewers failing 2 of 3 items in
    support burn a 90% pass-rate objective at 6.7x and page on the 6h/30m pair."""
    rules = tmp_path / "slo.yml"
    rules.write_text(yaml.safe_dump(slo_rules(parse_slos(SLOS)), sort_keys=False))
    assert check_rules(rules) == ""
    assert run_promtool_test(tmp_path, [rules], [burn_rate_test()]) == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x"}, "slos: must be a list of objectives"),
        ([{**SLOS[0], "objective": 1.5}], "slos[0].objective: Input should be less than 1"),
        (
            [{**SLOS[0], "threshold": None}],
            "slos[0]: Value error, score faithfulness_drift.faithfulness needs good "
            "(at_least/at_most) and threshold",
        ),
        (
            [{**SLOS[2], "route": "/chat"}],
            "slos[0]: Value error, a review_queue objective counts the queue's verdicts: "
            "drop good, threshold, route and service",
        ),
        (
            [{"name": "both", "score": "a.b", "review_queue": "q", "objective": 0.9}],
            "slos[0]: Value error, give either score (with good and threshold) or review_queue",
        ),
        ([SLOS[0], {**SLOS[1], "good": "above"}], "slos[1].good: Input should be 'at_least' "
         "or 'at_most'"),
        ([SLOS[0], SLOS[0]], "slos: names must be unique, got ['chat_faithful', 'chat_faithful']"),
    ],
    ids=["not a list", "objective", "no threshold", "review with route", "both", "good",
         "duplicate"],
)  # fmt: skip
def test_invalid_slos_name_the_key_in_one_line(data: Any, message: str) -> None:
    """A bad SLO definition is refused with the key's path and the reason, in one line."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_slos(data)


def test_min_calls_is_one_bad_call_expected_at_the_objective() -> None:
    """A 99% objective needs 100 calls in a window, a 99.9% one 1,000, a 90% one 10."""
    assert [QualitySlo.model_validate(slo).min_calls for slo in SLOS] == [100, 1000, 10]


def test_the_runbook_has_the_alerts_section() -> None:
    """The alert's runbook_url names a section of dashboards/runbooks.md."""
    runbooks = Path(__file__).resolve().parents[2] / "dashboards" / "runbooks.md"
    assert RUNBOOK.endswith("#watchkeeperqualitysloburn")
    assert "\n## WatchkeeperQualitySloBurn\n" in runbooks.read_text()
