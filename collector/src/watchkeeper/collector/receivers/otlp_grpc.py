"""OTLP/gRPC trace receiver (``TraceService/Export``) into the pipeline.

The same guarantees as ``POST /v1/traces``: a request is answered only after the store
confirmed its calls (``UNAVAILABLE`` with a retry delay when it did not), payloads the
pipeline cannot use are dead letters and ``INVALID_ARGUMENT``, and request bytes in
flight are bounded (``RESOURCE_EXHAUSTED`` with a retry delay beyond).
"""

from __future__ import annotations

from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.backend import StoreError
from watchkeeper.ingest.byte_budget import ByteBudget
from watchkeeper.ingest.grpc.export import export_handler
from watchkeeper.ingest.grpc.server import GrpcLimits, GrpcServer
from watchkeeper.ingest.otlp.decode import RejectedPayload
from watchkeeper.ingest.settings import HttpSettings

SOURCE = "otlp_grpc"


def otlp_grpc_server(pipeline: Pipeline, http: HttpSettings) -> GrpcServer | None:
    """The OTLP/gRPC receiver of ``http``'s settings (not started); None when it is off."""
    port = http.grpc_listen_port
    if port is None:
        return None

    def sink(payload: bytes) -> None:
        try:
            result = pipeline.process([Payload(payload, SOURCE, "protobuf")])
        except StoreError as exc:
            raise RejectedPayload("store_unavailable", f"store unavailable: {exc}") from None
        if result.rejected_payloads:
            # Counted and dead-lettered by the pipeline's decode stage.
            raise RejectedPayload(
                "rejected", "payload rejected (see watchkeeper_dead_letters_total)"
            )

    def refused(reason: str) -> None:
        if reason == "throttled":
            pipeline.metrics.grpc_throttled.inc()

    handler = export_handler(sink, ByteBudget(http.max_inflight_bytes), refused)
    return GrpcServer([handler], http.host, port, GrpcLimits.from_settings(http))
