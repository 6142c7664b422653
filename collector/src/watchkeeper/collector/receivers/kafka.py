"""Kafka receiver: a consumer group on ``otlp_spans``, committing only what is stored."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.receivers.kafka_clients import (
    ClientName,
    ClientUnavailableError,
    ConsumerClient,
    Partition,
    open_consumer,
)
from watchkeeper.collector.store.backend import StoreError
from watchkeeper.collector.store.store import DeadLetter

log = logging.getLogger("watchkeeper.collector.kafka")
SOURCE = "kafka"


class ReceiverError(RuntimeError):
    """The receiver cannot start; the message says what to fix."""


class KafkaReceiver:
    """Consumes OTLP messages (otlp_proto or otlp_json) in a consumer group.

    At-least-once: offsets are committed only after :meth:`Pipeline.process` returned,
    i.e. after the store confirmed the batch. When storing a batch fails (or preparing it:
    any exception, not only the store's), the consumer seeks back to the batch's first
    offsets and retries after a pause, so nothing is skipped; a batch that can never be
    stored stops the consumer there (logged each time, consumer lag grows) rather than
    being passed over.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        bootstrap: str,
        topic: str = "otlp_spans",
        group: str = "watchkeeper-collector",
        max_batch: int = 10_000,
        connect_timeout_s: float = 10.0,
        session_timeout_s: float = 10.0,
        checkpoint_s: float = 60.0,
        client: ClientName = "auto",
    ) -> None:
        self.pipeline = pipeline
        self.client = client
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = group
        self.max_batch = max_batch
        self.connect_timeout_s = connect_timeout_s
        self.session_timeout_s = session_timeout_s
        self.checkpoint_s = checkpoint_s
        self._last_checkpoint = time.monotonic()
        self.messages = 0
        self.batches = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._consumer: ConsumerClient | None = None
        self.on_batch: Callable[[int], None] | None = None
        self.dead_letters: KafkaDeadLetterTopic | None = None

    def connect(self) -> None:
        """Join the group; raises :class:`ReceiverError` when the broker is unreachable."""
        try:
            self._consumer = open_consumer(
                self.client,
                bootstrap=self.bootstrap,
                topic=self.topic,
                group=self.group,
                max_batch=self.max_batch,
                connect_timeout_s=self.connect_timeout_s,
                session_timeout_s=self.session_timeout_s,
            )
        except ClientUnavailableError as exc:
            raise ReceiverError(str(exc)) from None
        log.info("consuming %s as group %s with %s", self.topic, self.group, self._consumer.name)

    def _connected(self) -> ConsumerClient:
        if self._consumer is None:
            raise ReceiverError("the Kafka receiver is not connected: call connect() first")
        return self._consumer

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
            self._consumer.close()
            self._consumer = None

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Consume, process and commit one batch synchronously; returns messages handled."""
        polled = self._poll(timeout_ms)
        if polled is None:
            return 0
        payloads, first, after = polled
        try:
            self.pipeline.process(payloads)
        except Exception:
            self._rewind(first)  # whatever failed, the batch is read again, not skipped
            raise
        self._commit(after, len(payloads))
        return len(payloads)

    def _poll(
        self, timeout_ms: int
    ) -> tuple[list[Payload], dict[Partition, int], dict[Partition, int]] | None:
        """One poll: payloads, each partition's first offset and the offset after the last."""
        batch = self._connected().poll(timeout_ms, self.max_batch)
        if not batch:
            return None
        payloads: list[Payload] = []
        first: dict[Partition, int] = {}
        after: dict[Partition, int] = {}
        for partition, records in batch.items():
            first[partition] = records[0][0]
            after[partition] = records[-1][0] + 1
            prefix = f"{partition[0]}/{partition[1]}/"
            payloads.extend(
                Payload(value, SOURCE, None, prefix + str(offset)) for offset, value in records
            )
        return payloads, first, after

    def _commit(self, after: dict[Partition, int], messages: int) -> None:
        """Commit exactly the offsets of a stored batch (a later batch may be in flight)."""
        if self.dead_letters is not None:
            # The dead-letter topic must hold this batch's letters before its offsets move.
            self.dead_letters.flush()
        consumer = self._connected()
        consumer.commit(after)
        self.pipeline.metrics.consumer_lag.labels(self.topic).set(consumer.lag())
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_s:
            self._last_checkpoint = time.monotonic()
            try:
                self.pipeline.save_state()
            except Exception:  # a missed checkpoint costs relearning, not data
                log.exception("detector state checkpoint failed")
        self.messages += messages
        self.batches += 1
        if self.on_batch is not None:
            self.on_batch(messages)

    def _rewind(self, first: dict[Partition, int]) -> None:
        """Seek back so an unstored batch is consumed again."""
        for partition, offset in first.items():
            self._connected().seek(partition, offset)

    def _loop(self) -> None:
        """Poll and prepare batch N+1 while batch N is written on the store thread.

        chDB (and the HTTP client of a ClickHouse server) release the GIL while writing,
        so preparing the next batch overlaps with storing this one. Offsets of a batch are
        committed only after its own write returned; a failed write rewinds the consumer to
        that batch and drops the one prepared behind it, so both are consumed again.
        """
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watchkeeper-store")
        pending: tuple[Future[Any], dict[Partition, int], dict[Partition, int], int, Any] | None
        pending = None
        backoff = 0.5
        try:
            while not self._stop.is_set():
                try:
                    polled = self._poll(500)
                    try:
                        prepared = self.pipeline.prepare(polled[0]) if polled else None
                    except Exception:
                        # Read it again (after the pause below) rather than let a later
                        # commit pass over it; the batch in flight is handled next time.
                        if polled is not None:
                            self._rewind(polled[1])
                        raise
                    if pending is not None:
                        future, first, after, count, _ = pending
                        pending = None
                        try:
                            future.result()
                        except Exception as exc:  # any failure: never commit past the batch
                            self._rewind(first)
                            if prepared is not None:
                                self.pipeline.abandon(prepared)
                            log.warning(
                                "store failed; batch retried in %.1fs: %s",
                                backoff,
                                exc,
                                exc_info=not isinstance(exc, StoreError),
                            )
                            self._stop.wait(backoff)
                            backoff = min(backoff * 2, 30.0)
                            continue
                        self._commit(after, count)
                        backoff = 0.5
                    if polled is not None and prepared is not None:
                        pending = (
                            writer.submit(self.pipeline.write, prepared),
                            polled[1],
                            polled[2],
                            len(polled[0]),
                            prepared,
                        )
                except Exception:
                    log.exception("Kafka receiver error; continuing")
                    self._stop.wait(1.0)
            if pending is not None:
                future, first, after, count, _ = pending
                try:
                    future.result()
                    self._commit(after, count)
                except Exception:
                    log.exception("last batch not stored; it will be consumed again")
        finally:
            writer.shutdown(wait=True)


class KafkaDeadLetterTopic:
    """Also sends dead letters to a Kafka topic: the original bytes, the reason in headers.

    Headers: ``watchkeeper.reason``, ``watchkeeper.detail``, ``watchkeeper.origin``,
    ``watchkeeper.source``. The dead-letter table always has them too; the topic is for
    teams that re-drive bad messages with their own tooling.
    """

    def __init__(self, bootstrap: str, topic: str) -> None:
        from kafka import KafkaProducer

        self.topic = topic
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=5
        )

    def __call__(self, letter: DeadLetter) -> None:
        """Queue one dead letter for the topic."""
        headers = [
            ("watchkeeper.reason", letter.reason.encode()),
            ("watchkeeper.detail", letter.detail[:1000].encode()),
            ("watchkeeper.origin", letter.origin.encode()),
            ("watchkeeper.source", letter.source.encode()),
        ]
        self._producer.send(self.topic, value=letter.payload, headers=headers)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until every queued letter is acknowledged."""
        self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        """Flush and close the producer."""
        self._producer.close(timeout=10)
