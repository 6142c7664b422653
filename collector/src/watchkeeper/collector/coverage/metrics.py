"""``watchkeeper_evalset_coverage``: the share of a route's recent inputs the evalsets cover.

Computed at scrape time by the function :func:`install_coverage` sets, cached for
``ttl_s``; the family is always exposed, empty while no evalset is configured.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from watchkeeper.collector.cached_gauge import CachedGauge

NAME = "watchkeeper_evalset_coverage"
HELP = (
    "Share (0 to 1) of a route's inputs over the last 24 hours that are like some case of "
    "the evalsets in evalset_coverage_files (novelty below evalset_coverage_threshold), "
    "re-weighted by sample rate; at most 100 routes, the busiest."
)


class CoverageMetrics(CachedGauge[str]):
    """The coverage gauge, registered once with the pipeline's metrics."""

    def __init__(self, registry: CollectorRegistry, ttl_s: float = 300.0) -> None:
        super().__init__(registry, NAME, HELP, ["route"], ttl_s)
