"""The false-page benchmark evaluates the SLO rules in numpy, minute by minute; promtool
agrees with it on when the generated rules first fire on the same counters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml  # type: ignore[import-untyped,unused-ignore]
from bench.alerting import alert_designs as designs

from tests.alerting.test_slo import run_promtool_test
from watchkeeper.collector.alerting.slo import QualitySlo, slo_rules

MINUTES = 120
DRIFT_AT = 60


def _sums() -> dict[str, np.ndarray]:
    """600 calls a minute; 0.2% errors for an hour, then 50% (a 25x burn of 2%)."""
    calls = np.full(MINUTES, 600.0)
    errors = np.where(np.arange(MINUTES) < DRIFT_AT, 1.2, 300.0)
    return {"calls": calls, "error": errors}


def test_promtool_fires_the_generated_rule_when_the_bench_says(tmp_path: Path) -> None:
    """The bench's first firing minute for a 98% objective is when promtool's evaluation
    of the rules ``watchkeeper alerting rules`` writes first has the alert; a minute
    earlier it has none."""
    sums = _sums()
    alerts = designs.slo_firing([designs.KeyReplay(sums)], [designs.Slo("error", 0.98)], MINUTES)
    firing = designs.union(alerts, MINUTES)
    first = designs.first_from(firing, DRIFT_AT)
    assert first is not None
    fire_minute = DRIFT_AT + first - 1
    slo = QualitySlo(name="errors", score="error_rate_drift.error", good="at_most",
                     threshold=0.5, objective=0.98)  # fmt: skip
    rules = tmp_path / "slo.yml"
    rules.write_text(yaml.safe_dump(slo_rules([slo]), sort_keys=False))
    # Counters as scraped at the end of each minute: cumulative sums.
    total = np.cumsum(sums["calls"])
    good = np.cumsum(sums["calls"] - sums["error"])
    series = [
        {"series": 'watchkeeper_slo_calls_total{slo="errors", namespace="svc"}',
         "values": "0 " + " ".join(f"{v:g}" for v in total)},
        {"series": 'watchkeeper_slo_good_calls_total{slo="errors", namespace="svc"}',
         "values": "0 " + " ".join(f"{v:g}" for v in good)},
    ]  # fmt: skip
    firing_now = 'ALERTS{alertname="WatchkeeperQualitySloBurn", alertstate="firing"}'
    labels = ('{__name__="ALERTS", alertname="WatchkeeperQualitySloBurn", alertstate="firing", '
              'category="quality", namespace="svc", route="*", service="*", '
              'severity="critical", slo="errors"}')  # fmt: skip
    # Evaluated at the end of the bench's minute m is promtool's time m + 1 minutes; the
    # range selectors' edges may move the crossing by one evaluation.
    checks = [
        {"expr": firing_now, "eval_time": f"{fire_minute + 2}m",
         "exp_samples": [{"labels": labels, "value": 1}]},
        {"expr": firing_now, "eval_time": f"{fire_minute - 1}m", "exp_samples": []},
    ]  # fmt: skip
    test = {"interval": "1m", "input_series": series, "promql_expr_test": checks}
    assert run_promtool_test(tmp_path, [rules], [test]) == ""
    # The 6h/30m pair first: its 6-hour window holds only the 79 minutes there are
    # ((72 + 300 t) / (600 (60 + t)) > 6 x 2% from t = 19), the 1h/5m pair needs 35.
    assert first == 19
