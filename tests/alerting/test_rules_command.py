"""``watchkeeper alerting rules`` writes the SLO and budget rules of the settings; promtool
accepts them and they page as specified; a bad SLO stops it in one line naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.alerting.test_slo import burn_rate_test, check_rules, run_promtool_test
from watchkeeper.collector.settings import load_settings

CONFIG = """
[watchkeeper]
alerting_false_pages_per_week = 2

[[watchkeeper.alerting_slos]]
name = "chat_faithful"
route = "/chat"
score = "faithfulness_drift.faithfulness"
good = "at_least"
threshold = 0.5
objective = 0.99

[[watchkeeper.alerting_slos]]
name = "no_pii"
score = "pii_leak.safety"
good = "at_most"
threshold = 0.5
objective = 0.999

[[watchkeeper.alerting_slos]]
name = "triage"
review_queue = "random"
objective = 0.9
"""
RUNBOOK_BASE = "https://github.com/watchkeeper/watchkeeper/blob/main/dashboards/runbooks.md"


def _watchkeeper(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from watchkeeper.ingest.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_settings_read_slos_from_toml_and_environment(tmp_path: Path) -> None:
    """The TOML array of tables and the JSON of WATCHKEEPER_ALERTING_SLOS give the same
    objectives; the defaults are one false page a week and the workbook's windows."""
    config = tmp_path / "watchkeeper.toml"
    config.write_text(CONFIG)
    from_file = load_settings(config, environ={}).alerting
    env = {"WATCHKEEPER_ALERTING_SLOS": '[{"name": "triage", "review_queue": "random", '
           '"objective": 0.9}]'}  # fmt: skip
    assert from_file.false_pages_per_week == 2
    assert [s.name for s in from_file.slos] == ["chat_faithful", "no_pii", "triage"]
    assert load_settings(environ=env).alerting.slos == from_file.slos[2:]
    default = load_settings(environ={}).alerting
    assert default.false_pages_per_week == 1
    assert [(w.long, w.short, w.burn) for w in default.windows] == [
        ("1h", "5m", 14.4), ("6h", "30m", 6.0)]  # fmt: skip


def test_the_command_writes_rules_that_page_as_specified(tmp_path: Path) -> None:
    """The written SLO file passes promtool's check and the burn-rate scenario of
    test_slo; the budget file's ticket fires where paging alarms of the last 7 days
    exceed the budget (2 a week), and not where tickets do."""
    config = tmp_path / "watchkeeper.toml"
    config.write_text(CONFIG)
    out = tmp_path / "rules"
    done = _watchkeeper("--config", str(config), "alerting", "rules", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "3 SLOs" in done.stderr
    slos, budgets = out / "watchkeeper-slos.yml", out / "watchkeeper-budgets.yml"
    assert check_rules(slos) == ""
    assert check_rules(budgets) == ""
    assert run_promtool_test(tmp_path, [slos], [burn_rate_test()]) == ""
    assert run_promtool_test(tmp_path, [budgets], [_budget_test()]) == ""


def _budget_test() -> dict[str, object]:
    # busy: a paging alarm a minute; quiet: one paging alarm and a ticket a minute.
    alarms = "watchkeeper_detector_alarms_total"
    series = [
        {"series": f'{alarms}{{namespace="busy", detector="latency_drift", severity="page"}}',
         "values": "0+1x180"},
        {"series": f'{alarms}{{namespace="quiet", detector="latency_drift", severity="page"}}',
         "values": "0x100 1x80"},
        {"series": f'{alarms}{{namespace="quiet", detector="latency_drift", '
                   'severity="ticket"}', "values": "0+1x180"},
    ]  # fmt: skip
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [{
            "eval_time": "170m", "alertname": "WatchkeeperFalsePageBudgetExceeded",
            "exp_alerts": [{"exp_labels": {"severity": "warning", "category": "budget",
                                           "namespace": "busy"},
                            "exp_annotations": {
                "summary": "busy: 170 paging alarms in 7 days, over the budget of 2 a week",
                "description": "The detectors of busy raised more alarms of severity page in "
                "the last 7 days than its false-page budget (2 a week): check the incidents "
                "of the week; if most were noise, use detector_calibration = budget or raise "
                "alerting_false_pages_per_week.",
                "runbook_url": RUNBOOK_BASE + "#watchkeeperfalsepagebudgetexceeded"}}],
        }],
    }  # fmt: skip


def test_a_bad_slo_stops_the_command_in_one_line(tmp_path: Path) -> None:
    """An objective of 1.5 exits 2 with one line naming alerting_slos.0.objective."""
    config = tmp_path / "bad.toml"
    config.write_text(CONFIG.replace("objective = 0.99\n", "objective = 1.5\n", 1))
    done = _watchkeeper("--config", str(config), "alerting", "rules", "-o", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"watchkeeper: error: invalid setting 'alerting_slos.0.objective' (from {config}): "
        "Input should be less than 1"
    ]
    assert not (tmp_path / "watchkeeper-slos.yml").exists()
