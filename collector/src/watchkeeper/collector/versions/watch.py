"""The live comparison the collector keeps: every route where two versions served calls
in the last 24 hours, its newest version against the one before, on the watched scores.

What :class:`~watchkeeper.collector.versions.metrics.VersionMetrics` exposes and the
``WatchkeeperVersionRegressed`` alert fires on.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Final

from watchkeeper.collector.store.backend import StoreError
from watchkeeper.collector.store.versions import active_routes, route_versions
from watchkeeper.collector.versions.identity import DIMENSIONS
from watchkeeper.collector.versions.live import compare_stored, pick_versions

if TYPE_CHECKING:
    from watchkeeper.collector.store.store import Store
    from watchkeeper.collector.versions.review_feed import VersionReviewFeed

log = logging.getLogger("watchkeeper.versions")

#: Scores compared: answers' faithfulness to their contexts, and refusals.
WATCHED_SCORES: Final = ("faithfulness_drift.faithfulness", "refusal_rate_drift.refusal")
WINDOW_NS: Final = 24 * 3600 * 10**9


def regressions(
    store: Store, now_ns: int | None = None, feed: VersionReviewFeed | None = None
) -> dict[tuple[str, str, str], float]:
    """``(route, dimension, score) -> 1.0`` when the newest version regressed, else 0.0;
    ``feed`` gets each regressed verdict with the candidate's worst calls."""
    since = (time.time_ns() if now_ns is None else now_ns) - WINDOW_NS
    found: dict[tuple[str, str, str], float] = {}
    try:
        for dimension in DIMENSIONS:
            for route in active_routes(store, dimension=dimension, since_ns=since):
                found.update(_route(store, route, dimension, since, feed))
    except StoreError as exc:
        log.warning("version comparison skipped: %s", exc)
    return found


def _route(
    store: Store, route: str, dimension: str, since: int, feed: VersionReviewFeed | None
) -> dict[tuple[str, str, str], float]:
    seen = [
        row
        for row in route_versions(store, route=route, dimension=dimension, since_ns=since)
        if row["Version"]
    ]
    try:
        baseline, candidate = pick_versions(seen, None, None)
    except ValueError:  # the calls of a second version expired since the routes were read
        return {}
    out = {}
    for score in WATCHED_SCORES:
        verdict = compare_stored(
            store,
            route=route,
            baseline=baseline,
            candidate=candidate,
            score=score,
            dimension=dimension,
            since_ns=since,
            worst=feed.wanted if feed else 0,
        )
        if feed is not None:
            feed.send(verdict, since)
        if verdict["baseline_calls"] and verdict["candidate_calls"]:
            out[(route, dimension, score)] = float(verdict["verdict"] == "regressed")
    return out
