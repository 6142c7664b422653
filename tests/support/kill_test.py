"""Crash-recovery check: SIGKILL the collector again and again while traffic flows.

A producer sends ``calls`` OTLP messages (one LLM span each, unique ids) to a fresh topic
through a real broker. Meanwhile the collector (``watchkeeper collect``, a separate
process) is killed with SIGKILL at random moments ``kills`` times and restarted. Then it
runs until its consumer group has committed everything, stops, and the store is checked:
every call present exactly once in query results (``FINAL``), none missing, none extra.

    python -m tests.support.kill_test --calls 100000 --kills 10      # the full run
    python -m tests.support.kill_test --calls 3000 --kills 3         # what the suite runs

Without ``--bootstrap`` it starts its own broker (``tests.support.kafka_broker``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

PARTITIONS = 3


@dataclass
class KillReport:
    """What happened during one run."""

    calls: int
    kills: int
    stored_distinct: int = 0
    stored_final: int = 0
    stored_raw: int = 0
    missing: int = 0
    wall_s: float = 0.0
    kill_times_s: list[float] = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        """Every call present once in query results, nothing missing or extra."""
        return self.missing == 0 and self.stored_final == self.calls == self.stored_distinct


def call_message(index: int, run_id: str) -> tuple[bytes, bytes]:
    """(key, value) of call ``index``: one GenAI span, ids derived from the index."""
    trace_id = uuid.uuid5(uuid.NAMESPACE_OID, f"{run_id}/{index}").bytes
    span = Span(
        trace_id=trace_id,
        span_id=trace_id[:8],
        name="chat kill-model",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=time.time_ns(),
        end_time_unix_nano=time.time_ns() + 1_000_000,
        attributes=[
            _kv("gen_ai.operation.name", "chat"),
            _kv("gen_ai.request.model", "kill-model"),
            _kv("watchkeeper.route", "kill/test"),
            _kv(
                "gen_ai.input.messages",
                f'[{{"role":"user","parts":[{{"type":"text","content":"call {index}"}}]}}]',
            ),
        ],
    )
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=[_kv("service.name", "kill-test")]),
                scope_spans=[ScopeSpans(spans=[span])],
            )
        ]
    )
    return trace_id.hex().encode(), request.SerializeToString()


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _produce(bootstrap: str, topic: str, calls: int, duration_s: float, run_id: str) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    start = time.monotonic()
    for i in range(calls):
        key, value = call_message(i, run_id)
        producer.send(topic, key=key, value=value)
        # Spread the traffic over the run so kills land while messages keep arriving.
        target = start + duration_s * (i + 1) / calls
        delay = target - time.monotonic()
        if delay > 0.001:
            time.sleep(delay)
    producer.flush(timeout=120)
    producer.close(timeout=30)


def _start_collector(
    bootstrap: str, topic: str, group: str, data_dir: Path, log: Path
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    # The broker's minimum: a killed member's partitions move on after 6 s.
    env["WATCHKEEPER_KAFKA_SESSION_TIMEOUT_S"] = "6"
    command = [
        sys.executable, "-m", "watchkeeper.collector.cli", "collect",
        "--kafka-bootstrap", bootstrap, "--kafka-topic", topic, "--kafka-group", group,
        "--data-dir", str(data_dir), "--port", "0",
    ]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def _committed_all(bootstrap: str, topic: str, group: str) -> bool:
    from kafka import KafkaConsumer, TopicPartition

    # A consumer that names the group but never subscribes reads its committed offsets
    # without joining (and so without disturbing) the group.
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        ends = consumer.end_offsets(partitions)
        return all((consumer.committed(tp) or 0) >= ends[tp] for tp in partitions)
    finally:
        consumer.close(autocommit=False)


def run_kill_test(
    bootstrap: str,
    *,
    calls: int = 100_000,
    kills: int = 10,
    seed: int = 1,
    produce_s: float | None = None,
    workdir: Path | None = None,
    progress: bool = True,
) -> KillReport:
    """Run the scenario against the broker at ``bootstrap``; returns what was stored."""
    from tests.support.kafka_broker import create_topic

    rng = random.Random(seed)
    run_id = uuid.uuid4().hex[:8]
    topic, group = f"kill_{run_id}", f"kill-{run_id}"
    create_topic(bootstrap, topic, partitions=PARTITIONS)
    own_dir = workdir is None
    base = Path(tempfile.mkdtemp(prefix="wk-kill-")) if workdir is None else workdir
    data_dir, log = base / "data", base / "collector.log"
    report = KillReport(calls=calls, kills=kills)
    produce_s = produce_s if produce_s is not None else max(5.0, kills * 9.0)
    started = time.monotonic()

    def say(text: str) -> None:
        if progress:
            print(f"[{time.monotonic() - started:7.1f}s] {text}", file=sys.stderr, flush=True)

    producer = threading.Thread(
        target=_produce, args=(bootstrap, topic, calls, produce_s, run_id), daemon=True
    )
    producer.start()
    say(f"producing {calls} calls to {topic} over {produce_s:.0f}s")
    try:
        for k in range(kills):
            collector = _start_collector(bootstrap, topic, group, data_dir, log)
            # Past the killed member's 6 s session, so this one gets partitions and writes
            # batches; the random moment lands kills mid-batch, mid-insert or mid-commit.
            time.sleep(rng.uniform(7.0, 11.0))
            collector.send_signal(signal.SIGKILL)
            collector.wait()
            report.kill_times_s.append(time.monotonic() - started)
            say(f"kill {k + 1}/{kills}")
        producer.join()
        collector = _start_collector(bootstrap, topic, group, data_dir, log)
        deadline = time.monotonic() + 300
        while not _committed_all(bootstrap, topic, group):
            if collector.poll() is not None:
                raise RuntimeError(f"collector exited with {collector.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"collector did not catch up within 300 s; see {log}")
            time.sleep(1.0)
        say("all offsets committed; stopping collector")
        collector.send_signal(signal.SIGTERM)
        collector.wait(timeout=60)
        _count(report, data_dir, run_id)
    finally:
        report.wall_s = time.monotonic() - started
        if own_dir and report.exactly_once:
            shutil.rmtree(base, ignore_errors=True)
        elif progress:
            say(f"kept {base} for inspection")
    return report


def _count(report: KillReport, data_dir: Path, run_id: str) -> None:
    from watchkeeper.collector.store.chdb_backend import ChdbBackend
    from watchkeeper.collector.store.store import Store

    store = Store(ChdbBackend(data_dir / "chdb"))
    try:
        report.stored_final = store.count_calls()
        report.stored_raw = int(store.select("SELECT count() AS n FROM {db}.calls")[0]["n"])
        report.stored_distinct = int(
            store.select("SELECT uniqExact(SpanId) AS n FROM {db}.calls")[0]["n"]
        )
        expected = {call_message(i, run_id)[0].decode()[:16] for i in range(report.calls)}
        stored = {row["SpanId"] for row in store.select("SELECT DISTINCT SpanId FROM {db}.calls")}
        report.missing = len(expected - stored)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    """CLI: run the scenario and print the report; exit 1 unless exactly once."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    args = parser.parse_args(argv)
    if args.bootstrap:
        report = run_kill_test(args.bootstrap, calls=args.calls, kills=args.kills, seed=args.seed)
    else:
        from tests.support.kafka_broker import KafkaBroker

        with KafkaBroker() as broker:
            report = run_kill_test(
                broker.bootstrap, calls=args.calls, kills=args.kills, seed=args.seed
            )
    print(
        f"calls sent {report.calls}, SIGKILLs {report.kills}, stored (FINAL) "
        f"{report.stored_final}, distinct {report.stored_distinct}, raw rows "
        f"{report.stored_raw} (replayed duplicates collapsed by FINAL: "
        f"{report.stored_raw - report.stored_final}), missing {report.missing}, "
        f"wall {report.wall_s:.0f}s -> {'EXACTLY ONCE' if report.exactly_once else 'FAILED'}"
    )
    return 0 if report.exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
