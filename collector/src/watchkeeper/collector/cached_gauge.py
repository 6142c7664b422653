"""A gauge family computed at scrape time by a function set after start, and cached for
``ttl_s`` so that frequent scrapes do not load the store. The family is always exposed,
empty until the function is set; a failing read keeps the last values (a store hiccup
must not break the whole scrape) and is logged once until a read succeeds again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: Label values: one string for a single label, else a tuple of them.
Key = TypeVar("Key", bound=str | tuple[str, ...])

log = logging.getLogger(__name__)


class CachedGauge(Collector, Generic[Key]):
    """One gauge family, registered with ``registry`` at once; ``read`` is set later."""

    def __init__(
        self,
        registry: CollectorRegistry,
        name: str,
        documentation: str,
        labels: Sequence[str],
        ttl_s: float,
    ) -> None:
        self.name, self.documentation, self.labels = name, documentation, list(labels)
        #: Computes the values; None until installed.
        self.read: Callable[[], Mapping[Key, float]] | None = None
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: dict[Key, float] = {}
        self._expires = 0.0
        self._failing = False
        registry.register(self)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The family without samples (registration must not run the queries)."""
        yield GaugeMetricFamily(self.name, self.documentation, labels=self.labels)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The family with the current values."""
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for key, value in sorted(self._values().items()):
            family.add_metric([key] if isinstance(key, str) else list(key), value)
        yield family

    def _values(self) -> dict[Key, float]:
        if self.read is None:
            return {}
        with self._lock:
            now = time.monotonic()
            if now >= self._expires:
                self._expires = now + self._ttl_s
                self._refresh(self.read)
            return dict(self._cached)

    def _refresh(self, read: Callable[[], Mapping[Key, float]]) -> None:
        try:
            self._cached = dict(read())
        except Exception as error:  # any failure keeps the last values
            if not self._failing:
                log.warning(
                    "%s: could not read its values (%s); keeping the last ones", self.name, error
                )
            self._failing = True
        else:
            self._failing = False
