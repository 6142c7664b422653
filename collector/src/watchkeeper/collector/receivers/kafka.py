"""Kafka receiver: a consumer group on ``otlp_spans``, committing only what is stored."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.store.backend import StoreError

log = logging.getLogger("watchkeeper.collector.kafka")
SOURCE = "kafka"


class ReceiverError(RuntimeError):
    """The receiver cannot start; the message says what to fix."""


class KafkaReceiver:
    """Consumes OTLP messages (otlp_proto or otlp_json) in a consumer group.

    At-least-once: offsets are committed only after :meth:`Pipeline.process` returned,
    i.e. after the store confirmed the batch. When the store fails, the consumer seeks back
    to the batch's first offsets and retries after a pause, so nothing is skipped.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        bootstrap: str,
        topic: str = "otlp_spans",
        group: str = "watchkeeper-collector",
        max_batch: int = 2000,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.pipeline = pipeline
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self.max_batch = max_batch
        self.connect_timeout_s = connect_timeout_s
        self.messages = 0
        self.batches = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: Any = None
        self.on_batch: Callable[[int], None] | None = None

    def connect(self) -> None:
        """Join the group; raises :class:`ReceiverError` when the broker is unreachable."""
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        try:
            self._consumer = KafkaConsumer(
                self.topic,
                bootstrap_servers=self.bootstrap.split(","),
                group_id=self.group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self.max_batch,
                fetch_max_bytes=64 * 1024 * 1024,
                max_partition_fetch_bytes=16 * 1024 * 1024,
                bootstrap_timeout_ms=int(self.connect_timeout_s * 1000),
                client_id="watchkeeper-collector",
            )
        except KafkaError as exc:
            raise ReceiverError(
                f"cannot reach a Kafka broker at {self.bootstrap} ({type(exc).__name__}); "
                "start it or set --kafka-bootstrap / WATCHKEEPER_KAFKA_BOOTSTRAP"
            ) from None

    def start(self) -> None:
        """Connect (if needed) and consume on a background thread."""
        if self._consumer is None:
            self.connect()
        self._thread = threading.Thread(target=self._loop, name="watchkeeper-kafka", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the batch in hand, commit it, leave the group."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Consume, process and commit one batch; returns the number of messages."""
        consumer = self._consumer
        batch = consumer.poll(timeout_ms=timeout_ms, max_records=self.max_batch)
        if not batch:
            return 0
        payloads = []
        first_offsets = {}
        for partition, records in batch.items():
            first_offsets[partition] = records[0].offset
            payloads.extend(Payload(bytes(r.value or b""), SOURCE) for r in records)
        try:
            self.pipeline.process(payloads)
        except StoreError:
            for partition, offset in first_offsets.items():
                consumer.seek(partition, offset)
            raise
        consumer.commit()
        self.messages += len(payloads)
        self.batches += 1
        if self.on_batch is not None:
            self.on_batch(len(payloads))
        return len(payloads)

    def _loop(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self.poll_once()
                backoff = 0.5
            except StoreError as exc:
                log.warning("store failed, batch will be retried in %.1fs: %s", backoff, exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            except Exception:
                log.exception("Kafka receiver error; continuing")
                self._stop.wait(1.0)
