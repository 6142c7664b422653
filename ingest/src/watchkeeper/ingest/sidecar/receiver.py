"""The sidecar's HTTP side: ``POST /v1/traces`` into the spool, ``/metrics``, ``/healthz``.

A request is answered 200 only once its spans are in the spool (fsync'ed by default),
so whatever an OTLP client was told is accepted survives a crash or restart of the
sidecar. Payloads are decoded at the edge: garbage is refused with 400 here instead of
travelling to Kafka, and OTLP/JSON leaves as protobuf (the topic's wire format).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from watchkeeper.ingest.http.limits import BodyTooLargeError, RequestLimits
from watchkeeper.ingest.otlp.body import ClientGoneError, InflightBudget, ThrottledError
from watchkeeper.ingest.otlp.decode import Encoding, RejectedPayload, decode_request
from watchkeeper.ingest.otlp.responses import (
    OTLP_BODY_RULE,
    error_response,
    gunzip,
    request_encoding,
    success_response,
)
from watchkeeper.ingest.otlp.split import messages_by_trace, span_count
from watchkeeper.ingest.sidecar.metrics import CONTENT_TYPE, SidecarMetrics
from watchkeeper.ingest.sidecar.spool import LargerThanSpool, Spool, SpoolError, SpoolFull

#: Seconds an OTLP client is asked to wait when the spool is full or failing.
RETRY_AFTER_S = 5
#: HTTP status per refusal reason; 429 and 503 tell OTLP clients to retry, 400 not to.
_STATUS = {"oversized": 413, "throttled": 429, "spool_full": 503, "spool_error": 503}


def spool_request(spool: Spool, body: bytes, encoding: Encoding) -> int:
    """Decode one OTLP request and append its traces to the spool; returns its span count.

    Shared by the OTLP/HTTP and OTLP/gRPC receivers. Refusals raise RejectedPayload.
    """
    request = decode_request(body, encoding)
    messages = messages_by_trace(request, body if encoding == "protobuf" else None)
    try:
        spool.append(messages)
    except LargerThanSpool as exc:
        raise RejectedPayload("oversized", str(exc)) from None
    except SpoolFull as exc:
        raise RejectedPayload("spool_full", f"spool full, retry later: {exc}") from None
    except SpoolError as exc:
        raise RejectedPayload("spool_error", str(exc)) from None
    return span_count(request)


def sidecar_app(
    spool: Spool,
    metrics: SidecarMetrics,
    *,
    kafka_connected: Callable[[], bool] = lambda: False,
    max_inflight_bytes: int = 64 * 1024 * 1024,
) -> FastAPI:
    """The ASGI app of ``watchkeeper sidecar``."""
    app = FastAPI(title="watchkeeper sidecar", version="0.1.0", docs_url=None, redoc_url=None)
    # Body bytes held at once, counted as read; the size and encoding bounds are the
    # app's request limits (OTLP_BODY_RULE).
    budget = InflightBudget(max_inflight_bytes)
    app.add_middleware(RequestLimits, rules=(OTLP_BODY_RULE,))

    @app.post("/v1/traces")
    async def export_traces(request: Request) -> Response:
        encoding = request_encoding(request.headers.get("content-type"))
        try:
            spans = await receive(request, encoding)
        except RejectedPayload as exc:
            metrics.requests_rejected.labels(exc.reason).inc()
            status = _STATUS.get(exc.reason, 400)
            response = error_response(status, str(exc), encoding)
            if status in (429, 503):
                response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        metrics.spans_received.inc(spans)
        return success_response(encoding)

    async def receive(request: Request, encoding: Encoding) -> int:
        """Spool the request's spans; returns how many. Refusals raise RejectedPayload."""
        try:
            async with budget.read(request) as raw:
                gzipped = request.headers.get("content-encoding", "").strip().lower() == "gzip"
                body = gunzip(raw) if gzipped else raw
                return await run_in_threadpool(spool_request, spool, body, encoding)
        except ThrottledError as exc:
            raise RejectedPayload("throttled", str(exc)) from None
        except BodyTooLargeError as exc:
            raise RejectedPayload("oversized", str(exc.detail)) from None
        except ClientGoneError as exc:
            raise RejectedPayload("client_gone", str(exc)) from None

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        # Always 200 while serving: the sidecar's job is to accept spans while Kafka is
        # away, so Kafka's state must not make the app's pod unready.
        return {
            "status": "ok",
            "kafka": "connected" if kafka_connected() else "disconnected",
            "spool_records": spool.pending_records,
            "spool_bytes": spool.disk_bytes,
            "spool_limit_bytes": spool.max_bytes,
        }

    return app
