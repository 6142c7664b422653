"""The SLO counters count what the objectives cover, and objectives the traffic cannot
decide or budgets the detectors cannot honour are reported at start and on /metrics."""

from __future__ import annotations

import doctest
import time

from tests.helm.promtool import check_metrics
from watchkeeper.collector.alerting import decidable
from watchkeeper.collector.alerting.decidable import budget_verdicts, slo_verdict
from watchkeeper.collector.alerting.install import install_alerting
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.detect import DetectorStage
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.settings.alerting import (
    DEFAULT_WINDOWS,
    AlertingSettings,
    QualitySlo,
)
from watchkeeper.collector.store.store import Store
from watchkeeper.detectors import default_detectors


def _errors(name: str, objective: float, route: str = "*") -> QualitySlo:
    """An objective on the share of calls that are not errors."""
    return QualitySlo(name=name, route=route, score="error_rate_drift.error", good="at_most",
                      threshold=0.5, objective=objective)  # fmt: skip


def test_doctests() -> None:
    """The module's example runs as written."""
    assert doctest.testmod(decidable).failed == 0


def test_an_slo_decides_once_a_long_window_holds_one_expected_bad_call() -> None:
    """A 99% objective needs 100 calls in a window: 400 calls a day give 100 per 6 hours
    (decidable on the 6h/30m pair), 399 do not; a review queue counts verdicts."""
    slo = _errors("chat", 0.99, "/chat")
    assert slo_verdict(slo, DEFAULT_WINDOWS, 400.0).decidable
    quiet = slo_verdict(slo, DEFAULT_WINDOWS, 399.0)
    assert not quiet.decidable
    assert quiet.warning is not None
    assert quiet.warning.startswith("SLO chat cannot page: route /chat saw 399 calls")
    review = QualitySlo(name="triage", review_queue="random", objective=0.9)
    verdict = slo_verdict(review, DEFAULT_WINDOWS, 20.0)
    assert verdict.warning is not None
    assert "queue random saw 20 verdicts" in verdict.warning


def test_a_budget_is_honoured_while_expected_false_alarms_fit_it() -> None:
    """13 detectors at one false alarm per 200,000 calls: 2,000 calls a day expect 0.91 a
    week (within 1), 200 calls a second expect 7,862 (one every 77 seconds)."""
    quiet, busy = budget_verdicts(1.0, {"a": 2_000.0, "b": 200 * 86_400.0}, 13, 200_000.0)
    assert (quiet.honoured, round(quiet.expected_per_week, 2)) == (True, 0.91)
    assert (busy.honoured, round(busy.expected_per_week)) == (False, 7_862)
    assert busy.warning is not None
    assert busy.warning.startswith("false-page budget of 1 a week not honoured for service b")


def _calls(start: int, n: int) -> list[CallRecord]:
    now = time.time_ns()
    return [
        CallRecord(
            trace_id=f"{i:032x}", span_id=f"{i:016x}", timestamp_ns=now + i, duration_ns=10**8,
            service_name="bot", route="/chat" if i % 2 else "/faq", request_model="m",
            input_text="what are your opening hours", output_text="nine to five",
            status_code="ERROR" if i % 10 == 1 else "UNSET",
        )
        for i in range(start, start + n)
    ]  # fmt: skip


def test_install_counts_slo_calls_and_reports_what_cannot_decide(store: Store) -> None:
    """After 100 stored calls (50 on /chat, 10 of them errors), a 99% error objective on
    /chat (100 calls per window needed; 12.5 per 6 hours seen) cannot page and says so, a
    50% one can; at fixed detector targets, a budget of 0.001 false pages a week is not
    honoured. Calls stored after
    start are counted per objective: /chat's 50 and their 40 good ones; the gauges say the
    same, and promtool accepts the exposition."""
    pipeline = Pipeline(store)
    pipeline.process_calls(_calls(0, 100))
    slos = (
        _errors("chat_errors", 0.99, "/chat"),
        _errors("chat_loose", 0.5, "/chat"),
        _errors("all_errors", 0.5),
    )
    alerting = AlertingSettings(alerting_false_pages_per_week=0.001, alerting_slos=slos)
    warnings = install_alerting(alerting, store, pipeline, fixed_calibration=True)
    assert [w.split(":")[0] for w in warnings] == [
        "SLO chat_errors cannot page",
        "false-page budget of 0.001 a week not honoured for service bot",
    ]
    pipeline.process_calls(_calls(100, 100))
    text = pipeline.metrics.exposition().decode()
    for line in (
        'watchkeeper_slo_calls_total{slo="chat_errors"} 50.0',
        'watchkeeper_slo_good_calls_total{slo="chat_errors"} 40.0',
        'watchkeeper_slo_calls_total{slo="all_errors"} 100.0',
        'watchkeeper_slo_good_calls_total{slo="all_errors"} 90.0',
        'watchkeeper_slo_decidable{slo="chat_errors"} 0.0',
        'watchkeeper_slo_decidable{slo="chat_loose"} 1.0',
        'watchkeeper_false_page_budget_honoured{service="bot"} 0.0',
    ):
        assert line in text.splitlines()
    checked = check_metrics(text.encode())
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_budget_check_counts_the_rate_paging_tests_too() -> None:
    """At fixed targets each rate detector's paging test alarms beside the detector: the
    five rate detectors of the defaults make 18 tests per key, not 13."""
    detectors = default_detectors()
    rates = [d.name for d in detectors if d.effect_kind == "rate"]
    stage = DetectorStage(detectors, prefetch=False)
    assert len(rates) == 5
    assert stage.alarming_tests == len(detectors) + 5 == 18
    stage.close()
