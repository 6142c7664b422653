"""What alerting adds to a running collector: the SLOs' counters, and the checks of
objectives and budgets against the traffic (a warning at start, gauges on ``/metrics``).

    watchkeeper_slo_decidable{slo}                  1 when the last day's traffic lets the
                                                    SLO's alert decide, else 0
    watchkeeper_false_page_budget_honoured{service} 1 when the detectors' expected false
                                                    alarms a week fit the budget, else 0
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

from watchkeeper.collector.alerting.budget import CURRENT_ARL
from watchkeeper.collector.alerting.decidable import (
    BudgetVerdict,
    SloVerdict,
    budget_verdicts,
    slo_verdict,
)
from watchkeeper.collector.alerting.slo_counters import SloCounters
from watchkeeper.collector.pipeline import Pipeline, PreparedBatch
from watchkeeper.collector.settings.alerting import AlertingSettings, QualitySlo
from watchkeeper.collector.store.monitoring import KeyFilter, MonitoringStore
from watchkeeper.collector.store.store import Store

log = logging.getLogger("watchkeeper.collector")
#: How often the gauges re-read the last day's traffic.
CHECK_TTL_S = 300.0


class CountSlos:
    """A store stage: counts a stored batch's calls for the SLOs (after the write, so a
    batch the store refused is not counted)."""

    def __init__(self, counters: SloCounters) -> None:
        self.counters = counters

    def __call__(self, prepared: PreparedBatch) -> None:
        self.counters.observe(prepared.batch.scores)


@dataclass
class TrafficCheck:
    """The SLOs and the budget against the store's last day of traffic. With detectors
    calibrated to the budget (``detector_calibration = budget``) the budget holds by
    construction; at fixed targets, each service's expected false alarms are checked."""

    alerting: AlertingSettings
    store: Store
    #: tests per key that may alarm (``DetectorStage.alarming_tests``)
    detectors: int
    fixed_calibration: bool = False

    def _calls_by_key(self) -> list[tuple[str, str, float]]:
        now = int(time.time())
        rows = MonitoringStore(self.store).traffic_by_key(
            now - 86_400, now, KeyFilter(), limit=10_000, step_s=3600
        )
        return [(str(r["ServiceName"]), str(r["Route"]), float(r["Stored"])) for r in rows]

    def _slo_calls(self, slo: QualitySlo, keys: list[tuple[str, str, float]]) -> float:
        if slo.review_queue is not None:
            now_ms = time.time_ns() // 1_000_000
            return float(
                len(self.store.labels_since([slo.review_queue], now_ms - 86_400_000, now_ms))
            )
        return sum(
            n
            for service, route, n in keys
            if slo.service in ("*", service) and slo.route in ("*", route)
        )

    def verdicts(self) -> tuple[list[SloVerdict], list[BudgetVerdict]]:
        """Every SLO's and every service's verdict now."""
        keys = self._calls_by_key()
        slos = [
            slo_verdict(slo, self.alerting.windows, self._slo_calls(slo, keys))
            for slo in self.alerting.slos
        ]
        by_service: defaultdict[str, float] = defaultdict(float)
        for service, _, n in keys:
            by_service[service] += n
        pages = self.alerting.false_pages_per_week
        if not self.fixed_calibration:
            return slos, [BudgetVerdict(s, pages, True, None) for s in sorted(by_service)]
        return slos, budget_verdicts(pages, by_service, self.detectors, CURRENT_ARL)


def install_alerting(
    alerting: AlertingSettings, store: Store, pipeline: Pipeline, *, fixed_calibration: bool
) -> list[str]:
    """Count the SLOs' calls in ``pipeline``, expose the checks' gauges, and return the
    start-time warnings (also logged, one line each). ``fixed_calibration``: the
    detectors keep fixed false-alarm targets (``detector_calibration = fixed``)."""
    counters = SloCounters(alerting.slos)
    metrics = pipeline.metrics
    metrics.registry.register(counters)
    pipeline.store_stages = (*pipeline.store_stages, CountSlos(counters))
    check = TrafficCheck(alerting, store, pipeline.detect.alarming_tests, fixed_calibration)
    metrics.watch_gauge(
        "watchkeeper_slo_decidable",
        "1 when the last day's traffic lets the SLO's burn-rate alert decide, else 0.",
        ["slo"],
        lambda: {(v.slo,): float(v.decidable) for v in check.verdicts()[0]},
        ttl_s=CHECK_TTL_S,
    )
    metrics.watch_gauge(
        "watchkeeper_false_page_budget_honoured",
        "1 when the detectors' expected false alarms a week fit the false-page budget, by "
        "service, else 0.",
        ["service"],
        lambda: {(v.service,): float(v.honoured) for v in check.verdicts()[1]},
        ttl_s=CHECK_TTL_S,
    )
    try:
        slos, budgets = check.verdicts()
    except Exception:  # a store hiccup at start must not stop the collector
        log.exception("could not check the SLOs and the false-page budget against traffic")
        return []
    lines = [v.warning for v in slos] + [v.warning for v in budgets]
    warnings = [line for line in lines if line is not None]
    for line in warnings:
        log.warning("%s", line)
    return warnings
