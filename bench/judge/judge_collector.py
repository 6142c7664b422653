"""The judge's cost in the collector benchmark: Kafka -> receiver -> pipeline -> chDB, with
the default judge against without, as ratios in one run.

    make bench-judge-collector                            # 7 rounds of 6,000 calls each
    python -m bench.judge.judge_collector --rounds 5 --calls 4000
    python -m bench.judge.judge_collector --rounds 8 --calls 20000 --window 30 \
        --ways without,default,control --unique --threads

The collector benchmark's path and messages (bench/collector/bench_throughput.py: a real
Kafka broker, the collector's own receiver on its default client, the pipeline with the
default detectors, the chDB store, offsets committed after each stored batch; one
SDK-like span per trace with a 500-character prompt and answer) run in three ways over
one chDB process, each in a database of its own (so that each way's turns hold the chDB
merges of its own parts) and on a topic of its own with ``--calls`` messages per round:

- ``without``: no judge;
- ``default``: the default judge as a user configures it (``base_url`` and ``model``
  only: sample rate 0.05 with reviewed calls first, 2 worker threads, the default budget
  of 1,000 requests and 2,000,000 tokens an hour). Its first hour's allowance is spent in
  the warm-up, so the rounds show the steady state a running collector is in;
- ``unlimited``: the same judge with no budget, which judges everything it samples;
- ``control``: a second collector with no judge (``--ways``: not run by default), whose
  ratio to ``without`` is the run's noise floor: what the same work measures as.

``--ways`` picks which run (``without`` always). The messages' texts repeat (the corpus
cycles), so the judge's verdict cache answers many calls it picks, as for an FAQ bot;
with ``--unique`` every call's texts differ, as in most live traffic, and it answers none.
``--threads`` adds each way's CPU per call by thread. The order of the ways changes from round
to round so that each way follows each other one equally often (:func:`williams`): with a
fixed rotation, a way that always came after the same one measured up to 10 % off. A
judged turn's window lasts until its judge has written what it picked, so the judge's
requests and writes fall inside it. Per turn: calls/s (from the first committed batch to
the last) and the process CPU per ingested call, of all threads and less the judge threads
(named ``judge-*``; their own CPU clocks). Printed: each round's ratios against
``without``, then their medians, quartiles and range.
The judge's endpoint is the tests' stand-in chat-completions server in its own process on
loopback, so the model's work is not counted; the broker is a process of its own too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from bench.collector import thread_cpu
from bench.collector.bench_throughput import PARTITIONS, produce, timed_rate
from bench.judge.judge_rounds import chdb_thread_cpu, judge_thread_cpu
from bench.judge.standin_endpoint import standin_endpoint
from bench.judge.unique_messages import produce_unique

#: Every way; ``--ways`` picks some (``without`` always).
WAYS = ("without", "default", "unlimited", "control")
DEFAULT_WAYS = "without,default,unlimited"


class Turn(NamedTuple):
    """One way's turn of a round."""

    calls_per_s: float
    #: Process CPU per ingested call, all threads (µs).
    process: float
    #: The judge threads' CPU per ingested call (µs).
    judge_threads: float
    #: chDB's own threads' CPU per ingested call (µs): its inserts, merges, views.
    chdb_threads: float
    #: Judge requests per 1,000 ingested calls.
    requests: float
    #: CPU per ingested call (µs) by thread name (``bench.collector.thread_cpu``).
    threads: dict[str, float]

    @property
    def less_judge(self) -> float:
        """Process CPU per call less the judge threads'."""
        return self.process - self.judge_threads


def main(argv: list[str] | None = None) -> int:
    """Start a broker and the stand-in endpoint, run the rounds, print them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=6000, help="calls per way per round")
    parser.add_argument(
        "--window", type=float, default=30.0, help="seconds each turn's CPU is counted over"
    )
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument(
        "--ways", default=DEFAULT_WAYS, help=f"comma-separated, of {', '.join(WAYS)}"
    )
    parser.add_argument(
        "--unique", action="store_true", help="every call's texts differ (no cache hits)"
    )
    parser.add_argument(
        "--threads", action="store_true", help="also print CPU per call by thread and way"
    )
    args = parser.parse_args(argv)
    ways = ("without", *(w for w in WAYS[1:] if w in args.ways.split(",")))
    plan = Plan(ways, args.rounds, args.calls, args.window, args.unique, args.threads)
    with standin_endpoint() as base_url:
        if args.bootstrap:
            run(args.bootstrap, base_url, plan)
        else:
            from tests.support.kafka_broker import KafkaBroker

            with KafkaBroker() as broker:
                run(broker.bootstrap, base_url, plan)
    return 0


class Plan(NamedTuple):
    """What the command line asked for."""

    ways: tuple[str, ...]
    rounds: int
    calls: int
    window_s: float
    #: Every call's texts differ (``unique_messages.py``): the verdict cache answers none.
    unique: bool = False
    #: Print each way's CPU per call by thread.
    threads: bool = False


def settings_for(way: str, data_dir: Path, base_url: str) -> Any:
    """The settings of one way: no judge, the default judge, or it with no budget."""
    from watchkeeper.collector.settings import load_settings

    keys: dict[str, Any] = {"data_dir": data_dir, "database": f"judge_bench_{way}"}
    if way in ("default", "unlimited"):
        keys |= {"judge_base_url": base_url, "judge_model": "standin"}
    if way == "unlimited":
        keys |= {
            "judge_max_requests_per_hour": 10_000_000,
            "judge_max_tokens_per_hour": 10_000_000_000,
        }
    return load_settings(overrides=keys, environ={})


class Collector:
    """One way's pipeline (and judge) over the shared store."""

    def __init__(self, way: str, backend: Any, data_dir: Path, base_url: str) -> None:
        from watchkeeper.collector.judge.start import attach_judges
        from watchkeeper.collector.runtime import build_pipeline
        from watchkeeper.collector.store.store import Store

        self.way = way
        settings = settings_for(way, data_dir, base_url)
        # A database of its own: its merges are of its own parts only (one shared store
        # set the merges of every way's parts on whichever turn came third).
        self.store = store = Store(backend, settings.database, settings.ttl_days)
        store.migrate()
        self.pipeline = build_pipeline(settings, store)
        self.workers = attach_judges(settings, store, self.pipeline)
        self.max_batch = settings.kafka.max_batch

    def metric(self, name: str, **labels: str) -> float:
        """A judge metric's value (0 without a judge)."""
        registry = self.pipeline.metrics.registry
        return float(registry.get_sample_value(name, {"judge": "default", **labels}) or 0.0)

    def requests(self) -> float:
        """Requests made so far."""
        return self.metric("watchkeeper_judge_request_duration_seconds_count")

    def turn(self, bootstrap: str, topic: str, calls: int, window_s: float) -> Turn:
        """Consume ``topic``'s ``calls`` messages through this way's collector; the turn's
        window lasts until the judge and chDB's merges are done, and at least ``window_s``."""
        from watchkeeper.collector.receivers.kafka import KafkaReceiver

        receiver = KafkaReceiver(
            self.pipeline,
            bootstrap=bootstrap,
            topic=topic,
            group=f"bench-{uuid.uuid4().hex[:6]}",
            max_batch=self.max_batch,
        )
        receiver.connect()
        asked, cpu, threads = self.requests(), time.process_time(), thread_cpu.snapshot()
        judge_cpu, chdb_cpu = judge_thread_cpu(), chdb_thread_cpu()
        began = time.monotonic()
        receiver.start()
        started, first = None, 0
        deadline = time.monotonic() + 900
        while receiver.messages < calls and time.monotonic() < deadline:
            if receiver.messages and started is None:
                # The clock starts at the first committed batch: group join is not throughput.
                started, first = time.perf_counter(), receiver.messages
            time.sleep(0.01)
        ended = time.perf_counter()
        # The receiver's thread ends with the turn: its CPU is read before it stops.
        consumed = thread_cpu.snapshot()
        receiver.stop()
        while self.workers is not None and not self.workers.idle():
            # The judge's writer takes up to 10 s: polled at 100 Hz, this thread (the
            # harness, not the collector) spent CPU that only the judged ways paid.
            time.sleep(0.2)
        self.settle(began + window_s)
        return Turn(
            timed_rate(receiver.messages - first, started, ended),
            (time.process_time() - cpu) / calls * 1e6,
            (judge_thread_cpu() - judge_cpu) / calls * 1e6,
            (chdb_thread_cpu() - chdb_cpu) / calls * 1e6,
            (self.requests() - asked) / calls * 1000,
            thread_cpu.per_name(threads, consumed | thread_cpu.snapshot(), calls),
        )

    def settle(self, until: float) -> None:
        """Wait for chDB's merges of what was written (so that a turn holds the merges its
        own inserts set off, not the next turn), then until ``until`` (so that every turn
        holds as much of chDB's idle background work)."""
        quiet = 0
        deadline = time.monotonic() + 120
        while quiet < 5 and time.monotonic() < deadline:
            merging = self.store.select("SELECT count() AS n FROM system.merges")[0]["n"]
            quiet = 0 if merging else quiet + 1
            time.sleep(0.1)
        late = time.monotonic() - until
        if late > 0:
            print(f"  ({self.way}: turn {late:.1f} s longer than --window)", file=sys.stderr)
        time.sleep(max(0.0, -late))

    def close(self) -> None:
        """Stop the judge and the pipeline."""
        if self.workers is not None:
            self.workers.close()
        self.pipeline.close()


def run(bootstrap: str, base_url: str, plan: Plan) -> None:
    """Produce every turn's topic, then the warm-up and the rounds (see the module)."""
    from tests.support.kafka_broker import create_topic
    from watchkeeper.collector.runtime import tune_for_throughput
    from watchkeeper.collector.store.store import open_store

    calls, ways, size = plan.calls, plan.ways, (plan.calls, plan.window_s)
    run_id = uuid.uuid4().hex[:8]
    topics = [f"judge_{run_id}_{i}" for i in range((plan.rounds + 1) * len(ways))]
    texts = "unique texts" if plan.unique else "texts repeating"
    print(f"producing {len(topics)} topics of {calls} calls ({texts}) ...", file=sys.stderr)
    send = produce_unique if plan.unique else produce
    for i, topic in enumerate(topics):
        create_topic(bootstrap, topic, partitions=PARTITIONS)
        send(bootstrap, topic, calls, f"{run_id}-{i}")
    with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
        tune_for_throughput()  # as `watchkeeper collect` does
        store = open_store(settings_for("without", Path(tmp), base_url))
        collectors = {way: Collector(way, store.backend, Path(tmp), base_url) for way in ways}
        try:
            results = rounds_of(collectors, bootstrap, iter(topics), plan.rounds, size)
            skipped = (
                collectors["default"].metric("watchkeeper_judge_skipped_total", reason="budget")
                if "default" in collectors
                else 0.0
            )
        finally:
            for collector in collectors.values():
                collector.close()
            store.close()
    summary(results, calls, skipped)
    if plan.threads:
        print_threads(results)


def rounds_of(
    collectors: dict[str, Collector],
    bootstrap: str,
    topics: Any,
    rounds: int,
    size: tuple[int, float],
) -> list[dict[str, Turn]]:
    """A warm-up turn each (the default judge spends its first hour's allowance), then the
    rounds, the order rotating."""
    ways = tuple(collectors)
    for way in ways:
        collectors[way].turn(bootstrap, next(topics), *size)
    print(f"{rounds} rounds of {size[0]} calls per way, windows of {size[1]:.0f} s:")
    results = []
    orders = williams(len(ways))
    for index in range(rounds):
        order = tuple(ways[i] for i in orders[index % len(orders)])
        got = {way: collectors[way].turn(bootstrap, next(topics), *size) for way in order}
        results.append(got)
        print_round(index, got)
    return results


def williams(n: int) -> list[list[int]]:
    """Orders of ``n`` ways in which each way comes right after each other one equally
    often (a Williams design: ``n`` orders for even ``n``, ``2n`` for odd), so that what a
    turn leaves behind for the next is spread evenly over the ways.

    >>> williams(3)
    [[0, 1, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0], [0, 2, 1], [1, 0, 2]]
    """
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    orders = [[(way + shift) % n for way in first] for shift in range(n)]
    return orders if n % 2 == 0 else orders + [order[::-1] for order in orders]


def print_round(index: int, got: dict[str, Turn]) -> None:
    """One round's figures and ratios."""
    base = got["without"]
    line = (
        f"  round {index + 1} (load {os.getloadavg()[0]:.1f}): without "
        f"{base.calls_per_s:,.0f} calls/s, {base.process:.0f} µs CPU/call"
    )
    for way in [w for w in WAYS[1:] if w in got]:
        t = got[way]
        line += (
            f"; {way} x{t.calls_per_s / base.calls_per_s:.3f} calls/s, CPU "
            f"x{t.process / base.process:.3f}, less judge threads "
            f"x{t.less_judge / base.less_judge:.3f} ({t.requests:.1f} req/1k)"
        )
    print(line, flush=True)


#: The figures compared, with/without.
FIGURES: tuple[tuple[str, Callable[[Turn], float]], ...] = (
    ("calls/s", lambda t: t.calls_per_s),
    ("process CPU per call, all threads", lambda t: t.process),
    ("process CPU per call less the judge threads", lambda t: t.less_judge),
)


def summary(results: list[dict[str, Turn]], calls: int, skipped: float) -> None:
    """Medians, quartiles and ranges of the ratios, and the absolute figures behind them."""
    for way in [w for w in WAYS[1:] if w in results[0]]:
        print(f"{way} against without (median [quartiles], range over {len(results)} rounds):")
        for label, pick in FIGURES:
            ratios = [pick(r[way]) / pick(r["without"]) for r in results]
            print(f"  {label}: {spread(ratios)}")
        turns = [r[way] for r in results]
        print(
            f"  judge threads {statistics.median(t.judge_threads for t in turns):.1f} µs per "
            f"ingested call, chDB threads {statistics.median(t.chdb_threads for t in turns):.1f}"
            f"; {statistics.median(t.requests for t in turns):.1f} requests per 1,000 calls"
        )
    base = [r["without"] for r in results]
    print(
        f"without: {statistics.median(t.calls_per_s for t in base):,.0f} calls/s, "
        f"{statistics.median(t.process for t in base):.0f} µs process CPU per call, chDB "
        f"threads {statistics.median(t.chdb_threads for t in base):.1f} (medians)"
    )
    print(f"default judge: {skipped:,.0f} calls skipped by its budget in the run")


def print_threads(results: list[dict[str, Turn]]) -> None:
    """Each way's median CPU per ingested call by thread name."""
    ways = list(results[0])
    names = sorted({n for r in results for t in r.values() for n in t.threads})
    medians = {
        (way, name): statistics.median(r[way].threads.get(name, 0.0) for r in results)
        for way in ways
        for name in names
    }
    names.sort(key=lambda n: -medians[("without", n)])
    print("CPU µs per ingested call by thread (median): " + " | ".join(ways))
    for name in names:
        row = " | ".join(f"{medians[(way, name)]:.1f}" for way in ways)
        if any(medians[(way, name)] >= 0.05 for way in ways):
            print(f"  {name}: {row}")


def spread(ratios: list[float]) -> str:
    """``x<median> [x<lower quartile>, x<upper quartile>] (x<min> to x<max>)``."""
    if len(ratios) < 2:
        return f"x{ratios[0]:.3f}"
    low, _, high = statistics.quantiles(ratios, n=4)
    return (
        f"x{statistics.median(ratios):.3f} [x{low:.3f}, x{high:.3f}] "
        f"(x{min(ratios):.3f} to x{max(ratios):.3f})"
    )


if __name__ == "__main__":
    sys.exit(main())
