"""OTLP/HTTP trace receiver (``POST /v1/traces``), protobuf and JSON, gzip or not."""

from __future__ import annotations

import json
import zlib

from fastapi import APIRouter, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.concurrency import run_in_threadpool

from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors.decode import MAX_PAYLOAD_BYTES, Encoding
from watchkeeper.collector.store.backend import StoreError

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
        content_type = request.headers.get("content-type", "application/x-protobuf")
        encoding: Encoding = "json" if "json" in content_type else "protobuf"
        try:
            declared = int(request.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > MAX_PAYLOAD_BYTES:
            metrics.dead_letters.labels("oversized").inc()
            return _error(413, f"body of {declared} bytes exceeds {MAX_PAYLOAD_BYTES}", encoding)
        if inflight[0] and inflight[0] + declared > max_inflight_bytes:
            metrics.throttled.inc()
            response = _error(429, "collector busy, retry later", encoding)
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
                body = _gunzip(body)
            except (OSError, EOFError, zlib.error, ValueError) as exc:
                return _error(400, f"bad gzip body: {exc}", encoding)
        try:
            result = await run_in_threadpool(pipeline.process, [Payload(body, SOURCE, encoding)])
        except StoreError as exc:
            # 503 tells OTLP exporters to retry later: nothing is acknowledged unstored.
            return _error(503, f"store unavailable: {exc}", encoding)
        if result.rejected_payloads:
            return _error(400, "payload rejected (see watchkeeper_dead_letters_total)", encoding)
        response = ExportTraceServiceResponse()
        if encoding == "json":
            return Response("{}", media_type="application/json")
        return Response(response.SerializeToString(), media_type="application/x-protobuf")

    return router


def _gunzip(body: bytes) -> bytes:
    # Bounded decompression: a small gzip bomb must not exhaust memory.
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(body, MAX_PAYLOAD_BYTES + 1)
    if len(out) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"decompressed body exceeds {MAX_PAYLOAD_BYTES} bytes")
    return out


def _error(status: int, message: str, encoding: Encoding) -> Response:
    if encoding == "json":
        return Response(
            json.dumps({"code": status, "message": message}),
            status_code=status,
            media_type="application/json",
        )
    from google.rpc.status_pb2 import Status

    return Response(
        Status(code=3 if status == 400 else 14, message=message).SerializeToString(),
        status_code=status,
        media_type="application/x-protobuf",
    )
