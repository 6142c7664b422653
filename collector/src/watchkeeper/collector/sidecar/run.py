"""``watchkeeper sidecar``: assemble spool, forwarder and HTTP server; run until stopped."""

from __future__ import annotations

import errno
import signal
import sys
import threading
from pathlib import Path

from watchkeeper.collector.server import HttpServer
from watchkeeper.collector.settings import ConfigError, Settings
from watchkeeper.collector.sidecar.forwarder import KafkaForwarder
from watchkeeper.collector.sidecar.metrics import SidecarMetrics
from watchkeeper.collector.sidecar.receiver import sidecar_app
from watchkeeper.collector.sidecar.spool import Spool


def open_spool(settings: Settings) -> Spool:
    """The spool the settings describe; a directory that cannot be used is a ConfigError."""
    directory = Path(settings.sidecar_spool_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return Spool(directory, settings.sidecar_spool_max_bytes, fsync=settings.sidecar_fsync)
    except OSError as exc:
        reason = exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
        raise ConfigError(
            f"spool directory {directory} is not usable ({reason}); choose another with "
            "--spool-dir or WATCHKEEPER_SIDECAR_SPOOL_DIR"
        ) from None


def run_sidecar(settings: Settings) -> int:
    """Receive OTLP/HTTP, spool to disk, forward to Kafka; SIGTERM/Ctrl-C drain and stop."""
    spool = open_spool(settings)
    metrics = SidecarMetrics()
    metrics.watch_spool(spool)
    if spool.corrupt_records:
        # Torn by a crash mid-write: never acknowledged, so the client sent it again.
        metrics.dropped.labels("corrupt").inc(spool.corrupt_records)
    forwarder = KafkaForwarder(
        spool, metrics, bootstrap=settings.kafka_bootstrap, topic=settings.kafka_topic
    )
    try:
        server = HttpServer(
            sidecar_app(
                spool,
                metrics,
                kafka_connected=lambda: forwarder.connected,
                max_inflight_bytes=settings.max_inflight_bytes,
            ),
            settings.http_host,
            settings.http_port,
        )
        server.start()
    except BaseException:
        spool.close()
        raise
    forwarder.start()
    print(
        f"watchkeeper sidecar: OTLP/HTTP on {server.url}/v1/traces -> spool "
        f"{settings.sidecar_spool_dir} ({spool.pending_records} pending, bound "
        f"{settings.sidecar_spool_max_bytes} bytes) -> Kafka topic {settings.kafka_topic} at "
        f"{settings.kafka_bootstrap}; metrics {server.url}/metrics. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        forwarder.stop(settings.sidecar_drain_timeout_s)
        spool.close()
    return 0
