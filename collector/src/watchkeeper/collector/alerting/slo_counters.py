"""The good and total counters of the quality SLOs, per objective.

``watchkeeper_slo_calls_total{slo}`` counts the stored calls an objective covers (its
service and route, with its score), ``watchkeeper_slo_good_calls_total{slo}`` those on
its good side. The ``slo`` label takes the configured objectives' names only, so routes
never become labels of their own; every objective's series exists from start (at 0), so a
rate over them is defined from the first scrape.

Reviewer pass-rate objectives need no counter here: the review workflow's
``watchkeeper_review_dimension_outcomes_total`` already counts verdicts per queue.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.settings.alerting import QualitySlo

TOTAL = "watchkeeper_slo_calls"
GOOD = "watchkeeper_slo_good_calls"


class SloCounters(Collector):
    """Counts each score objective's covered and good calls, a batch at a time."""

    def __init__(self, slos: Sequence[QualitySlo]) -> None:
        self.slos = [slo for slo in slos if slo.score is not None]
        self._counts = {slo.name: [0, 0] for slo in self.slos}  # [total, good]
        self._lock = threading.Lock()

    def observe(self, scores: BatchScores) -> None:
        """Add a stored batch's scores."""
        masks: dict[tuple[str, str], npt.NDArray[np.bool_]] = {}
        found = []
        for slo in self.slos:
            column = scores.columns.get(slo.score or "")
            if column is None:
                continue
            covered = ~np.isnan(column)
            if slo.service != "*" or slo.route != "*":
                key = (slo.service, slo.route)
                if key not in masks:
                    masks[key] = _key_mask(scores, slo.service, slo.route)
                covered &= masks[key]
            values = column[covered]
            found.append((slo.name, len(values), int(np.count_nonzero(_good(slo, values)))))
        with self._lock:
            for name, total, good in found:
                counts = self._counts[name]
                counts[0] += total
                counts[1] += good

    def counts(self) -> dict[str, tuple[int, int]]:
        """``name -> (total, good)`` so far."""
        with self._lock:
            return {name: (total, good) for name, (total, good) in self._counts.items()}

    def collect(self) -> Iterator[Metric]:
        total = CounterMetricFamily(TOTAL, "Stored calls an SLO covers, by SLO.", labels=["slo"])
        good = CounterMetricFamily(
            GOOD, "Stored calls on an SLO's good side, by SLO.", labels=["slo"]
        )
        for name, (n, n_good) in sorted(self.counts().items()):
            total.add_metric([name], n)
            good.add_metric([name], n_good)
        yield total
        yield good

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily(TOTAL, "Stored calls an SLO covers, by SLO.", labels=["slo"])
        yield CounterMetricFamily(
            GOOD, "Stored calls on an SLO's good side, by SLO.", labels=["slo"]
        )


def _key_mask(scores: BatchScores, service: str, route: str) -> npt.NDArray[np.bool_]:
    return np.fromiter(
        (
            (service in ("*", call.service_name)) and (route in ("*", call.route))
            for call in scores.calls
        ),
        dtype=bool,
        count=len(scores.calls),
    )


def _good(slo: QualitySlo, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    threshold = float(slo.threshold or 0.0)
    return values >= threshold if slo.good == "at_least" else values <= threshold
