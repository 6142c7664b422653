"""Collector throughput: calls/s from a real broker into chDB, beside raw consume.

    make bench-collector                       # 100,000 calls
    python -m bench.collector.bench_throughput --calls 20000

All rates are measured in one run on the same messages: first plain kafka-python and
confluent-kafka consumers that only iterate the messages (the ceilings of each client),
then the collector's own receiver (on its default client, confluent-kafka) -> pipeline
(decode, normalize, default detectors, sampling, review routing) -> chDB, committing
offsets after each stored batch, as ``watchkeeper collect`` does. Messages look like
what the SDK sends: one GenAI span per trace with a 500-character prompt and answer
(real dialogue from chatterbot-corpus), model, token counts, user id.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.otlp_messages import message

PARTITIONS = 3


def produce(
    bootstrap: str,
    topic: str,
    calls: int,
    run: str,
    make: Callable[[int, str], tuple[bytes, bytes]] = message,
) -> float:
    """Send ``calls`` messages made by ``make``; returns seconds taken."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=512 * 1024
    )
    started = time.perf_counter()
    for i in range(calls):
        key, value = make(i, run)
        producer.send(topic, key=key, value=value)
    producer.flush(timeout=300)
    producer.close()
    return time.perf_counter() - started


def raw_consume(bootstrap: str, topic: str, calls: int) -> float:
    """calls/s of a kafka-python consumer group that only touches each message."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=2000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    total, counted = 0, 0
    started = None
    deadline = time.monotonic() + 600
    while total < calls and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=1000, max_records=2000)
        n = 0
        for records in batch.values():
            for record in records:
                n += len(record.value) > 0
        if batch:
            consumer.commit()
        total += n
        if started is None:
            if n:  # as for the collector: the clock starts after the first batch
                started = time.perf_counter()
            continue
        counted += n
    consumer.close(autocommit=False)
    if total < calls:
        raise RuntimeError(f"raw consumer saw only {total} of {calls}")
    return timed_rate(counted, started)


def timed_rate(counted: int, started: float | None, ended: float | None = None) -> float:
    """Messages per second after the first batch; an error when none came after it (the
    clock starts at the first batch, so a run that fits in one batch cannot be timed)."""
    if started is None or counted <= 0:
        raise RuntimeError(
            "every message came in the first batch, so no rate can be timed: run with more --calls"
        )
    return counted / ((ended or time.perf_counter()) - started)


def raw_consume_confluent(bootstrap: str, topic: str, calls: int) -> float:
    """calls/s of a confluent-kafka (librdkafka) consumer that only touches each message."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    total, counted = 0, 0
    started = None
    deadline = time.monotonic() + 600
    while total < calls and time.monotonic() < deadline:
        batch = consumer.consume(num_messages=2000, timeout=1.0)
        n = sum(len(m.value() or b"") > 0 for m in batch if m.error() is None)
        if batch:
            consumer.commit(asynchronous=False)
        total += n
        if started is None:
            if n:
                started = time.perf_counter()
            continue
        counted += n
    consumer.close()
    if total < calls:
        raise RuntimeError(f"raw consumer saw only {total} of {calls}")
    return timed_rate(counted, started)


def pipeline_consume(
    bootstrap: str,
    topic: str,
    calls: int,
    data_dir: Path,
    *,
    detectors: bool = True,
    client: str = "auto",
    max_batch: int | None = None,
    threads: dict[str, float] | None = None,
    load: dict[str, float] | None = None,
) -> dict[str, float]:
    """calls/s through the collector's receiver, pipeline and chDB store.

    ``detectors=False`` runs the same path with no detector, to show what the detectors
    cost beside decoding, normalising, sampling and storing. ``threads``, when given, is
    filled with each kind of thread's CPU µs per call over the timed part; ``load`` with
    what else the machine did then (:mod:`bench.collector.machine_load`).
    """
    from bench.collector import machine_load, thread_cpu
    from watchkeeper.collector.receivers.kafka import KafkaReceiver
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import open_store

    options: dict[str, object] = {"data_dir": data_dir}
    if max_batch is not None:
        options["kafka_max_batch"] = max_batch
    settings = Settings.model_validate(options)
    tune_for_throughput()  # as `watchkeeper collect` does
    store = open_store(settings)
    pipeline = build_pipeline(settings, store)
    if not detectors:
        from watchkeeper.collector.processors.detect import DetectorStage

        pipeline.detect = DetectorStage([])
    # Batch sizes as the receiver hands them over: each store batch writes a part per table
    # (milliseconds of fixed work each), so smaller batches cost more CPU per call.
    sizes: list[int] = []
    prepare = pipeline.prepare

    def counted(payloads: Any) -> Any:
        sizes.append(len(payloads))
        return prepare(payloads)

    pipeline.prepare = counted  # type: ignore[method-assign]
    receiver = KafkaReceiver(
        pipeline,
        bootstrap=bootstrap,
        topic=topic,
        group=f"bench-{uuid.uuid4().hex[:6]}",
        max_batch=settings.kafka_max_batch,
        client=client,  # type: ignore[arg-type]
    )
    receiver.connect()
    # The receiver's own loop, as `watchkeeper collect` runs it (prepare overlaps writes).
    receiver.start()
    started = None
    cpu_started = 0.0
    deadline = time.monotonic() + 900
    while receiver.messages < calls and time.monotonic() < deadline:
        if receiver.messages and started is None:
            # Clock starts at the first committed batch: group join is not throughput.
            started, cpu_started, first = (
                time.perf_counter(),
                time.process_time(),
                receiver.messages,
            )
            threads_started = thread_cpu.snapshot()
            load_started = machine_load.sample()
        time.sleep(0.01)
    seen = receiver.messages - (first if started else 0)
    ended, cpu = time.perf_counter(), time.process_time() - cpu_started
    if threads is not None and started is not None:
        threads.update(thread_cpu.per_name(threads_started, thread_cpu.snapshot(), seen))
    if load is not None and started is not None:
        load.update(machine_load.between(load_started, machine_load.sample(), seen))
    receiver.stop()
    stored = store.count_calls()
    pipeline.close()
    store.close()
    if stored != calls:
        raise RuntimeError(f"stored {stored} calls, expected {calls}")
    return {
        "rate": timed_rate(seen if started else 0, started, ended),
        "cpu_us_per_call": cpu / seen * 1e6,
        "mean_batch": sum(sizes) / max(1, len(sizes)),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument(
        "--max-batch", type=int, help="records per store batch (default: kafka_max_batch's)"
    )
    args = parser.parse_args(argv)

    def run(bootstrap: str) -> dict[str, float]:
        from tests.support.kafka_broker import create_topic

        run_id = uuid.uuid4().hex[:8]
        topic = f"bench_{run_id}"
        create_topic(bootstrap, topic, partitions=PARTITIONS)
        print(f"producing {args.calls} calls ...", file=sys.stderr, flush=True)
        produce_s = produce(bootstrap, topic, args.calls, run_id)
        print("raw kafka-python consume ...", file=sys.stderr, flush=True)
        raw = raw_consume(bootstrap, topic, args.calls)
        print("raw confluent-kafka consume ...", file=sys.stderr, flush=True)
        raw_confluent = raw_consume_confluent(bootstrap, topic, args.calls)
        print("collector pipeline -> chDB ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
            ours = pipeline_consume(
                bootstrap, topic, args.calls, Path(tmp), max_batch=args.max_batch
            )
        print("collector pipeline without detectors -> chDB ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
            bare = pipeline_consume(
                bootstrap, topic, args.calls, Path(tmp), detectors=False, max_batch=args.max_batch
            )
        return {
            "produce_s": produce_s,
            "raw": raw,
            "raw_confluent": raw_confluent,
            **ours,
            "bare_rate": bare["rate"],
            "bare_cpu": bare["cpu_us_per_call"],
            "bare_batch": bare["mean_batch"],
        }

    if args.bootstrap:
        result = run(args.bootstrap)
    else:
        from tests.support.kafka_broker import KafkaBroker

        with KafkaBroker() as broker:
            result = run(broker.bootstrap)
    from watchkeeper.collector.settings import Settings

    batch = args.max_batch or Settings().kafka_max_batch
    print(
        f"calls: {args.calls} (one 500-char prompt + answer each), {PARTITIONS} partitions, "
        f"store batches of up to {batch:,} records"
    )
    print("| path | calls/s | vs raw consume |")
    print("|---|---|---|")
    print(f"| raw kafka-python consume (no processing) | {result['raw']:,.0f} | 1.00 |")
    print(
        f"| raw confluent-kafka consume (no processing) | {result['raw_confluent']:,.0f} | "
        f"{result['raw_confluent'] / result['raw']:.2f} |"
    )
    print(
        f"| collector: Kafka -> pipeline (default detectors) -> chDB | {result['rate']:,.0f} | "
        f"{result['rate'] / result['raw']:.2f} |"
    )
    print(
        f"| collector, same path without detectors | {result['bare_rate']:,.0f} | "
        f"{result['bare_rate'] / result['raw']:.2f} |"
    )
    print(
        f"collector CPU per call (process time, all threads): {result['cpu_us_per_call']:.0f} µs "
        f"with the default detectors, {result['bare_cpu']:.0f} µs without"
    )
    print(
        f"mean store batch: {result['mean_batch']:,.0f} records with the default detectors, "
        f"{result['bare_batch']:,.0f} without"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
