"""Export spans straight to Kafka in the OpenTelemetry Collector's wire format.

Each message is an OTLP ``ExportTraceServiceRequest`` (protobuf) holding the spans of
one trace, keyed by the 32-hex trace id: what the Collector's Kafka exporter writes with
``encoding: otlp_proto`` and ``partition_traces_by_id``, so a trace stays on one
partition (one consumer sees all of it) and an OTel Collector can sit on either side.

The Kafka client (kafka-python, the ``kafka`` extra) is imported and the producer
created on the first export, which runs on the batch processor's worker thread: an
unreachable broker costs that thread its timeouts, never the app's.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

logger = logging.getLogger("watchkeeper.sdk")

DEFAULT_TOPIC = "otlp_spans"


def trace_id_key(trace_id: int) -> bytes:
    """The message key for a trace: its id as 32 lowercase hex digits.

    >>> trace_id_key(0x0AF7651916CD43DD8448EB211C80319C)
    b'0af7651916cd43dd8448eb211c80319c'
    """
    return format(trace_id, "032x").encode("ascii")


def encode_spans_by_trace(spans: Sequence[ReadableSpan]) -> list[tuple[bytes, bytes]]:
    """Group spans by trace id; one ``(key, ExportTraceServiceRequest bytes)`` per trace.

    Traces keep the order in which they first appear in the batch.
    """
    by_trace: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        trace_id = span.context.trace_id if span.context is not None else 0
        by_trace.setdefault(trace_id, []).append(span)
    return [
        (trace_id_key(trace_id), encode_spans(group).SerializeToString())
        for trace_id, group in by_trace.items()
    ]


class KafkaSpanExporter(SpanExporter):
    """An OTel ``SpanExporter`` producing OTLP protobuf messages to a Kafka topic.

    ``export`` waits (up to ``timeout_s``) for the broker's acknowledgements so the
    result it returns is true; it never raises. ``acks="all"`` with the client's
    idempotent producer means a retried send is not duplicated. Extra kafka-python
    ``KafkaProducer`` settings (TLS, SASL, ``max_request_size`` ...) go in
    ``producer_config``.

    >>> exporter = KafkaSpanExporter("127.0.0.1:9092")  # nothing connects until export
    >>> exporter.shutdown()
    """

    def __init__(
        self,
        bootstrap_servers: str | Sequence[str],
        *,
        topic: str = DEFAULT_TOPIC,
        acks: int | str = "all",
        linger_ms: int = 5,
        compression_type: str | None = None,
        timeout_s: float = 10.0,
        producer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self._topic = topic
        self._timeout_s = timeout_s
        timeout_ms = int(timeout_s * 1000)
        self._producer_config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "acks": acks,
            "linger_ms": linger_ms,
            "compression_type": compression_type,
            "client_id": "watchkeeper-sdk",
            # Each wait inside the client is bounded by the export timeout, so a dead
            # broker holds the worker thread for seconds per batch, never indefinitely.
            "bootstrap_timeout_ms": timeout_ms,
            "max_block_ms": timeout_ms,
            "request_timeout_ms": timeout_ms,
            "delivery_timeout_ms": timeout_ms + linger_ms,
            **(producer_config or {}),
        }
        self._producer: Any = None
        self._pid = os.getpid()
        self._closed = False
        self._failing = False
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Produce one message per trace and wait for the acknowledgements."""
        if self._closed:
            return SpanExportResult.FAILURE
        try:
            messages = encode_spans_by_trace(spans)
            producer = self._get_producer()
            futures = [producer.send(self._topic, key=key, value=value) for key, value in messages]
            producer.flush(timeout=self._timeout_s)
            unacknowledged = [future for future in futures if not future.succeeded()]
        except Exception as error:  # the contract is: return FAILURE, never raise
            self._log_failure(error)
            return SpanExportResult.FAILURE
        if unacknowledged:
            failure = unacknowledged[0].exception or TimeoutError("no acknowledgement in time")
            self._log_failure(failure)
            return SpanExportResult.FAILURE
        if self._failing:
            self._failing = False
            logger.info("watchkeeper: Kafka export to %r recovered", self._topic)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until produced messages are acknowledged; False on timeout or error."""
        producer = self._producer
        if producer is None:
            return True
        try:
            producer.flush(timeout=timeout_millis / 1000)
        except Exception:  # a flush that fails is reported, not raised
            return False
        return True

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        """Close the producer, waiting at most ``timeout_millis`` for pending sends."""
        with self._lock:
            self._closed = True
            producer, self._producer = self._producer, None
        if producer is None or self._pid != os.getpid():
            return  # nothing built, or a parent's producer whose thread is not ours
        try:
            producer.close(timeout=max(timeout_millis, 0) / 1000)
        except Exception as error:  # shutdown runs at exit: never raise there
            logger.debug("watchkeeper: closing the Kafka producer failed: %s", error)

    def _get_producer(self) -> Any:
        if self._pid != os.getpid():
            # A forked child inherits the parent's producer without its I/O thread.
            self._producer, self._pid = None, os.getpid()
        if self._producer is None:
            from kafka import KafkaProducer

            producer = KafkaProducer(**self._producer_config)
            # kafka-python closes producers from an atexit hook registered now, i.e.
            # after the SDK's, so it would run first and lose the final flush's spans;
            # our shutdown() closes the producer instead.
            cleanup = getattr(producer, "_cleanup", None)
            if cleanup is not None:
                atexit.unregister(cleanup)
            with self._lock:
                if self._closed:  # shutdown() ran while we were connecting
                    producer.close(timeout=0)
                    raise RuntimeError("exporter shut down")
                self._producer = producer
        return self._producer

    def _log_failure(self, error: BaseException) -> None:
        # Once per outage: every batch of a dead broker would otherwise log the same line.
        if not self._failing:
            self._failing = True
            logger.warning(
                "watchkeeper: Kafka export to %r failed (%s: %s); spans are counted as failed "
                "in stats() until it recovers",
                self._topic,
                type(error).__qualname__,
                error,
            )
