"""``watchkeeper_version_regressed``: whether a route's newest version regressed.

The values are computed at scrape time by the function :func:`install_versions` sets
(see :mod:`.watch`), cached for ``ttl_s`` so frequent scrapes do not load the store. The
family is always exposed, empty until then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

NAME = "watchkeeper_version_regressed"
LABELS = ["route", "dimension", "score"]
HELP = (
    "1 when the newest version of a route (dimension: model, prompt, release or deploy) "
    "scores worse than "
    "the version before it on the score, by the live comparison's always-valid interval "
    "over the last 24 hours; 0 otherwise. Routes with two versions only."
)

Read = Callable[[], dict[tuple[str, str, str], float]]


class VersionMetrics(Collector):
    """The version comparison's gauge, registered once with the pipeline's metrics."""

    def __init__(self, registry: CollectorRegistry, ttl_s: float = 60.0) -> None:
        #: Computes the values (label values -> 0 or 1); None until installed.
        self.read: Read | None = None
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: dict[tuple[str, str, str], float] = {}
        self._expires = 0.0
        registry.register(self)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The family without samples (registration must not run the queries)."""
        yield GaugeMetricFamily(NAME, HELP, labels=LABELS)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The family with the current values."""
        family = GaugeMetricFamily(NAME, HELP, labels=LABELS)
        for labels, value in sorted(self._values().items()):
            family.add_metric(list(labels), value)
        yield family

    def _values(self) -> dict[tuple[str, str, str], float]:
        if self.read is None:
            return {}
        with self._lock:
            now = time.monotonic()
            if now >= self._expires:
                self._cached = self.read()
                self._expires = now + self._ttl_s
            return dict(self._cached)
