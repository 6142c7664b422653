"""The HTTP side of a running watchkeeper: OTLP receiver, review API and UI, /metrics.

The app is served by :class:`watchkeeper.ingest.http.server.HttpServer`, like every
watchkeeper HTTP server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Response

from watchkeeper.collector.alerting.webhook import WEBHOOK_PATH, alert_webhook_router
from watchkeeper.collector.metrics import CONTENT_TYPE
from watchkeeper.collector.overview.api import monitor_router
from watchkeeper.collector.overview.monitor import Monitor
from watchkeeper.collector.overview.ui import monitor_ui_router
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.receivers.otlp_http import otlp_http_router
from watchkeeper.collector.review.api import review_router
from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.rubric import Rubric
from watchkeeper.collector.review.tokens import TokenRegistry
from watchkeeper.collector.review.ui import MAX_FORM_BYTES, review_ui_router
from watchkeeper.collector.review.workflow import ReviewConfig, ReviewWorkflow
from watchkeeper.collector.store.monitoring import MonitoringStore
from watchkeeper.collector.traces.api import TracesContext, traces_router
from watchkeeper.collector.traces.ui import traces_ui_router
from watchkeeper.collector.traces.views import TraceViews
from watchkeeper.ingest.http.limits import BodyRule, RequestLimits
from watchkeeper.ingest.otlp.responses import OTLP_BODY_RULE

if TYPE_CHECKING:
    from watchkeeper.collector.settings import Settings


#: Body bounds per route; every other route takes up to 1 MiB (JSON API calls, forms).
REQUEST_RULES = (
    OTLP_BODY_RULE,
    BodyRule("/login", MAX_FORM_BYTES + 4096),
    # Alertmanager bounds alerts per notification (max_alerts); 10,000 fit in this.
    BodyRule(WEBHOOK_PATH, 16 * 1024 * 1024),
)


def build_app(
    pipeline: Pipeline,
    *,
    with_otlp: bool = True,
    max_inflight_bytes: int = 64 * 1024 * 1024,
    settings: Settings | None = None,
) -> FastAPI:
    """The ASGI app: ``/v1/traces`` (optional), ``/api``, the UI, ``/metrics``, ``/healthz``.

    The UI's home (``/``) is the overview; its alarms and calls pages and their API
    (``overview/``) share the review UI's sessions and roles.

    The review API and UI need an API token (see ``review/auth.py``); ``/v1/traces``,
    ``/metrics`` and ``/healthz`` do not. Without ``settings`` the review workflow uses the
    pipeline's queues, the default rubric and lease.
    """
    app = FastAPI(
        title="watchkeeper",
        summary="Production quality monitoring for LLM applications",
        description="Overview, alarms, calls and review API: every /api route needs "
        "`Authorization: Bearer <token>` "
        "(roles viewer < reviewer < admin; the alerts role posts alert notifications only). "
        "OTLP ingest (/v1/traces), /metrics and /healthz need none.",
        version="0.1.0",
    )
    store, metrics = pipeline.store, pipeline.metrics
    config = (
        ReviewConfig.from_settings(settings)
        if settings is not None
        else ReviewConfig(pipeline.router.queues, Rubric())
    )
    workflow = ReviewWorkflow(store, config, metrics)
    registry = TokenRegistry(store)
    auth = Auth(registry, metrics)
    metrics.watch_queue_depth(workflow.depths)
    metrics.watch_gauge(
        "watchkeeper_review_pass_ratio",
        "Share of labels of the last 24 hours that pass, by queue and rubric dimension "
        "(verdict = the overall verdict).",
        ["queue", "dimension"],
        workflow.pass_ratios,
        ttl_s=30.0,
    )
    metrics.watch_gauge(
        "watchkeeper_review_agreement_alpha",
        "Krippendorff's alpha between reviewers over labels of the last 30 days, by queue "
        "and rubric dimension (1 = full agreement, 0 = chance).",
        ["queue", "dimension"],
        workflow.agreement_alphas,
        ttl_s=60.0,
    )
    app.state.review = workflow
    app.state.tokens = registry
    app.add_middleware(RequestLimits, rules=REQUEST_RULES)
    if with_otlp:
        app.include_router(otlp_http_router(pipeline, max_inflight_bytes=max_inflight_bytes))
    app.include_router(review_router(workflow, auth, registry))
    app.include_router(review_ui_router(workflow, auth, registry))
    app.include_router(alert_webhook_router(store, auth, metrics))
    prices = settings.pipeline.model_prices if settings is not None else None
    monitor = Monitor(MonitoringStore(store), workflow, prices)
    app.include_router(monitor_router(monitor, auth))
    app.include_router(monitor_ui_router(monitor, auth))
    traces = TraceViews(store)
    app.include_router(traces_router(traces, auth))
    app.include_router(traces_ui_router(TracesContext(traces, auth)))

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
