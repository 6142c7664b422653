"""The two Kafka consumer clients the receiver can run on, behind one small interface.

``confluent`` (confluent-kafka, librdkafka in C) fetches and decodes record batches on its
own threads, outside the GIL: about 4 µs of the collector's CPU per message, where
kafka-python, pure Python, spends about 22 (``make bench-collector`` prints both). The
receiver's work per call is a few hundred microseconds of Python, so that difference is
throughput. ``kafka-python`` stays available for platforms without a confluent-kafka
wheel; ``auto`` picks confluent when it imports.

Both clients are used the same way: manual commits of explicit offsets (the receiver
commits a batch only after the store confirmed it), ``earliest`` for a new group, and
seeks back to a batch that the store refused.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, Protocol

log = logging.getLogger("watchkeeper.collector.kafka")

#: ``(topic, partition)``.
Partition = tuple[str, int]
#: One poll: per partition, ``(offset, value)`` of its messages in order.
Polled = dict[Partition, list[tuple[int, bytes]]]
ClientName = Literal["auto", "confluent", "kafka-python"]


class ClientUnavailableError(RuntimeError):
    """The consumer cannot start; the message says what to fix."""


class ConsumerClient(Protocol):
    """What the receiver needs from a Kafka consumer."""

    name: str

    def poll(self, timeout_ms: int, max_records: int) -> Polled:
        """Messages in hand (possibly none), at most ``max_records``."""
        ...

    def commit(self, after: dict[Partition, int]) -> None:
        """Commit exactly these offsets (the next offset to read per partition); raises
        when the group did not take them (e.g. the partition moved to another member)."""
        ...

    def seek(self, partition: Partition, offset: int) -> None:
        """Read ``partition`` from ``offset`` again (no error when it is not ours now)."""
        ...

    def lag(self) -> int:
        """Messages behind the high watermarks, over the assigned partitions."""
        ...

    def close(self) -> None:
        """Leave the group without committing anything."""
        ...


def open_consumer(
    client: ClientName,
    *,
    bootstrap: str,
    topic: str,
    group: str,
    max_batch: int,
    connect_timeout_s: float,
    session_timeout_s: float,
) -> ConsumerClient:
    """A subscribed consumer; raises :class:`ClientUnavailableError` when it cannot start."""
    if client not in ("auto", "confluent", "kafka-python"):
        raise ClientUnavailableError(
            f"unknown Kafka client {client!r}; use auto, confluent or kafka-python"
        )
    if client in ("auto", "confluent"):
        try:
            import confluent_kafka  # noqa: F401
        except ImportError:
            if client == "confluent":
                raise ClientUnavailableError(
                    "kafka_client=confluent needs the confluent-kafka package "
                    "(pip install confluent-kafka), or set kafka_client=kafka-python"
                ) from None
        else:
            return ConfluentClient(
                bootstrap=bootstrap,
                topic=topic,
                group=group,
                connect_timeout_s=connect_timeout_s,
                session_timeout_s=session_timeout_s,
            )
    return KafkaPythonClient(
        bootstrap=bootstrap,
        topic=topic,
        group=group,
        max_batch=max_batch,
        connect_timeout_s=connect_timeout_s,
        session_timeout_s=session_timeout_s,
    )


def _unreachable(bootstrap: str, why: str) -> ClientUnavailableError:
    return ClientUnavailableError(
        f"cannot reach a Kafka broker at {bootstrap} ({why}); "
        "start it or set --kafka-bootstrap / WATCHKEEPER_KAFKA_BOOTSTRAP"
    )


class ConfluentClient:
    """confluent-kafka's ``Consumer``; librdkafka's log lines go to Python logging."""

    name = "confluent"

    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        group: str,
        connect_timeout_s: float,
        session_timeout_s: float,
    ) -> None:
        from confluent_kafka import Consumer, KafkaException

        librdkafka_log = _LibrdkafkaLog()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "client.id": "watchkeeper-collector",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": int(session_timeout_s * 1000),
                "heartbeat.interval.ms": int(session_timeout_s * 1000 / 10),
                # Prefetch is bounded: at most this much waits in librdkafka's queues.
                "queued.max.messages.kbytes": 64 * 1024,
                "fetch.max.bytes": 64 * 1024 * 1024,
                "max.partition.fetch.bytes": 16 * 1024 * 1024,
            },
            logger=librdkafka_log,
        )
        try:
            # librdkafka connects lazily: ask for metadata to fail now, with a clear message.
            self._consumer.list_topics(topic, timeout=connect_timeout_s)
        except KafkaException as exc:
            self._consumer.close()
            raise _unreachable(bootstrap, _kafka_error_name(exc)) from None
        librdkafka_log.quiet = False
        self._consumer.subscribe([topic])
        self.topic = topic

    def poll(self, timeout_ms: int, max_records: int) -> Polled:
        """Up to ``max_records`` messages; per-message errors are logged and skipped."""
        messages = self._consumer.consume(num_messages=max_records, timeout=timeout_ms / 1000)
        out: Polled = {}
        for message in messages:
            error = message.error()
            if error is not None:
                # Partition EOF is not an error; anything else is the broker's or the
                # network's, which librdkafka retries on its own.
                if error.code() != error._PARTITION_EOF:
                    log.warning("Kafka consumer: %s", error)
                continue
            key = (message.topic(), message.partition())
            entries = out.get(key)
            if entries is None:
                entries = out[key] = []
            entries.append((message.offset(), message.value() or b""))
        return out

    def commit(self, after: dict[Partition, int]) -> None:
        """Synchronous commit of explicit offsets."""
        from confluent_kafka import TopicPartition

        self._consumer.commit(
            offsets=[TopicPartition(t, p, offset) for (t, p), offset in after.items()],
            asynchronous=False,
        )

    def seek(self, partition: Partition, offset: int) -> None:
        """Seek back; a partition no longer assigned is left to its new owner."""
        from confluent_kafka import TopicPartition

        try:
            self._consumer.seek(TopicPartition(partition[0], partition[1], offset))
        except Exception:  # revoked meanwhile: its new owner starts from the commit
            log.debug("could not seek %s back to %s", partition, offset)

    def lag(self) -> int:
        """From the watermarks librdkafka already fetched (no extra round trip)."""
        lag = 0
        assigned = self._consumer.assignment()
        if not assigned:
            return 0
        for tp in self._consumer.position(assigned):
            if tp.offset < 0:
                continue  # nothing consumed there yet
            _, high = self._consumer.get_watermark_offsets(tp, cached=True)
            if high >= 0:
                lag += max(0, high - tp.offset)
        return lag

    def close(self) -> None:
        """Leave the group (offsets were committed batch by batch)."""
        self._consumer.close()


class _LibrdkafkaLog:
    """Where librdkafka's own log lines go: each distinct line once at its level, repeats
    at debug. librdkafka retries a lost broker every few hundred milliseconds and says so
    each time; the receiver reports what matters (lag, errors) in metrics and logs."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        #: While connecting, failures become one clear error of ours: all lines at debug.
        self.quiet = True

    def log(self, level: int, fmt: str, *args: Any) -> None:
        """Called by librdkafka with a Python logging level."""
        text = fmt % args if args else fmt
        if self.quiet or text in self._seen:
            level = logging.DEBUG
        elif len(self._seen) < 1000:  # bounded: distinct lines carry addresses and counts
            self._seen.add(text)
        _librdkafka.log(level, "%s", text)


_librdkafka = logging.getLogger("watchkeeper.collector.kafka.librdkafka")


def _kafka_error_name(exc: Exception) -> str:
    error = exc.args[0] if exc.args else None
    name = getattr(error, "name", None)
    return str(name()) if callable(name) else type(exc).__name__


class KafkaPythonClient:
    """kafka-python's ``KafkaConsumer`` (pure Python)."""

    name = "kafka-python"

    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        group: str,
        max_batch: int,
        connect_timeout_s: float,
        session_timeout_s: float,
    ) -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        try:
            self._consumer: Any = KafkaConsumer(
                topic,
                bootstrap_servers=bootstrap.split(","),
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=max_batch,
                fetch_max_bytes=64 * 1024 * 1024,
                max_partition_fetch_bytes=16 * 1024 * 1024,
                bootstrap_timeout_ms=int(connect_timeout_s * 1000),
                session_timeout_ms=int(session_timeout_s * 1000),
                heartbeat_interval_ms=int(session_timeout_s * 1000 / 10),
                client_id="watchkeeper-collector",
            )
        except KafkaError as exc:
            raise _unreachable(bootstrap, type(exc).__name__) from None

    def poll(self, timeout_ms: int, max_records: int) -> Polled:
        """One ``KafkaConsumer.poll``."""
        batch = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        return {
            (tp.topic, tp.partition): [(r.offset, bytes(r.value or b"")) for r in records]
            for tp, records in batch.items()
        }

    def commit(self, after: dict[Partition, int]) -> None:
        """Synchronous commit of explicit offsets."""
        from kafka.structs import OffsetAndMetadata, TopicPartition

        self._consumer.commit(
            {
                TopicPartition(t, p): OffsetAndMetadata(offset, "", -1)
                for (t, p), offset in after.items()
            }
        )

    def seek(self, partition: Partition, offset: int) -> None:
        """Seek back; a partition no longer assigned is left to its new owner."""
        from kafka.structs import TopicPartition

        try:
            self._consumer.seek(TopicPartition(*partition), offset)
        except Exception:  # revoked meanwhile: its new owner starts from the commit
            log.debug("could not seek %s back to %s", partition, offset)

    def lag(self) -> int:
        """From the high watermarks of the last fetch responses."""
        lag = 0
        for partition in self._consumer.assignment():
            highwater = self._consumer.highwater(partition)
            if highwater is not None:
                lag += max(0, highwater - self._consumer.position(partition))
        return lag

    def close(self) -> None:
        """Leave the group (offsets were committed batch by batch)."""
        self._consumer.close(autocommit=False)
