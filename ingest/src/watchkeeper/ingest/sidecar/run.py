"""``watchkeeper sidecar``: assemble spool, forwarder and HTTP server; run until stopped."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

from watchkeeper.ingest.byte_budget import ByteBudget
from watchkeeper.ingest.commands import wait_for_stop
from watchkeeper.ingest.grpc.export import export_handler
from watchkeeper.ingest.grpc.server import GrpcLimits, GrpcServer
from watchkeeper.ingest.http.protocol import ConnectionLimits
from watchkeeper.ingest.http.server import HttpServer
from watchkeeper.ingest.settings import (
    ConfigError,
    HttpSettings,
    IngestSettings,
    SidecarSettings,
)
from watchkeeper.ingest.sidecar.forwarder import KafkaForwarder
from watchkeeper.ingest.sidecar.metrics import SidecarMetrics
from watchkeeper.ingest.sidecar.receiver import sidecar_app, spool_request
from watchkeeper.ingest.sidecar.spool import Spool


def open_spool(settings: SidecarSettings) -> Spool:
    """The spool the settings describe; a directory that cannot be used is a ConfigError."""
    directory = Path(settings.spool_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return Spool(directory, settings.spool_max_bytes, fsync=settings.fsync)
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise ConfigError(
            f"spool directory {directory} is not usable ({reason}); choose another with "
            "--spool-dir or WATCHKEEPER_SIDECAR_SPOOL_DIR"
        ) from None


def grpc_receiver(spool: Spool, metrics: SidecarMetrics, http: HttpSettings) -> GrpcServer | None:
    """The OTLP/gRPC receiver into ``spool`` (not started), None when ``grpc_port`` is off.

    Like OTLP/HTTP, a request is answered only once its spans are in the spool.
    """
    port = http.grpc_listen_port
    if port is None:
        return None

    def sink(payload: bytes) -> None:
        metrics.spans_received.inc(spool_request(spool, payload, "protobuf"))

    def refused(reason: str) -> None:
        metrics.requests_rejected.labels(reason).inc()

    handler = export_handler(sink, ByteBudget(http.max_inflight_bytes), refused)
    return GrpcServer([handler], http.host, port, GrpcLimits.from_settings(http))


def run_sidecar(settings: IngestSettings) -> int:
    """Receive OTLP/HTTP, spool to disk, forward to Kafka; SIGTERM/Ctrl-C drain and stop."""
    http, kafka, sidecar = settings.http, settings.kafka, settings.sidecar
    spool = open_spool(sidecar)
    metrics = SidecarMetrics()
    metrics.watch_spool(spool)
    if spool.corrupt_records:
        # Torn by a crash mid-write: never acknowledged, so the client sent it again.
        metrics.dropped.labels("corrupt").inc(spool.corrupt_records)
    forwarder = KafkaForwarder(spool, metrics, bootstrap=kafka.bootstrap, topic=kafka.topic)
    try:
        server = HttpServer(
            sidecar_app(
                spool,
                metrics,
                kafka_connected=lambda: forwarder.connected,
                max_inflight_bytes=http.max_inflight_bytes,
            ),
            http.host,
            http.port,
            ConnectionLimits(http.header_timeout_s, http.body_timeout_s, http.max_connections),
        )
        grpc = grpc_receiver(spool, metrics, http)
        server.start()
        if grpc is not None:
            grpc.start()
    except BaseException:
        spool.close()
        raise
    forwarder.start()
    via_grpc = f" and OTLP/gRPC on {grpc.endpoint}" if grpc is not None else ""
    print(
        f"watchkeeper sidecar: OTLP/HTTP on {server.url}/v1/traces{via_grpc} -> spool "
        f"{sidecar.spool_dir} ({spool.pending_records} pending, bound "
        f"{sidecar.spool_max_bytes} bytes) -> Kafka topic {kafka.topic} at "
        f"{kafka.bootstrap}; metrics {server.url}/metrics. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    try:
        wait_for_stop()
    finally:
        if grpc is not None:
            grpc.stop()
        server.stop()
        forwarder.stop(sidecar.drain_timeout_s)
        spool.close()
    return 0
