"""OTLP/HTTP trace receiver (``POST /v1/traces``), protobuf and JSON, gzip or not."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.backend import StoreError
from watchkeeper.ingest.otlp.decode import MAX_PAYLOAD_BYTES, Encoding, RejectedPayload
from watchkeeper.ingest.otlp.responses import (
    error_response,
    gunzip,
    request_encoding,
    success_response,
)

SOURCE = "otlp_http"


def otlp_http_router(pipeline: Pipeline, max_inflight_bytes: int = 64 * 1024 * 1024) -> APIRouter:
    """``POST /v1/traces`` as the OTLP/HTTP specification defines it.

    Backpressure: bodies being processed are bounded by ``max_inflight_bytes``; beyond it
    the receiver answers 429 with ``Retry-After`` (OTLP exporters retry those), so a burst
    cannot grow memory without bound.
    """
    router = APIRouter(tags=["otlp"])
    inflight = [0]  # bytes; handlers run on one event loop, so no lock is needed
    metrics = pipeline.metrics

    @router.post("/v1/traces")
    async def export_traces(request: Request) -> Response:
        encoding = request_encoding(request.headers.get("content-type"))
        try:
            declared = int(request.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > MAX_PAYLOAD_BYTES:
            metrics.dead_letters.labels("oversized").inc()
            return error_response(
                413, f"body of {declared} bytes exceeds {MAX_PAYLOAD_BYTES}", encoding
            )
        if inflight[0] and inflight[0] + declared > max_inflight_bytes:
            metrics.throttled.inc()
            response = error_response(429, "collector busy, retry later", encoding)
            response.headers["Retry-After"] = "1"
            return response
        inflight[0] += declared
        try:
            return await _handle(request, encoding)
        finally:
            inflight[0] -= declared

    async def _handle(request: Request, encoding: Encoding) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding", "").lower() == "gzip":
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
