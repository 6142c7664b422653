"""Export spans straight to Kafka in the OpenTelemetry Collector's wire format.

Each message is an OTLP ``ExportTraceServiceRequest`` (protobuf) holding the spans of
one trace, keyed by the 32-hex trace id: what the Collector's Kafka exporter writes with
``encoding: otlp_proto`` and ``partition_traces_by_id``, so a trace stays on one
partition (one consumer sees all of it) and an OTel Collector can sit on either side.

:class:`KafkaSink` is what ``configure("kafka")`` uses; :class:`KafkaSpanExporter` is
the same as an OpenTelemetry ``SpanExporter`` for apps with their own tracer provider.
The Kafka client (kafka-python, the ``kafka`` extra; install ``crc32c`` with it, it
makes record checksums about 3x faster) is imported and the producer created on the
first export, on the export thread: an unreachable broker costs that thread its
timeouts, never the app's.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from watchkeeper.sdk.otlp import Envelope, encode_request
from watchkeeper.sdk.span_data import SpanData, from_readable_span

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

logger = logging.getLogger("watchkeeper.sdk")

DEFAULT_TOPIC = "otlp_spans"


def trace_id_key(trace_id: int) -> bytes:
    """The message key for a trace: its id as 32 lowercase hex digits.

    >>> trace_id_key(0x0AF7651916CD43DD8448EB211C80319C)
    b'0af7651916cd43dd8448eb211c80319c'
    """
    return format(trace_id, "032x").encode("ascii")


def encode_by_trace(envelope: Envelope, spans: Sequence[SpanData]) -> list[tuple[bytes, bytes]]:
    """Group spans by trace id; one ``(key, ExportTraceServiceRequest bytes)`` per trace.

    Traces keep the order in which they first appear in the batch.
    """
    by_trace: dict[int, list[SpanData]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    return [
        (trace_id_key(trace_id), encode_request(envelope, group))
        for trace_id, group in by_trace.items()
    ]


def encode_spans_by_trace(spans: Sequence[ReadableSpan]) -> list[tuple[bytes, bytes]]:
    """:func:`encode_by_trace` for OpenTelemetry SDK spans (each keeps its resource/scope)."""
    by_trace: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        trace_id = span.context.trace_id if span.context is not None else 0
        by_trace.setdefault(trace_id, []).append(span)
    messages = []
    for trace_id, group in by_trace.items():
        # Protobuf concatenation appends to repeated fields: one request, several resources.
        body = b"".join(
            encode_request(_envelope_of(span), [from_readable_span(span)]) for span in group
        )
        messages.append((trace_id_key(trace_id), body))
    return messages


def _envelope_of(span: ReadableSpan) -> Envelope:
    scope = span.instrumentation_scope
    return Envelope(
        dict(span.resource.attributes),
        scope.name if scope else "",
        (scope.version or "") if scope else "",
    )


class KafkaProducerClient:
    """A lazily created kafka-python producer that sends messages and waits for acks."""

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
        self.topic = topic
        self._timeout_s = timeout_s
        timeout_ms = int(timeout_s * 1000)
        self._producer_config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "acks": acks,
            "linger_ms": linger_ms,
            "compression_type": compression_type,
            "client_id": "watchkeeper-sdk",
            # Each wait inside the client is bounded by the export timeout, so a dead
            # broker holds the export thread for seconds per batch, never indefinitely.
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

    def send(self, messages: Sequence[tuple[bytes, bytes]]) -> bool:
        """Produce ``(key, value)`` messages and wait for their acknowledgements."""
        if self._closed:
            return False
        try:
            producer = self._get_producer()
            futures = [producer.send(self.topic, key=key, value=value) for key, value in messages]
            producer.flush(timeout=self._timeout_s)
            unacknowledged = [future for future in futures if not future.succeeded()]
        except Exception as error:  # the contract is: return False, never raise
            self._log_failure(error)
            return False
        if unacknowledged:
            failure = unacknowledged[0].exception or TimeoutError("no acknowledgement in time")
            self._log_failure(failure)
            return False
        if self._failing:
            self._failing = False
            logger.info("watchkeeper: Kafka export to %r recovered", self.topic)
        return True

    def flush(self, timeout_s: float) -> bool:
        """Wait until produced messages are acknowledged; False on timeout or error."""
        producer = self._producer
        if producer is None:
            return True
        try:
            producer.flush(timeout=timeout_s)
        except Exception:  # a flush that fails is reported, not raised
            return False
        return True

    def close(self, timeout_s: float) -> None:
        """Close the producer, waiting at most ``timeout_s`` for pending sends."""
        with self._lock:
            self._closed = True
            producer, self._producer = self._producer, None
        if producer is None or self._pid != os.getpid():
            return  # nothing built, or a parent's producer whose thread is not ours
        try:
            producer.close(timeout=max(timeout_s, 0))
        except Exception as error:  # shutdown runs at exit: never raise there
            logger.debug("watchkeeper: closing the Kafka producer failed: %s", error)

    def after_fork(self) -> None:
        """A forked child inherits the parent's producer without its I/O thread."""
        self._lock = threading.Lock()
        self._producer, self._pid = None, os.getpid()

    def _get_producer(self) -> Any:
        if self._pid != os.getpid():
            self.after_fork()
        if self._producer is None:
            from kafka import KafkaProducer

            producer = KafkaProducer(**self._producer_config)
            # kafka-python closes producers from an atexit hook registered now, i.e.
            # after the SDK's, so it would run first and lose the final flush's spans;
            # our shutdown closes the producer instead.
            cleanup = getattr(producer, "_cleanup", None)
            if cleanup is not None:
                atexit.unregister(cleanup)
            with self._lock:
                if self._closed:  # shutdown ran while we were connecting
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
                self.topic,
                type(error).__qualname__,
                error,
            )


class KafkaSink:
    """The export thread's Kafka sink: one message per trace of each batch."""

    def __init__(self, client: KafkaProducerClient, envelope: Envelope) -> None:
        self._client = client
        self._envelope = envelope

    def export(self, spans: Sequence[SpanData]) -> bool:
        """Produce the batch and wait for the broker's acknowledgements."""
        return self._client.send(encode_by_trace(self._envelope, spans))

    def shutdown(self) -> None:
        """Close the producer (pending sends get a few seconds)."""
        self._client.close(timeout_s=5.0)

    def abort(self) -> None:
        """Close the producer without waiting."""
        self._client.close(timeout_s=0)

    def after_fork(self) -> None:
        """Drop the parent's producer."""
        self._client.after_fork()


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
        self._client = KafkaProducerClient(
            bootstrap_servers,
            topic=topic,
            acks=acks,
            linger_ms=linger_ms,
            compression_type=compression_type,
            timeout_s=timeout_s,
            producer_config=producer_config,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Produce one message per trace and wait for the acknowledgements."""
        try:
            messages = encode_spans_by_trace(spans)
        except Exception:  # never raise out of export
            logger.warning("watchkeeper: encoding spans for Kafka failed", exc_info=True)
            return SpanExportResult.FAILURE
        ok = self._client.send(messages)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until produced messages are acknowledged; False on timeout or error."""
        return self._client.flush(timeout_millis / 1000)

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        """Close the producer, waiting at most ``timeout_millis`` for pending sends."""
        self._client.close(timeout_millis / 1000)
