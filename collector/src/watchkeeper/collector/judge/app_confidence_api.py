"""``GET /api/app-confidence``: how well the app's own confidence matches reviewers'
verdicts (viewer role), its scrape-time gauge by app model and its queue-page panel."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query

from watchkeeper.collector.evalset.records import parse_time
from watchkeeper.collector.judge.app_confidence import CONFIDENCE_ATTRIBUTE, app_confidence_report
from watchkeeper.collector.judge.panel import app_confidence_panel
from watchkeeper.collector.judge.report import GAUGE_WINDOW_MS
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.tokens import Role
from watchkeeper.collector.store.app_confidence import labelled_confidence
from watchkeeper.collector.store.store import Store


def app_confidence(store: Store, since_ms: int = 0) -> dict[str, Any]:
    """The app's confidence calibration over calls labelled since ``since_ms``."""
    return app_confidence_report(labelled_confidence(store, CONFIDENCE_ATTRIBUTE, since_ms))


def app_confidence_router(store: Store, auth: Auth) -> APIRouter:
    """The app-confidence API of one app."""
    router = APIRouter(
        prefix="/api", tags=["judges"], dependencies=[Depends(auth.api(Role.VIEWER))]
    )

    @router.get("/app-confidence")
    def report(
        since: Annotated[
            str | None, Query(max_length=40, description="7d, 24h, 2025-01-31 ...")
        ] = None,
    ) -> dict[str, Any]:
        """ECE and reliability table of the app's confidence against reviewers' verdicts,
        overall, per app model and by day; how many calls had logprobs or phrases."""
        try:
            since_ms = parse_time(since) if since else 0
        except ValueError as exc:
            raise HTTPException(422, f"since: {exc}") from None
        return app_confidence(store, since_ms)

    return router


def serve_app_confidence(app: FastAPI, store: Store, pipeline: Pipeline) -> None:
    """The API on ``app`` and the gauge ``watchkeeper_app_confidence_calibration_error``."""
    app.include_router(app_confidence_router(store, Auth(app.state.tokens, pipeline.metrics)))

    def gauge() -> dict[tuple[str, ...], float]:
        since = time.time_ns() // 1_000_000 - GAUGE_WINDOW_MS
        models = app_confidence(store, since)["by_model"]
        return {(m,): float(r["ece"]) for m, r in models.items() if r["ece"] is not None}

    pipeline.metrics.judge.app_calibration.read = gauge
    # After the judges' panel, which sets the list.
    app.state.queue_panels = [
        *getattr(app.state, "queue_panels", ()),
        lambda: app_confidence_panel(app_confidence(store)),
    ]
