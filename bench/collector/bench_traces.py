"""Collector throughput on agent/RAG traces: LLM calls/s when every call comes with four
more spans (HTTP handler, embedding, search tool, reranker), beside raw consume and
beside the same calls sent alone.

    python -m bench.collector.bench_traces                 # 20,000 calls
    python -m bench.collector.bench_traces --calls 100000
    python -m bench.collector.bench_traces --calls 100000 --unique   # no text repeats

One broker, two topics of 3 partitions filled with the same LLM calls: alone (one span per
message, as ``bench_throughput``) and inside a five-span trace. On each it measures a plain
kafka-python consumer (the ceiling) and the collector's receiver -> pipeline (default
detectors, whole-trace storage at the default settings) -> chDB, as ``watchkeeper collect``
runs it. The figure that matters is LLM calls/s per process with traces, and its ratio to
raw consume of the same messages. The texts come from a corpus of a few hundred
conversations and repeat; ``--unique`` tags each call's prompt and answer with the call's
own id, as on live traffic, where what remembers texts seldom helps.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from bench.collector.bench_throughput import PARTITIONS, pipeline_consume, raw_consume
from bench.collector.bench_throughput import produce as send
from bench.collector.machine_load import describe
from bench.collector.trace_messages import SPANS_PER_CALL, trace_message
from bench.collector.unique_texts import unique_texts
from tests.support.otlp_messages import message

Message = Callable[[int, str], tuple[bytes, bytes]]


def produce(bootstrap: str, topic: str, calls: int, run: str, make: Message) -> None:
    """Send ``calls`` messages made by ``make``."""
    send(bootstrap, topic, calls, run, make)


def measure(
    bootstrap: str,
    calls: int,
    args: argparse.Namespace,
    threads: dict[str, dict[str, float]],
    loads: dict[str, dict[str, float]],
) -> dict[str, dict[str, float]]:
    """Raw consume and the collector's rate, for calls alone and calls in traces; fills
    ``threads`` with each run's CPU µs per call by thread and ``loads`` with what else the
    machine did meanwhile."""
    from tests.support.kafka_broker import create_topic

    detectors = not args.no_detectors
    out: dict[str, dict[str, float]] = {}
    for label, made in (("alone", message), ("traces", trace_message)):
        make = unique_texts(made) if args.unique else made
        run = uuid.uuid4().hex[:8]
        topic = f"bench_{label}_{run}"
        create_topic(bootstrap, topic, partitions=PARTITIONS)
        print(f"producing {calls} {label} ...", file=sys.stderr, flush=True)
        produce(bootstrap, topic, calls, run, make)
        print(f"raw consume {label} ...", file=sys.stderr, flush=True)
        raw = raw_consume(bootstrap, topic, calls)
        print(f"collector {label} ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
            threads[label], loads[label] = {}, {}
            ours = pipeline_consume(
                bootstrap,
                topic,
                calls,
                Path(tmp),
                detectors=detectors,
                threads=threads[label],
                load=loads[label],
            )
        out[label] = {"raw": raw, **ours}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument(
        "--no-detectors", action="store_true", help="the same path without detectors"
    )
    parser.add_argument(
        "--threads", action="store_true", help="also print CPU µs per call by thread"
    )
    parser.add_argument(
        "--unique", action="store_true", help="no call's texts repeat (live traffic's case)"
    )
    args = parser.parse_args(argv)
    threads: dict[str, dict[str, float]] = {}
    loads: dict[str, dict[str, float]] = {}
    if args.bootstrap:
        result = measure(args.bootstrap, args.calls, args, threads, loads)
    else:
        from tests.support.kafka_broker import KafkaBroker

        with KafkaBroker() as broker:
            result = measure(broker.bootstrap, args.calls, args, threads, loads)
    which = "no detectors" if args.no_detectors else "default detectors"
    texts = "unique texts" if args.unique else "texts repeating from the corpus"
    print(f"LLM calls: {args.calls} per run, {PARTITIONS} partitions, {which}, {texts}")
    print("| messages | raw consume, msg/s | collector, LLM calls/s | vs raw | CPU µs per call |")
    print("|---|---|---|---|---|")
    for label, text in (
        ("alone", "1 span per call"),
        ("traces", f"{SPANS_PER_CALL} spans per call"),
    ):
        r = result[label]
        print(
            f"| {text} | {r['raw']:,.0f} | {r['rate']:,.0f} | {r['rate'] / r['raw']:.2f} | "
            f"{r['cpu_us_per_call']:.0f} |"
        )
    for label in ("alone", "traces"):
        if loads.get(label):
            print(f"machine during the collector's {label} run: {describe(loads[label])}")
    if args.threads:
        print_threads(threads)
    return 0


def print_threads(threads: dict[str, dict[str, float]]) -> None:
    """A table of CPU µs per LLM call by thread, alone beside traced."""
    names = sorted(
        set(threads["alone"]) | set(threads["traces"]), key=lambda n: -threads["traces"].get(n, 0)
    )
    print("| thread | alone, CPU µs per call | traces, CPU µs per call |")
    print("|---|---|---|")
    for name in names:
        alone, traced = threads["alone"].get(name, 0.0), threads["traces"].get(name, 0.0)
        if max(alone, traced) >= 0.5:
            print(f"| {name} | {alone:.1f} | {traced:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
