"""chDB's own CPU per stored call: the inserts, the views they fire, the merges after.

    python -m bench.collector.store_cost                  # calls alone, then 5-span traces
    python -m bench.collector.store_cost --by-table       # also each table written alone
    python -m bench.collector.store_cost --unique         # no call's texts repeat

The benchmark's messages (``tests.support.otlp_messages``; with ``--traces`` the five-span
agent/RAG traces of ``bench.collector.trace_messages``) go through ``Pipeline.prepare``
with the default detectors first, all of them, so that nothing but the store runs while it
is timed. Then their write batches go to chDB (``Store.write``), ``--warmup`` calls first,
then ``--calls`` timed, and the timer runs on until chDB's merges have settled (none
running, at most ``--settle`` seconds), so that merges a batch caused count with it.

Printed, in µs of CPU per LLM call:

- ``inserts, calling thread``: chDB's work on the thread that inserts (reading the Arrow
  columns, sorting, compressing, writing the parts and the views' parts);
- ``chDB threads``: every other thread of the process meanwhile (chDB's query pool, its
  merges, its schedulers; nothing else runs), from the process CPU clock;
- their sum, ``chDB in all``, which is what this benchmark is about;
- ``Arrow columns``: the store's Python work making the rows (not chDB's; for scale);
- by thread name (``/proc``): ThreadPool, MergeMutate ...;
- chDB's own counters: parts written, merges, rows merged per call stored.

With ``--unique`` each call's prompt and answer carry the call's own tag
(``bench.collector.unique_texts``), as on live traffic. With ``--by-table`` each table is
then written alone, into a database of its own, so its cost includes the views it fires
and its merges only.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

#: chDB's counters (``system.events``) printed per stored call.
EVENTS = (
    "MergeTreeDataWriterBlocks",
    "InsertedWideParts",
    "InsertedCompactParts",
    "Merge",
    "MergedRows",
    "MergedUncompressedBytes",
)
Message = Callable[[int, str], tuple[bytes, bytes]]
#: A timed builder -> the builder it times.
_UNTIMED: dict[Callable[..., Any], Callable[..., Any]] = {}
#: Tables the pipeline writes, in ``Store.write``'s order.
TABLES = ("call_scores", "alarms", "review_items", "spans", "call_bodies", "calls")


def thread_cpu() -> dict[tuple[int, str], float]:
    """CPU seconds of each live thread, by (thread id, name), from /proc (Linux)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").glob("*"):
        try:
            stat = (task / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        if int(task.name) == os.getpid():
            name = "calling thread"
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(task.name), name] = (int(fields[11]) + int(fields[12])) / tick
    return found


def by_name(
    before: dict[tuple[int, str], float], after: dict[tuple[int, str], float]
) -> dict[str, float]:
    """CPU seconds per thread name between two :func:`thread_cpu` readings."""
    spent: dict[str, float] = defaultdict(float)
    for key, cpu in after.items():
        spent[key[1]] += cpu - before.get(key, 0.0)
    return {name: cpu for name, cpu in spent.items() if cpu > 0}


def events(store: Any) -> dict[str, int]:
    """chDB's cumulative counters of :data:`EVENTS`."""
    rows = store.backend.select("SELECT event, value FROM system.events")
    values = {row["event"]: int(row["value"]) for row in rows}
    return {name: values.get(name, 0) for name in EVENTS}


def settle(store: Any, limit_s: float) -> None:
    """Wait until no merge runs (chDB picks merges every few seconds), at most ``limit_s``."""
    deadline = time.monotonic() + limit_s
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        running = store.backend.select("SELECT count() AS n FROM system.merges")
        quiet = quiet + 1 if int(running[0]["n"]) == 0 else 0
        time.sleep(0.5)


def prepared_batches(backend: Any, make: Message, total: int, batch: int) -> list[Any]:
    """Every batch's rows, from the pipeline with the default detectors (not timed)."""
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import Store

    payloads = [Payload(make(i, "store-cost")[1], "bench") for i in range(total)]
    store = Store(backend, "cost_prepare")
    store.migrate()
    pipeline = build_pipeline(Settings(), store)
    batches = []
    for start in range(0, total, batch):
        prepared = pipeline.prepare(payloads[start : start + batch])
        batches.append(prepared.batch)
        pipeline.reservoir.release(prepared.due_keys)  # as a write would
    pipeline.detect.close()
    backend.command("DROP DATABASE cost_prepare SYNC")
    return batches


class Timers:
    """CPU of the calling thread inside chDB's inserts and inside the Arrow builders."""

    def __init__(self, store: Any, tables: Iterable[str]) -> None:
        from watchkeeper.collector.store import store as store_module
        from watchkeeper.collector.store.columns import CallColumns

        self.inserts = 0.0
        self.columns = 0.0
        keep = {f"{store.database}.{t}" for t in tables}
        backend = self.backend = store.backend
        for method in ("insert_arrow", "insert_rows"):
            insert = getattr(backend, method)

            def run(table: str, data: Any, insert: Any = insert) -> None:
                if table not in keep:
                    return
                started = time.thread_time()
                try:
                    insert(table, data)
                finally:
                    self.inserts += time.thread_time() - started

            setattr(backend, method, run)
        for builder in ("calls_table", "bodies_table", "scores_table", "spans_table"):
            made = getattr(store_module, builder)
            setattr(store_module, builder, self._timed(made))
        # the calls' columns, made once for the three tables of the calls
        shared = SimpleNamespace(of=self._timed(CallColumns.of))
        setattr(store_module, "CallColumns", shared)  # noqa: B010 - not a type: mypy refuses

    def restore(self) -> None:
        """The backend's own insert methods back (the builders' timers stay, re-pointed)."""
        for method in ("insert_arrow", "insert_rows"):
            delattr(self.backend, method)

    def _timed(self, work: Callable[..., Any]) -> Callable[..., Any]:
        work = _UNTIMED.get(work, work)  # a previous run's timer replaced, not stacked

        def run(*args: Any) -> Any:
            started = time.thread_time()
            try:
                return work(*args)
            finally:
                self.columns += time.thread_time() - started

        _UNTIMED[run] = work
        return run


def measure(
    backend: Any,
    database: str,
    batches: Sequence[Any],
    *,
    warmup: int,
    tables: Iterable[str] = TABLES,
    settle_s: float = 30.0,
) -> dict[str, float]:
    """µs per timed call: inserts' calling thread, other threads, by thread name, counters."""
    from watchkeeper.collector.store.store import Store

    store = Store(backend, database)
    store.migrate()
    timers = Timers(store, tables)
    calls = 0
    for rows in batches[:warmup]:
        store.write(rows)
    settle(store, settle_s)
    gc.collect()
    timers.inserts = timers.columns = 0.0
    counters, threads = events(store), thread_cpu()
    process, thread = time.process_time(), time.thread_time()
    for rows in batches[warmup:]:
        store.write(rows)
        calls += len(rows.calls)
    settle(store, settle_s)
    process, thread = time.process_time() - process, time.thread_time() - thread
    threads_after, counters_after = thread_cpu(), events(store)
    timers.restore()
    backend.command(f"DROP DATABASE {database} SYNC")
    per = 1e6 / calls
    found = {
        "inserts, calling thread": timers.inserts * per,
        "chDB threads": (process - thread) * per,
        "chDB in all": (timers.inserts + process - thread) * per,
        "Arrow columns (not chDB)": timers.columns * per,
    }
    for name, cpu in sorted(by_name(threads, threads_after).items(), key=lambda kv: -kv[1]):
        if name != "calling thread":
            found[f"  thread {name}"] = cpu * per
    for name in EVENTS:
        found[f"  {name} per 1,000 calls"] = (counters_after[name] - counters[name]) * 1000 / calls
    return found


def print_table(title: str, columns: dict[str, dict[str, float]]) -> None:
    """One row per figure, one column per run."""
    names = list(dict.fromkeys(k for found in columns.values() for k in found))
    print(f"\n{title}")
    print(f"| µs per call | {' | '.join(columns)} |")
    print(f"|---|{'---:|' * len(columns)}")
    for name in names:
        cells = " | ".join(f"{found.get(name, 0.0):.1f}" for found in columns.values())
        print(f"| {name} | {cells} |")


def main(argv: list[str] | None = None) -> int:
    """Print chDB's CPU per stored call, calls alone and in 5-span traces."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=30_000, help="calls timed")
    parser.add_argument("--warmup", type=int, default=10_000, help="calls written before")
    parser.add_argument("--batch", type=int, default=2000, help="calls per batch")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait for merges")
    parser.add_argument("--only", choices=("alone", "traces"), help="one kind of message")
    parser.add_argument("--by-table", action="store_true", help="also each table alone")
    parser.add_argument("--unique", action="store_true", help="no call's texts repeat")
    args = parser.parse_args(argv)

    from bench.collector.trace_messages import trace_message
    from bench.collector.unique_texts import unique_texts
    from tests.support.otlp_messages import message
    from watchkeeper.collector.runtime import tune_for_throughput
    from watchkeeper.collector.store.chdb_backend import ChdbBackend

    kinds: dict[str, Message] = {"alone": message, "traces": trace_message}
    if args.unique:
        kinds = {kind: unique_texts(make) for kind, make in kinds.items()}
    if args.only:
        kinds = {args.only: kinds[args.only]}
    total = args.warmup + args.calls
    timing: dict[str, Any] = {"warmup": args.warmup // args.batch, "settle_s": args.settle}
    print(
        f"load average {os.getloadavg()[0]:.1f}; batches of {args.batch:,}, "
        f"{args.calls:,} calls timed after {args.warmup:,}"
        f"{', unique texts' if args.unique else ''}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        backend = ChdbBackend(Path(tmp) / "chdb")
        tune_for_throughput()
        for kind, make in kinds.items():
            batches = prepared_batches(backend, make, total, args.batch)
            runs = {"all tables": measure(backend, f"cost_{kind}", batches, **timing)}
            if args.by_table:
                for table in TABLES:
                    name = f"cost_{kind}_{table}"
                    runs[table] = measure(backend, name, batches, tables=(table,), **timing)
            print_table(f"{kind}: chDB's CPU per stored LLM call", runs)
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
