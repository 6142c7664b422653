"""OTLP/HTTP trace receiver (``POST /v1/traces``), protobuf and JSON, gzip or not."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.backend import StoreError
from watchkeeper.ingest.http.limits import BodyTooLargeError
from watchkeeper.ingest.otlp.body import ClientGoneError, InflightBudget, ThrottledError
from watchkeeper.ingest.otlp.decode import Encoding, RejectedPayload
from watchkeeper.ingest.otlp.responses import (
    error_response,
    gunzip,
    request_encoding,
    success_response,
)

SOURCE = "otlp_http"
#: Seconds an OTLP client is asked to wait when the receiver is busy.
RETRY_AFTER_S = 1


def otlp_http_router(pipeline: Pipeline, max_inflight_bytes: int = 64 * 1024 * 1024) -> APIRouter:
    """``POST /v1/traces`` as the OTLP/HTTP specification defines it.

    Backpressure: body bytes held at once (counted as they are read) are bounded by
    ``max_inflight_bytes``; beyond it the receiver answers 429 with ``Retry-After`` (OTLP
    exporters retry those), so a burst cannot grow memory without bound. The body's size
    and encoding are bounded by the app's request limits (``OTLP_BODY_RULE``).
    """
    router = APIRouter(tags=["otlp"])
    budget = InflightBudget(max_inflight_bytes)
    metrics = pipeline.metrics

    @router.post("/v1/traces")
    async def export_traces(request: Request) -> Response:
        encoding = request_encoding(request.headers.get("content-type"))
        try:
            async with budget.read(request) as body:
                return await _handle(request, body, encoding)
        except ThrottledError as exc:
            metrics.throttled.inc()
            response = error_response(429, str(exc), encoding)
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        except BodyTooLargeError as exc:
            metrics.dead_letters.labels("oversized").inc()
            return error_response(413, str(exc.detail), encoding)
        except ClientGoneError as exc:
            return error_response(400, str(exc), encoding)

    async def _handle(request: Request, body: bytes, encoding: Encoding) -> Response:
        if request.headers.get("content-encoding", "").strip().lower() == "gzip":
            try:
                body = gunzip(body)
            except RejectedPayload as exc:
                return error_response(400, exc.detail, encoding)
        try:
            result = await run_in_threadpool(pipeline.process, [Payload(body, SOURCE, encoding)])
        except StoreError as exc:
            # 503 tells OTLP exporters to retry later: nothing is acknowledged unstored.
            return error_response(503, f"store unavailable: {exc}", encoding)
        if result.rejected_payloads:
            return error_response(
                400, "payload rejected (see watchkeeper_dead_letters_total)", encoding
            )
        return success_response(encoding)

    return router
