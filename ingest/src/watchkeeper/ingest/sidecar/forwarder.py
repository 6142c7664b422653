"""Move spooled messages to Kafka; release them from the spool only once acknowledged.

At-least-once with few duplicates: the producer is idempotent with ``acks=all`` (a
retry inside one producer session is never written twice), messages are committed in
the spool only after the brokers acknowledged them, and in order (a failure stops the
batch at the first unacknowledged message; everything from there is sent again). The
one window for a duplicate is a crash, or a delivery timeout, between the brokers'
write and the spool's commit; the collector stores idempotently by span id, so such a
duplicate never shows in query results.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from watchkeeper.ingest.otlp.decode import MAX_PAYLOAD_BYTES
from watchkeeper.ingest.sidecar.metrics import SidecarMetrics
from watchkeeper.ingest.sidecar.spool import Spool, SpoolEntry

log = logging.getLogger("watchkeeper.ingest.sidecar")

#: Refusals of one message that no retry can fix: sent again on its own and, if refused
#: again, dropped and counted.
_UNSENDABLE = frozenset(
    {
        "MessageSizeTooLargeError",
        "RecordListTooLargeError",
        "InvalidRecordError",
        "CorruptRecordError",
    }
)
BATCH_RECORDS = 2000
BATCH_BYTES = 4 * 1024 * 1024
#: Longest pause between attempts while Kafka is unreachable.
MAX_BACKOFF_S = 5.0


class KafkaForwarder:
    """A thread that drains the spool into a Kafka topic, in order, retrying forever.

    The producer is created lazily and re-created after a failed batch, so a broker that
    was down at start or went away is picked up again without a restart.
    """

    def __init__(
        self,
        spool: Spool,
        metrics: SidecarMetrics,
        *,
        bootstrap: str,
        topic: str,
        delivery_timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.spool = spool
        self.metrics = metrics
        self.bootstrap = bootstrap
        self.topic = topic
        self.delivery_timeout_s = delivery_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.connected = False
        self._producer: Any = None
        self._stop = threading.Event()
        self._drain_until = float("inf")
        self._thread = threading.Thread(target=self._loop, name="watchkeeper-forward", daemon=True)
        self._backoff = 0.25
        self._failing = False
        # After a refusal for good: send the next message on its own (see forward_once).
        self._solo = False

    def start(self) -> None:
        """Start forwarding on a background thread."""
        self._thread.start()

    def stop(self, drain_timeout_s: float = 5.0) -> bool:
        """Keep forwarding for up to ``drain_timeout_s`` while messages are pending, then stop.

        Returns False when the thread was still busy with a send at the deadline (the
        process is about to exit; what it held stays in the spool). What is still pending
        stays in the spool for the next start.
        """
        self._drain_until = time.monotonic() + drain_timeout_s
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(drain_timeout_s + 1.0)
            if self._thread.is_alive():
                return False
        self._close_producer()
        return True

    # -- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            if self._stop.is_set() and (
                self.spool.pending_records == 0 or time.monotonic() >= self._drain_until
            ):
                return
            if not self.spool.wait(0.5):
                continue
            try:
                sent = self.forward_once()
            except Exception:  # never let the thread die; the batch stays spooled
                if self._stop.is_set():
                    return  # the spool was closed under us at exit; it keeps the batch
                log.exception("forwarding to Kafka failed unexpectedly")
                sent = False
            if sent:
                self._backoff = 0.25
            else:
                self._pause()

    def forward_once(self) -> bool:
        """Send one batch from the spool; True when all of it is in Kafka.

        A message the brokers refuse for good (too large, invalid) is retried once on its
        own with a fresh producer, and dropped and counted only if it is refused again:
        after such an error kafka-python fails the messages behind it in the same
        producer too, so the first refusal alone does not say which message is at fault.
        """
        entries = self.spool.read(1 if self._solo else BATCH_RECORDS, BATCH_BYTES)
        if not entries:
            return True
        producer = self._get_producer()
        if producer is None:
            return False
        done, failure = self._send(producer, entries)
        if failure is not None and self._solo and done == 0 and _unsendable(failure):
            log.error("Kafka refused a spooled message for good; dropped: %r", failure)
            self.metrics.dropped.labels("rejected_by_broker").inc()
            done, failure = 1, None
        self.spool.commit(entries[:done])
        self._solo = failure is not None and _unsendable(failure)
        if failure is None:
            if self._failing:
                log.warning("forwarding to Kafka at %s recovered", self.bootstrap)
                self._failing = False
            self.connected = True
            self.metrics.kafka_connected.set(1)
            return True
        self.metrics.forward_errors.inc()
        if self._solo:
            log.warning("Kafka refused a message (%r); retrying it on its own", failure)
        else:
            self._report_failure(failure)
        # Start over with a new producer: the old one may hold failed or expired batches
        # that would fail what is sent next or confuse the idempotence bookkeeping.
        self._close_producer()
        return False

    def _send(
        self, producer: Any, entries: Sequence[SpoolEntry]
    ) -> tuple[int, BaseException | None]:
        """Produce ``entries``; how many from the start Kafka acknowledged, and the first error."""
        futures: list[Any] = []
        for entry in entries:
            try:
                futures.append(producer.send(self.topic, key=entry.key or None, value=entry.value))
            except Exception as exc:  # e.g. over max_request_size, or no metadata in time
                futures.append(exc)
                break
        timeout = self.delivery_timeout_s + 5
        if self._stop.is_set():
            timeout = min(timeout, max(0.5, self._drain_until - time.monotonic()))
        deadline = time.monotonic() + timeout
        # kafka-python 3.0.12's flush raises as soon as it has split an oversized batch;
        # each message's own future below says what happened to it.
        with contextlib.suppress(Exception):
            producer.flush(timeout=timeout)
        done = 0
        for future in futures:
            if isinstance(future, BaseException):
                return done, future
            try:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
            except Exception as exc:  # the message's error, or a timeout
                return done, exc
            self.metrics.forwarded.inc()
            done += 1
        return done, None

    # -- producer ---------------------------------------------------------------------------

    def _get_producer(self) -> Any:
        if self._producer is not None:
            return self._producer
        from kafka import KafkaProducer

        connect_ms = int(self.connect_timeout_s * 1000)
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=self.bootstrap.split(","),
                client_id="watchkeeper-sidecar",
                # Durable in Kafka before it leaves the spool; retries never duplicate.
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                batch_size=256 * 1024,
                # The broker's message.max.bytes decides; the client must not refuse first.
                max_request_size=MAX_PAYLOAD_BYTES + 64 * 1024,
                bootstrap_timeout_ms=connect_ms,
                max_block_ms=connect_ms,
                request_timeout_ms=min(10_000, int(self.delivery_timeout_s * 1000)),
                delivery_timeout_ms=int(self.delivery_timeout_s * 1000),
                reconnect_backoff_max_ms=2000,
            )
        except Exception as exc:  # unreachable broker: keep spooling
            self.metrics.forward_errors.inc()
            self._report_failure(exc)
            return None
        return self._producer

    def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        self.connected = False
        self.metrics.kafka_connected.set(0)
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:  # a broken producer may fail to close; it is gone
                log.debug("closing the Kafka producer failed", exc_info=True)

    def _report_failure(self, error: BaseException) -> None:
        self.connected = False
        self.metrics.kafka_connected.set(0)
        if not self._failing:  # once per outage, not once per attempt
            self._failing = True
            log.warning(
                "cannot forward to Kafka at %s (%s: %s); spans stay spooled and are retried",
                self.bootstrap,
                type(error).__name__,
                error,
            )

    def _pause(self) -> None:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
        if not self._stop.is_set():
            self._stop.wait(delay)
        else:  # draining at shutdown: never sleep past the deadline
            time.sleep(max(0.0, min(delay, self._drain_until - time.monotonic())))


def _unsendable(error: BaseException) -> bool:
    """A refusal of the message itself, which no retry can fix."""
    return type(error).__name__ in _UNSENDABLE
