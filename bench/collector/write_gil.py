"""How long the store writer holds the GIL per call, part by part (Arrow columns, inserts).

    python -m bench.collector.write_gil                # calls alone
    python -m bench.collector.write_gil --traces       # the same calls in 5-span traces

In ``watchkeeper collect`` the store writes a batch on its own thread while the next batch
is prepared: every µs the writer holds the GIL, ``prepare`` waits. Thread CPU overstates
that (chDB works without the GIL on the calling thread), so this measures the GIL itself:
the interpreter's ``take_gil`` (on return) and ``drop_gil`` are probed with Linux uprobes
(``perf probe``, which needs root) while ``Pipeline.write`` stores prepared batches of the
benchmarks' messages (default detectors, batches of 2,000, after ``--warmup`` calls); the
intervals in which the writing thread held the GIL are matched to each part's window.

Printed, µs per call: wall time, thread CPU, GIL held (wall: includes time the thread was
descheduled while holding it, which grows with the machine's load) and GIL CPU, the CPU the
thread spent holding the GIL (each part's thread CPU or its GIL held time, whichever is
less; what ``Pipeline.write`` does outside the parts is Python, all of it counted). The
probes are removed afterwards. The uprobes add a few µs per GIL hand-over (about four per
call).
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: (part, start ns, end ns, thread CPU s), CLOCK_MONOTONIC as perf records with -k
Mark = tuple[str, int, int, float]
WRITE = "Pipeline.write"


def _marked(marks: list[Mark], name: str, work: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        started, cpu = time.monotonic_ns(), time.thread_time()
        try:
            return work(*args)
        finally:
            marks.append((name, started, time.monotonic_ns(), time.thread_time() - cpu))

    return run


def _mark_parts(pipeline: Any, store: Any, marks: list[Mark]) -> None:
    """Mark the store's table builders and each table's insert (as pipeline_cost does)."""
    from watchkeeper.collector.store import store as store_module

    for builder in ("calls_table", "bodies_table", "scores_table", "spans_table"):
        setattr(store_module, builder, _marked(marks, builder, getattr(store_module, builder)))
    for method in ("insert_arrow", "insert_rows"):
        insert = getattr(store.backend, method)

        def by_table(table: str, data: Any, insert: Any = insert) -> Any:
            name = f"insert {table.rsplit('.', 1)[-1]}"
            return _marked(marks, name, insert)(table, data)

        setattr(store.backend, method, by_table)


def record(out: Path, calls: int, warmup: int, traces: bool) -> None:
    """Prepare every batch first, then write them all, marking each part's window."""
    from tests.support.otlp_messages import message
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import open_store

    make = message
    if traces:
        from bench.collector.trace_messages import trace_message as make
    batch, marks = 2000, []
    payloads = [Payload(make(i, "gil")[1], "bench") for i in range(warmup + calls)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))  # type: ignore[call-arg]  # pydantic-settings
        tune_for_throughput()
        store = open_store(settings)
        pipeline = build_pipeline(settings, store)
        for start in range(0, warmup, batch):
            pipeline.write(pipeline.prepare(payloads[start : start + batch]))
        prepared = [
            pipeline.prepare(payloads[start : start + batch])
            for start in range(warmup, warmup + calls, batch)
        ]
        _mark_parts(pipeline, store, marks)
        write = _marked(marks, WRITE, pipeline.write)
        gc.collect()
        time.sleep(0.5)  # the text prefetch thread goes idle
        for ready in prepared:
            write(ready)
        llm_calls = sum(len(ready.calls) for ready in prepared)
        done = len(marks)
        pipeline.close()
        store.close()
    out.write_text(json.dumps({"tid": os.getpid(), "calls": llm_calls, "marks": marks[:done]}))


def held_intervals(events: Path, tid: int) -> list[tuple[int, int]]:
    """(took, dropped) ns of each time thread ``tid`` held the GIL, from ``perf script``."""
    found = []
    for line in events.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == str(tid):
            found.append((int(float(fields[1].rstrip(":")) * 1e9), "take_gil" in fields[2]))
    held, took = [], None
    for at, taking in sorted(found):
        if taking:
            took = at
        elif took is not None:
            held.append((took, at))
            took = None
    return held


def _held_within(held: list[tuple[int, int]], starts: list[int], a: int, b: int) -> int:
    total, i = 0, max(0, bisect.bisect_right(starts, a) - 1)
    while i < len(held) and held[i][0] < b:
        total += max(0, min(held[i][1], b) - max(held[i][0], a))
        i += 1
    return total


def report(marks: list[Mark], held: list[tuple[int, int]], calls: int) -> None:
    """Per part: wall, thread CPU, GIL held, GIL CPU (µs per call), the write's first."""
    starts = [start for start, _ in held]
    parts: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for name, start, end, cpu in marks:
        held_ns = _held_within(held, starts, start, end)
        part = parts[name]
        part[0] += (end - start) / 1e3
        part[1] += cpu * 1e6
        part[2] += held_ns / 1e3
        part[3] += min(cpu * 1e6, held_ns / 1e3)
    write = parts.pop(WRITE)
    outside = write[1] - sum(part[1] for part in parts.values())
    write[3] = sum(part[3] for part in parts.values()) + outside
    print(f"{'µs per call':24s} {'wall':>8s} {'thread CPU':>11s} {'GIL held':>9s} {'GIL CPU':>8s}")
    for name, part in [(WRITE, write), *sorted(parts.items(), key=lambda kv: -kv[1][3])]:
        print(
            f"{name:24s}"
            + "".join(f" {v / calls:{w}.1f}" for v, w in zip(part, (8, 11, 9, 8), strict=True))
        )


@contextmanager
def gil_probes() -> Iterator[list[str]]:
    """The interpreter's take_gil (return) and drop_gil as perf events, removed after."""
    library = Path(sysconfig.get_config_var("LIBDIR") or "") / str(
        sysconfig.get_config_var("INSTSONAME") or ""
    )
    target = str(library if library.is_file() else Path(sys.executable).resolve())
    events = []
    try:
        for point in ("take_gil%return", "drop_gil"):
            added = subprocess.run(
                ["perf", "probe", "-q", "-x", target, "-a", point],
                capture_output=True,
                text=True,
                check=False,
            )
            listed = subprocess.run(
                ["perf", "probe", "-l"], capture_output=True, text=True, check=False
            ).stdout.splitlines()
            name = point.replace("%return", "__return")
            matches = [line.split()[0] for line in listed if f":{name} " in line]
            if not matches:
                sys.exit(f"cannot probe {point} in {target} (perf, uprobes, root?): {added.stderr}")
            events.append(matches[0])
        yield events
    finally:
        for event in events:
            subprocess.run(["perf", "probe", "-q", "-d", event], check=False)


def main(argv: list[str] | None = None) -> int:
    """Record the writes under perf with the GIL probes, then print the parts."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls timed")
    parser.add_argument("--warmup", type=int, default=4_000, help="calls before those")
    parser.add_argument("--traces", action="store_true", help="the calls in 5-span traces")
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)  # the child's output
    args = parser.parse_args(argv)
    if args.record:
        record(args.record, args.calls, args.warmup, args.traces)
        return 0
    with tempfile.TemporaryDirectory() as tmp, gil_probes() as events:
        marks, data = Path(tmp) / "marks.json", Path(tmp) / "perf.data"
        child = [sys.executable, "-m", "bench.collector.write_gil", "--record", str(marks)]
        child += ["--calls", str(args.calls), "--warmup", str(args.warmup)]
        child += ["--traces"] if args.traces else []
        perf = ["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-o", str(data)]
        perf += [arg for event in events for arg in ("-e", event)]
        subprocess.run([*perf, "--", *child], check=True)
        script = ["perf", "script", "-i", str(data), "-F", "tid,time,event"]
        (Path(tmp) / "events.txt").write_text(
            subprocess.run(script, capture_output=True, text=True, check=True).stdout
        )
        found = json.loads(marks.read_text())
        held = held_intervals(Path(tmp) / "events.txt", found["tid"])
    report(found["marks"], held, found["calls"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
