"""The live version comparison in a running collector: the API routes and the gauge."""

from __future__ import annotations

from fastapi import FastAPI

from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.versions.api import versions_router
from watchkeeper.collector.versions.watch import regressions


def install_versions(app: FastAPI, pipeline: Pipeline) -> None:
    """Serve ``/api/versions`` on ``app`` (built by ``server.build_app``, whose token
    registry the routes share) and compute ``watchkeeper_version_regressed`` at scrape."""
    registry: TokenRegistry = app.state.tokens
    app.include_router(versions_router(pipeline.store, Auth(registry, pipeline.metrics)))
    store = pipeline.store
    pipeline.metrics.versions.read = lambda: regressions(store)
