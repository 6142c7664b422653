"""``TraceService/Export`` over raw bytes: the shared answer of every OTLP/gRPC receiver.

The handler takes the request as bytes (gRPC has already undone gzip) and hands them to
a sink, the receiver's own ``accept``: the sidecar's spool, the collector's pipeline.
Decoding stays in the sink, through ``decode_request``, so a string with invalid UTF-8 is
repaired exactly as over OTLP/HTTP instead of failing the whole request in protobuf's
parser. Answers follow the OTLP specification: ``RESOURCE_EXHAUSTED`` and ``UNAVAILABLE``
with ``RetryInfo`` are retried by exporters, ``INVALID_ARGUMENT`` is not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from watchkeeper.ingest.byte_budget import ByteBudget
from watchkeeper.ingest.otlp.decode import RejectedPayload

#: The OTLP trace service and its one method, as the proto files name them.
TRACE_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
EXPORT_METHOD = "Export"
_SUCCESS: bytes = ExportTraceServiceResponse().SerializeToString()

#: A sink takes one serialized ExportTraceServiceRequest and keeps it, or raises
#: RejectedPayload with a bounded reason.
Sink = Callable[[bytes], object]


@dataclass(frozen=True)
class Refusal:
    """How a refusal reason is answered: the gRPC code and, for retries, the delay."""

    code: grpc.StatusCode
    retry_after_s: float = 0.0


#: Reasons a sink may raise and how each is answered; anything else is INVALID_ARGUMENT.
REFUSALS: dict[str, Refusal] = {
    "throttled": Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED, 1.0),
    "spool_full": Refusal(grpc.StatusCode.RESOURCE_EXHAUSTED, 5.0),
    "spool_error": Refusal(grpc.StatusCode.UNAVAILABLE, 5.0),
    "store_unavailable": Refusal(grpc.StatusCode.UNAVAILABLE, 1.0),
}


def export_handler(
    sink: Sink,
    budget: ByteBudget,
    on_refused: Callable[[str], None] = lambda reason: None,
) -> grpc.GenericRpcHandler:
    """The generic handler of ``TraceService/Export`` over ``sink`` within ``budget``.

    ``on_refused`` is told the reason of every refused request, for the receiver's metrics.
    """

    def export(payload: bytes, context: grpc.ServicerContext) -> bytes:
        if not budget.take(len(payload)):
            return _refuse(context, "throttled", "receiver busy, retry later", on_refused)
        try:
            sink(payload)
        except RejectedPayload as exc:
            return _refuse(context, exc.reason, str(exc), on_refused)
        finally:
            budget.give_back(len(payload))
        return _SUCCESS

    # No (de)serializers: bytes in, bytes out.
    handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(export)
    return grpc.method_handlers_generic_handler(TRACE_SERVICE, {EXPORT_METHOD: handler})


def _refuse(
    context: grpc.ServicerContext, reason: str, message: str, on_refused: Callable[[str], None]
) -> NoReturn:
    on_refused(reason)
    refusal = REFUSALS.get(reason, Refusal(grpc.StatusCode.INVALID_ARGUMENT))
    if refusal.retry_after_s:
        context.set_trailing_metadata(retry_metadata(refusal, message))
    context.abort(refusal.code, message[:1000])


def retry_metadata(refusal: Refusal, message: str) -> tuple[tuple[str, bytes], ...]:
    """``RetryInfo`` where exporters look for it: in the status details (grpc-go, the
    Collector) and as ``google.rpc.retryinfo-bin`` (the Python exporter)."""
    whole, fraction = divmod(refusal.retry_after_s, 1.0)
    info = RetryInfo(retry_delay=Duration(seconds=int(whole), nanos=int(fraction * 1e9)))
    detail = AnyMessage()
    detail.Pack(info)
    status = Status(code=refusal.code.value[0], message=message[:1000], details=[detail])
    return (
        ("grpc-status-details-bin", status.SerializeToString()),
        ("google.rpc.retryinfo-bin", info.SerializeToString()),
    )
