"""Prometheus metrics of ``watchkeeper sidecar``, on a registry of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from watchkeeper.ingest.sidecar.spool import Spool

#: The text exposition format that ``generate_latest`` writes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Why an OTLP request was refused. ``spool_full``, ``spool_error`` (503) and
#: ``throttled`` (429) are retried by OTLP clients; the others (400/413) are not.
REJECT_REASONS = (
    "spool_full",
    "spool_error",
    "throttled",
    "oversized",
    "bad_gzip",
    "empty",
    "bad_protobuf",
    "bad_json",
    "bad_otlp_json",
)
#: Why a spooled message was given up: ``corrupt`` (unreadable on disk after a crash or
#: disk damage), ``rejected_by_broker`` (Kafka will never take it, e.g. too large).
DROP_REASONS = ("corrupt", "rejected_by_broker")


class SidecarMetrics:
    """Every ``watchkeeper_sidecar_*`` metric. Labels are reasons from code, never traffic."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.spans_received = Counter(
            "watchkeeper_sidecar_spans_received_total",
            "Spans accepted into the spool (the client got a 200).",
            registry=r,
        )
        self.requests_rejected = Counter(
            "watchkeeper_sidecar_requests_rejected_total",
            "OTLP requests refused, by reason; spool_full, spool_error and throttled are "
            "retried by the client, bad payloads are not.",
            ["reason"],
            registry=r,
        )
        self.forwarded = Counter(
            "watchkeeper_sidecar_forwarded_messages_total",
            "Kafka messages (one per trace of a request) acknowledged by the brokers and "
            "released from the spool.",
            registry=r,
        )
        self.forward_errors = Counter(
            "watchkeeper_sidecar_forward_errors_total",
            "Attempts to forward spooled messages to Kafka that failed (they stay spooled "
            "and are retried).",
            registry=r,
        )
        self.dropped = Counter(
            "watchkeeper_sidecar_dropped_total",
            "Spooled messages given up, by reason.",
            ["reason"],
            registry=r,
        )
        self.kafka_connected = Gauge(
            "watchkeeper_sidecar_kafka_connected",
            "1 while the sidecar's Kafka producer is connected and its last send succeeded.",
            registry=r,
        )
        # Every series exists from the start, so rate() and absent-based alerts work.
        for reason in REJECT_REASONS:
            self.requests_rejected.labels(reason)
        for reason in DROP_REASONS:
            self.dropped.labels(reason)

    def watch_spool(self, spool: Spool) -> None:
        """Expose the spool's size, depth, bound and oldest record, read at scrape time."""
        self.registry.register(_SpoolCollector(spool))

    def exposition(self) -> bytes:
        """The text exposition format for ``/metrics``."""
        return generate_latest(self.registry)


class _SpoolCollector(Collector):
    def __init__(self, spool: Spool) -> None:
        self._spool = spool

    def collect(self) -> Iterator[Metric]:
        spool = self._spool
        oldest = spool.oldest_appended_ms()
        age = 0.0 if oldest is None else max(0.0, time.time() - oldest / 1000)
        for name, help_text, value in (
            ("watchkeeper_sidecar_spool_bytes", "Bytes the spool takes on disk.", spool.disk_bytes),
            (
                "watchkeeper_sidecar_spool_limit_bytes",
                "Size bound of the spool; at it, new requests get 503.",
                spool.max_bytes,
            ),
            (
                "watchkeeper_sidecar_spool_records",
                "Kafka messages spooled and not yet acknowledged by Kafka.",
                spool.pending_records,
            ),
            (
                "watchkeeper_sidecar_spool_oldest_record_age_seconds",
                "Age of the oldest message waiting in the spool (0 when empty).",
                age,
            ),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)
