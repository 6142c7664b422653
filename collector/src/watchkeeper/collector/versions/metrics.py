"""``watchkeeper_version_regressed``: whether a route's newest version regressed.

The values are computed at scrape time by the function :func:`install_versions` sets
(see :mod:`.watch`), cached for ``ttl_s`` so frequent scrapes do not load the store. The
family is always exposed, empty until then.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from watchkeeper.collector.cached_gauge import CachedGauge

NAME = "watchkeeper_version_regressed"
LABELS = ["route", "dimension", "score"]
HELP = (
    "1 when the newest version of a route (dimension: model, prompt, release or deploy) "
    "scores worse than "
    "the version before it on the score, by the live comparison's always-valid interval "
    "over the last 24 hours; 0 otherwise. Routes with two versions only."
)


class VersionMetrics(CachedGauge[tuple[str, str, str]]):
    """The version comparison's gauge, registered once with the pipeline's metrics."""

    def __init__(self, registry: CollectorRegistry, ttl_s: float = 60.0) -> None:
        super().__init__(registry, NAME, HELP, LABELS, ttl_s)
