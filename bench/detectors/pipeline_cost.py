"""CPU per call of the collector's whole pipeline in one process, without Kafka.

    python -m bench.detectors.pipeline_cost                 # 10,000 calls warm-up, 30,000 timed
    WATCHKEEPER_NATIVE=0 python -m bench.detectors.pipeline_cost

The benchmark's SDK-like messages (one GenAI span, a 500-character prompt and answer
each) go through ``Pipeline.prepare`` and ``Pipeline.write`` into chDB in batches, as a
receiver hands them over, with the default detectors (texts analysed ahead on their
thread). Printed: µs of CPU per call of the process (all threads) and of the calling
thread, and wall time. Without the broker and its client, this measures what the
detectors and their compiled core cost in the pipeline with less noise than
``make bench-collector``.

    python -m bench.detectors.pipeline_cost --stages        # where the CPU goes

``--stages`` also prints each stage's share, and the store's by table (making the Arrow
columns, then the insert): CPU of the calling thread while the stage ran, and of the
whole process meanwhile, which counts what other threads did at the same time (the
thread analysing texts ahead during detect; chDB's own threads, merges included, during
the inserts). The per-stage timers add about a microsecond per call. Then the CPU of
each thread by name (from /proc, on Linux): the calling thread, the one analysing texts
ahead, chDB's query and merge threads.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: name -> [process CPU, calling thread CPU] spent in it, seconds
Spent = dict[str, list[float]]


def timed(spent: Spent, name: str, work: Callable[..., Any]) -> Callable[..., Any]:
    """``work``, adding the CPU each call takes to ``spent[name]``."""

    def run(*args: Any) -> Any:
        process, thread = time.process_time(), time.thread_time()
        try:
            return work(*args)
        finally:
            into = spent[name]
            into[0] += time.process_time() - process
            into[1] += time.thread_time() - thread

    return run


def time_stages(pipeline: Any, store: Any, spent: Spent) -> None:
    """Wrap the pipeline's stages and the store's table builders and inserts in timers."""
    from watchkeeper.collector.store import store as store_module

    for group in ("decode_stages", "call_stages", "store_stages"):
        stages = getattr(pipeline, group)
        setattr(pipeline, group, tuple(timed(spent, type(s).__name__, s) for s in stages))
        for stage in stages:
            spent[type(stage).__name__] = [0.0, 0.0]  # printed in pipeline order
    for builder in ("calls_table", "bodies_table", "scores_table", "spans_table"):
        made = getattr(store_module, builder)
        setattr(store_module, builder, timed(spent, f"Write: {builder}", made))
    backend = store.backend
    for method in ("insert_arrow", "insert_rows"):
        insert = getattr(backend, method)

        def by_table(table: str, data: Any, insert: Any = insert) -> Any:
            name = f"Write: insert {table.rsplit('.', 1)[-1]}"
            return timed(spent, name, insert)(table, data)

        setattr(backend, method, by_table)


def thread_cpu() -> dict[tuple[int, str], float]:
    """CPU seconds of each live thread of this process, by (thread id, name), from /proc
    (Linux); empty elsewhere. Names group chDB's threads by role (merges, inserts)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").glob("*"):
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if int(task.name) == os.getpid():
            name = "calling thread"  # Python's other threads are all named "python"
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(task.name), name] = (int(fields[11]) + int(fields[12])) / tick
    return found


def print_threads(
    before: dict[tuple[int, str], float], after: dict[tuple[int, str], float], calls: int
) -> None:
    """CPU per call of the timed window by thread name, in whole clock ticks (threads that
    ended within the window are missed: chDB starts some per query)."""
    by_name: dict[str, float] = defaultdict(float)
    for key, cpu in after.items():
        by_name[key[1]] += cpu - before.get(key, 0.0)
    print(f"{'thread (from /proc)':34s} {'CPU':>9s}")
    for name, cpu in sorted(by_name.items(), key=lambda item: -item[1]):
        if cpu > 0:
            print(f"{name:34s} {cpu / calls * 1e6:9.1f}")


def print_stages(spent: Spent, calls: int) -> None:
    """One line per stage (and store table): µs per call, process and calling thread."""
    print(f"{'stage':34s} {'process':>9s} {'thread':>9s}")
    for name, (process, thread) in spent.items():
        print(f"{name:34s} {process / calls * 1e6:9.1f} {thread / calls * 1e6:9.1f}")


def main(argv: list[str] | None = None) -> int:
    """Print µs per call: process CPU, calling-thread CPU, wall time."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=30_000, help="calls timed")
    parser.add_argument("--warmup", type=int, default=10_000, help="calls before those")
    parser.add_argument("--batch", type=int, default=2000, help="calls per batch")
    parser.add_argument("--stages", action="store_true", help="also print CPU per stage")
    args = parser.parse_args(argv)

    try:
        from tests.support.otlp_messages import message
    except ImportError:  # a tree from before the messages moved there (before/after runs)
        from tests.bench.collector.bench_throughput import message  # type: ignore[no-redef]
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import open_store

    total = args.warmup + args.calls
    payloads = [Payload(message(i, "cost")[1], "bench") for i in range(total)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        tune_for_throughput()  # as the collector runs
        store = open_store(settings)
        pipeline = build_pipeline(settings, store)
        for start in range(0, args.warmup, args.batch):
            pipeline.write(pipeline.prepare(payloads[start : start + args.batch]))
        spent: Spent = defaultdict(lambda: [0.0, 0.0])
        if args.stages:
            time_stages(pipeline, store, spent)
        gc.collect()
        threads = thread_cpu()
        started = time.process_time(), time.thread_time(), time.perf_counter()
        for start in range(args.warmup, total, args.batch):
            pipeline.write(pipeline.prepare(payloads[start : start + args.batch]))
        ended = time.process_time(), time.thread_time(), time.perf_counter()
        stages = {name: list(cpu) for name, cpu in spent.items()}  # not what close adds
        threads_after = thread_cpu()
        pipeline.close()
        store.close()
    per_call = [(b - a) / args.calls * 1e6 for a, b in zip(started, ended, strict=True)]
    process, thread, wall = per_call
    print(f"µs per call: process {process:.1f}, calling thread {thread:.1f}, wall {wall:.1f}")
    if args.stages:
        print_stages(stages, args.calls)
        print_threads(threads, threads_after, args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
