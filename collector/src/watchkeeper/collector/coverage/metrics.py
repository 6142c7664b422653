"""``watchkeeper_evalset_coverage``: the share of a route's recent inputs the evalsets cover.

Computed at scrape time by the function :func:`install_coverage` sets, cached for
``ttl_s``; the family is always exposed, empty while no evalset is configured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

NAME = "watchkeeper_evalset_coverage"
HELP = (
    "Share (0 to 1) of a route's inputs over the last 24 hours that are like some case of "
    "the evalsets in evalset_coverage_files (novelty below evalset_coverage_threshold), "
    "re-weighted by sample rate; at most 100 routes, the busiest."
)

Read = Callable[[], dict[str, float]]


class CoverageMetrics(Collector):
    """The coverage gauge, registered once with the pipeline's metrics."""

    def __init__(self, registry: CollectorRegistry, ttl_s: float = 300.0) -> None:
        #: Computes route -> coverage; None until installed.
        self.read: Read | None = None
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: dict[str, float] = {}
        self._expires = 0.0
        registry.register(self)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The family without samples (registration must not run the queries)."""
        yield GaugeMetricFamily(NAME, HELP, labels=["route"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The family with the current values."""
        family = GaugeMetricFamily(NAME, HELP, labels=["route"])
        for route, value in sorted(self._values().items()):
            family.add_metric([route], value)
        yield family

    def _values(self) -> dict[str, float]:
        if self.read is None:
            return {}
        with self._lock:
            now = time.monotonic()
            if now >= self._expires:
                self._cached = self.read()
                self._expires = now + self._ttl_s
            return dict(self._cached)
