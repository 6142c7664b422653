"""The live version comparison in a running collector: the API routes and the gauge."""

from __future__ import annotations

from fastapi import FastAPI

from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.versions.api import VersionsContext, versions_router
from watchkeeper.collector.versions.review_feed import VersionReviewFeed
from watchkeeper.collector.versions.ui import versions_ui_router
from watchkeeper.collector.versions.watch import regressions


def install_versions(app: FastAPI, pipeline: Pipeline) -> None:
    """Serve ``/api/versions`` and the pages ``/ui/versions`` and ``/ui/experiments`` on
    ``app`` (built by ``server.build_app``, whose token registry the routes share) and
    compute ``watchkeeper_version_regressed`` at scrape, sending the calls that show a
    regression to the ``versions`` review queue."""
    registry: TokenRegistry = app.state.tokens
    auth = Auth(registry, pipeline.metrics)
    app.include_router(versions_router(pipeline.store, auth))
    app.include_router(versions_ui_router(VersionsContext(pipeline.store, auth)))
    store = pipeline.store
    feed = VersionReviewFeed(store, pipeline.router.queues)
    pipeline.metrics.versions.read = lambda: regressions(store, feed=feed)
