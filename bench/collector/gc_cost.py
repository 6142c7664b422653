"""What the garbage collector costs the collector process, and what it scans.

    python -m bench.collector.gc_cost --unique                  # 100,000 traced calls
    python -m bench.collector.gc_cost --unique --census 3       # and what gen 0..2 hold
    python -m bench.collector.gc_cost --unique --census 3 --where   # who made it (slow)

The traced calls (five-span agent/RAG traces) go through a real broker into
``bench_throughput.pipeline_consume`` (receiver, pipeline and chDB as ``watchkeeper
collect`` runs them, after ``runtime.tune_for_throughput``). A ``gc.callbacks`` entry
counts every collection from the first committed batch on: by generation, the thread it
ran on, its wall and thread-CPU time, and what it freed (few objects freed per collection
means the scan was pure overhead: objects alive for longer than it took to make 500,000
more).

``--census N`` lists, at the first N collections of each generation (each such census
is excluded from the times), the objects of the generations being scanned by type;
``--where`` also starts ``tracemalloc`` and counts them by the line that made them
(it slows the whole run down several times: read its counts, not its times).
``--no-tune`` leaves CPython's default thresholds (and no freeze), for comparison.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.collector.bench_throughput import PARTITIONS, pipeline_consume
from bench.collector.bench_traces import produce
from bench.collector.trace_messages import trace_message
from bench.collector.unique_texts import unique_texts

#: Lines of each census printed.
TOP = 25


@dataclass
class Collections:
    """Collections seen from ``armed`` on, and the census of the first few."""

    census: int = 0
    where: bool = False
    armed: bool = False
    #: (generation, thread) -> [count, wall s, thread CPU s, collected, uncollectable]
    totals: defaultdict[tuple[int, str], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0.0, 0.0, 0, 0])
    )
    censuses: list[tuple[int, Counter[str], Counter[str]]] = field(default_factory=list)
    #: ``gc.get_count()`` after each committed batch.
    counts: list[tuple[int, int, int]] = field(default_factory=list)
    #: With ``--growth``: generation 0 by type after each committed batch (first and last).
    young: list[Counter[str]] = field(default_factory=list)
    _started: tuple[float, float] = (0.0, 0.0)

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        """The ``gc.callbacks`` entry."""
        if not self.armed:
            return
        generation = info["generation"]
        if phase == "start":
            taken = sum(1 for g, *_ in self.censuses if g == generation)
            if taken < self.census:
                self.censuses.append((generation, *self.count(generation)))
            self._started = (time.perf_counter(), time.thread_time())
            return
        row = self.totals[(generation, threading.current_thread().name)]
        row[0] += 1
        row[1] += time.perf_counter() - self._started[0]
        row[2] += time.thread_time() - self._started[1]
        row[3] += info["collected"]
        row[4] += info["uncollectable"]

    def count(self, generation: int) -> tuple[Counter[str], Counter[str]]:
        """The objects a collection of ``generation`` scans: by type, by where made."""
        types: Counter[str] = Counter()
        where: Counter[str] = Counter()
        for young in range(generation + 1):
            for obj in gc.get_objects(young):
                kind = type(obj)
                types[f"{kind.__module__}.{kind.__qualname__}"] += 1
                if self.where:
                    where[_made_at(obj)] += 1
        return types, where


def _made_at(obj: object) -> str:
    trace = tracemalloc.get_object_traceback(obj)
    if trace is None:
        return "?"
    return " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in trace)


def garbage(seen: Collections) -> None:
    """Count what the collections found unreachable (kept by ``gc.DEBUG_SAVEALL``)."""
    if not gc.garbage:
        return
    types: Counter[str] = Counter()
    where: Counter[str] = Counter()
    for obj in gc.garbage:
        kind = type(obj)
        types[f"{kind.__module__}.{kind.__qualname__}"] += 1
        if seen.where:
            where[_made_at(obj)] += 1
    seen.censuses.append((-1, types, where))
    gc.garbage.clear()


def filled_topic(bootstrap: str, args: argparse.Namespace) -> str:
    """A new topic holding ``args.calls`` traced calls (each run reads it in a new group)."""
    from tests.support.kafka_broker import create_topic

    make = unique_texts(trace_message) if args.unique else trace_message
    tag = uuid.uuid4().hex[:8]
    topic = f"gc_cost_{tag}"
    create_topic(bootstrap, topic, partitions=PARTITIONS)
    print(f"producing {args.calls} traced calls ...", file=sys.stderr, flush=True)
    produce(bootstrap, topic, args.calls, tag, make)
    return topic


def parsed(variant: str) -> tuple[int | None, float | None]:
    """``THRESHOLD[/SWITCH_S]`` (either may be empty: as tuned) as numbers."""
    threshold, _, switch = variant.partition("/")
    return int(threshold) if threshold else None, float(switch) if switch else None


def run(
    bootstrap: str, topic: str, args: argparse.Namespace, variant: str
) -> tuple[Collections, int, dict[str, float]]:
    """One traced run (gen-0 threshold and switch interval of ``variant`` set after
    ``tune_for_throughput``); the collections seen and the calls they are counted over."""
    from watchkeeper.collector import runtime
    from watchkeeper.collector.receivers.kafka import KafkaReceiver

    seen = Collections(census=args.census, where=args.where)
    commit, tune = KafkaReceiver._commit, runtime.tune_for_throughput
    first = [0]
    threshold, switch = parsed(variant)

    def committed(receiver: Any, after: Any, messages: int) -> None:
        commit(receiver, after, messages)
        seen.counts.append(gc.get_count())
        if args.growth and seen.armed:
            seen.young.append(seen.count(0)[0])
        if not seen.armed:
            seen.armed, first[0] = True, receiver.messages
            if args.garbage:
                gc.set_debug(gc.DEBUG_SAVEALL)

    def tuned() -> None:
        if not args.no_tune:
            tune()
        if threshold is not None:
            gc.set_threshold(threshold, *gc.get_threshold()[1:])
        if switch is not None:
            sys.setswitchinterval(switch)

    KafkaReceiver._commit = committed  # type: ignore[method-assign,assignment]
    runtime.tune_for_throughput = tuned
    if args.where:
        tracemalloc.start(args.frames)
    gc.callbacks.append(seen.on_gc)
    threads: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
            rate = pipeline_consume(bootstrap, topic, args.calls, Path(tmp), threads=threads)
    finally:
        gc.callbacks.remove(seen.on_gc)
        gc.set_debug(0)
        KafkaReceiver._commit = commit  # type: ignore[method-assign]
        runtime.tune_for_throughput = tune
        garbage(seen)
    tracemalloc.stop()
    return seen, max(args.calls - first[0], 1), {**rate, **threads}


def rounds(bootstrap: str, args: argparse.Namespace) -> None:
    """``args.rounds`` rounds, each running every variant in turn; each run's report,
    then each variant's process CPU per call and rate, median over the rounds."""
    topic = filled_topic(bootstrap, args)
    variants = args.variants.split(",")
    cpu: defaultdict[str, list[float]] = defaultdict(list)
    rate: defaultdict[str, list[float]] = defaultdict(list)
    for number in range(args.rounds):
        for variant in variants:
            print(f"\n## round {number + 1}, gen-0 threshold/switch interval {variant}")
            seen, calls, figures = run(bootstrap, topic, args, variant)
            report(seen, calls, figures)
            cpu[variant].append(figures["cpu_us_per_call"])
            rate[variant].append(figures["rate"])
    print("\n| variant | process CPU µs/call (median) | calls/s (median) | CPU, rate by run |")
    print("|---|---:|---:|---|")
    for variant in variants:
        pairs = zip(cpu[variant], rate[variant], strict=True)
        runs = ", ".join(f"{c:.1f} {r:.0f}" for c, r in pairs)
        print(
            f"| {variant} | {statistics.median(cpu[variant]):.1f} "
            f"| {statistics.median(rate[variant]):.0f} | {runs} |"
        )


def report(seen: Collections, calls: int, figures: dict[str, float]) -> None:
    """Print the collections per 100,000 calls, their cost per call, and the censuses."""
    print(
        f"{calls} calls counted; {figures['rate']:.0f} calls/s; "
        f"process CPU {figures['cpu_us_per_call']:.1f} µs/call"
    )
    print(
        "| generation | thread | per 100k calls | wall ms each | CPU µs per call "
        "| collected per collection | uncollectable |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for (generation, thread), (n, wall, cpu, collected, bad) in sorted(seen.totals.items()):
        print(
            f"| {generation} | {thread} | {n * 100_000 / calls:.1f} | {wall / n * 1e3:.1f} "
            f"| {cpu / calls * 1e6:.2f} | {collected / n:.0f} | {bad:.0f} |"
        )
    young = [count[0] for count in seen.counts]
    print(f"gen-0 count after each commit ({len(young)}): {young}")
    if len(seen.young) > 1:
        grown = seen.young[-1].copy()
        grown.subtract(seen.young[0])
        print("generation 0 gained from the first counted commit to the last, by type:")
        print(grown.most_common(12))
    total = sum(row[2] for row in seen.totals.values())
    print(f"all collections: {total / calls * 1e6:.2f} µs of CPU per call")
    for generation, types, where in seen.censuses:
        what = f"before a generation-{generation} collection"
        if generation < 0:
            what = "of the garbage the collections found"
        print(f"\ncensus {what}: {sum(types.values())} objects scanned")
        for name, n in types.most_common(TOP):
            print(f"{n:9d}  {name}")
        for name, n in where.most_common(TOP):
            print(f"{n:9d}  {name}")


def main(argv: list[str] | None = None) -> int:
    """Run it and print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument("--unique", action="store_true", help="no call's texts repeat")
    parser.add_argument("--census", type=int, default=0, help="collections per generation")
    parser.add_argument("--where", action="store_true", help="census by line (tracemalloc)")
    parser.add_argument("--frames", type=int, default=3, help="with --where: frames kept")
    parser.add_argument(
        "--garbage", action="store_true", help="count what collections found (DEBUG_SAVEALL)"
    )
    parser.add_argument(
        "--variants",
        default="",
        help="THRESHOLD[/SWITCH_S] list run in turn, e.g. 500000,1000000/0.0005 "
        "(empty: as tune_for_throughput sets them)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of each variant")
    parser.add_argument(
        "--growth", action="store_true", help="what generation 0 gains between commits"
    )
    parser.add_argument("--no-tune", action="store_true", help="CPython's default thresholds")
    args = parser.parse_args(argv)
    if args.bootstrap:
        rounds(args.bootstrap, args)
    else:
        from tests.support.kafka_broker import KafkaBroker

        with KafkaBroker() as broker:
            rounds(broker.bootstrap, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
