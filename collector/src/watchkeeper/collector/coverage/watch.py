"""Evalset coverage in a running collector: recent inputs per route against the evalsets,
for the gauge, with the most novel inputs sent to the ``coverage`` review queue."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Final

from watchkeeper.collector.coverage.index import CoverageIndex, RememberedNovelty
from watchkeeper.collector.coverage.report import DEFAULT_THRESHOLD, route_coverage
from watchkeeper.collector.store.backend import StoreError
from watchkeeper.collector.store.coverage import recent_inputs

if TYPE_CHECKING:
    from watchkeeper.collector.coverage.review_feed import CoverageReviewFeed
    from watchkeeper.collector.store.store import Store

log = logging.getLogger("watchkeeper.coverage")

WINDOW_NS: Final = 24 * 3600 * 10**9
#: Inputs read per route: enough for a share to within a few points, bounded in work.
INPUTS_PER_ROUTE: Final = 2000
#: Routes on the gauge (the busiest): its label values stay bounded.
MAX_ROUTES: Final = 100


class CoverageWatch:
    """Computes ``route -> coverage`` over the last 24 hours; feeds the review queue."""

    def __init__(
        self,
        store: Store,
        index: CoverageIndex,
        threshold: float = DEFAULT_THRESHOLD,
        feed: CoverageReviewFeed | None = None,
    ) -> None:
        self.store = store
        self.index = RememberedNovelty(index)
        self.threshold = threshold
        self.feed = feed

    def read(self, now_ns: int | None = None) -> dict[str, float]:
        """The coverage of every route with kept inputs (at most ``MAX_ROUTES``)."""
        since = (time.time_ns() if now_ns is None else now_ns) - WINDOW_NS
        try:
            rows = recent_inputs(self.store, since_ns=since, per_route=INPUTS_PER_ROUTE)
            found = route_coverage(self.index, rows, self.threshold)
            busiest = sorted(found, key=lambda f: (-f.inputs, f.route))[:MAX_ROUTES]
            if self.feed is not None:
                for route in busiest:
                    self.feed.send(route)
        except StoreError as exc:
            log.warning("evalset coverage skipped: %s", exc)
            return {}
        return {route.route: round(route.coverage, 6) for route in busiest}
