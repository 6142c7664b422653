"""Incidents in a running collector: grouping after each stored batch, baseline resets
before each scored batch, and the API and UI routes on the app."""

from __future__ import annotations

from fastapi import FastAPI

from watchkeeper.collector.incidents.api import incidents_router
from watchkeeper.collector.incidents.baseline import BaselineResets, still_away
from watchkeeper.collector.incidents.tracker import IncidentTracker
from watchkeeper.collector.incidents.ui import incidents_ui_router
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.store.incidents import IncidentStore


def install_incidents(app: FastAPI, pipeline: Pipeline) -> IncidentTracker:
    """Group ``pipeline``'s alarms into incidents and serve them on ``app`` (built by
    ``server.build_app``, whose token registry the routes share)."""
    resets = BaselineResets(lambda: pipeline.detect)
    tracker = IncidentTracker(
        IncidentStore(pipeline.store),
        resets,
        away=lambda detector, key: still_away(pipeline.detect, detector, key),
    )
    tracker.resume()
    pipeline.call_stages = (resets, *pipeline.call_stages)
    pipeline.store_stages = (*pipeline.store_stages, tracker)
    registry: TokenRegistry = app.state.tokens
    auth = Auth(registry, pipeline.metrics)
    app.include_router(incidents_router(tracker, auth))
    app.include_router(incidents_ui_router(tracker, auth))
    return tracker
