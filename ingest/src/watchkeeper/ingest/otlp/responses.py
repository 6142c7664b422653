"""OTLP/HTTP answers: success and error bodies in the request's encoding, and gzip bodies.

Every watchkeeper OTLP receiver (the collector's, the sidecar's) answers clients the same
way: the OTLP/HTTP specification's ``ExportTraceServiceResponse`` on success and a
``google.rpc.Status`` (or its JSON form) on failure, where 429 and 503 tell exporters to
retry and 400 and 413 not to.
"""

from __future__ import annotations

import json
import zlib

from fastapi import Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from watchkeeper.ingest.http.limits import BodyRule
from watchkeeper.ingest.otlp.decode import MAX_PAYLOAD_BYTES, Encoding, RejectedPayload

#: gRPC status codes the OTLP specification pairs with HTTP statuses.
_INVALID_ARGUMENT = 3
_UNAVAILABLE = 14


def request_encoding(content_type: str | None) -> Encoding:
    """The encoding a ``Content-Type`` header names: JSON if it says so, else protobuf."""
    return "json" if content_type and "json" in content_type else "protobuf"


def success_response(encoding: Encoding) -> Response:
    """200 with an empty ``ExportTraceServiceResponse`` (all spans accepted)."""
    if encoding == "json":
        return Response("{}", media_type="application/json")
    return Response(
        ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf"
    )


def error_response(status: int, message: str, encoding: Encoding) -> Response:
    """An HTTP error with a ``google.rpc.Status`` body (JSON: ``{"code", "message"}``)."""
    if encoding == "json":
        return Response(
            json.dumps({"code": status, "message": message}),
            status_code=status,
            media_type="application/json",
        )
    from google.rpc.status_pb2 import Status

    code = _UNAVAILABLE if status in (429, 503) else _INVALID_ARGUMENT
    return Response(
        Status(code=code, message=message).SerializeToString(),
        status_code=status,
        media_type="application/x-protobuf",
    )


def gunzip(body: bytes) -> bytes:
    """Decompress a gzip body, at most :data:`MAX_PAYLOAD_BYTES` of it.

    Bounded, so a small gzip bomb cannot exhaust memory. Raises :class:`RejectedPayload`
    (reason ``bad_gzip``) for a body that is not gzip or decompresses to too much.

    >>> import gzip
    >>> gunzip(gzip.compress(b"spans"))
    b'spans'
    """
    try:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = decompressor.decompress(body, MAX_PAYLOAD_BYTES + 1)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise RejectedPayload("bad_gzip", f"bad gzip body: {exc}") from None
    if len(out) > MAX_PAYLOAD_BYTES:
        raise RejectedPayload(
            "bad_gzip", f"bad gzip body: decompressed body exceeds {MAX_PAYLOAD_BYTES} bytes"
        )
    return out


def otlp_refusal(status: int, message: str, content_type: str) -> Response:
    """A refusal of the request limits, in the OTLP error format of the request."""
    return error_response(status, message, request_encoding(content_type))


#: ``/v1/traces``: bodies up to :data:`MAX_PAYLOAD_BYTES` as sent, plain or gzip.
OTLP_BODY_RULE = BodyRule(
    "/v1/traces", MAX_PAYLOAD_BYTES, frozenset({"identity", "gzip"}), otlp_refusal
)
