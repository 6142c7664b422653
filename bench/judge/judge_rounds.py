"""The judge's cost to the collector process, as a median ratio over alternating rounds.

    python -m bench.judge.judge_rounds                 # 7 rounds of 3,000 calls each way
    python -m bench.judge.judge_rounds --rounds 5 --calls 2000

Two pipelines over one chDB store, one with the default judge attached (sample rate 0.05,
reviewed calls first, four worker threads, an unlimited budget) and one without, take the
benchmark's SDK-like messages (a 500-character prompt and answer each). A round runs
``--calls`` calls through each pipeline in turn (which goes first alternates), and the
judged turn lasts until the judge has finished the calls it picked, so the judge threads'
own work (prompts, HTTP, parsing, writing verdicts and scores) is inside its window.
Per turn, per ingested call: the process's CPU (every thread of the collector process),
the judge threads' own CPU (the threads named ``judge-*``: prompts, HTTP, parsing, the
writer's Python side), the process's CPU less theirs (the ingestion path, with the chDB
work of the judges' batched writes, which runs on chDB's threads, counted on its side),
the calling thread's CPU (what a receiver waits for before it acknowledges) and the
calls per second through ``prepare`` + ``write``. Printed: each round's with/without
ratios, then their median and range; the medians of the judge threads', chDB's threads'
(not Python's: ClickHouse names them) and the other Python threads' CPU per call; and
the judge threads' CPU per request. The judge's
endpoint is the tests' stand-in chat-completions server in its own process on loopback,
so the model's work is not counted. Ratios, not absolute figures, are what one run can
compare under a shared machine's changing load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from bench.judge.judge_cost import judge_settings
from bench.judge.standin_endpoint import standin_endpoint


def main(argv: list[str] | None = None) -> int:
    """Run the rounds against a stand-in endpoint in its own process and print them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=3000, help="calls per pipeline per round")
    parser.add_argument("--batch", type=int, default=500, help="calls per batch")
    args = parser.parse_args(argv)
    with standin_endpoint() as base_url:
        rounds(base_url, args.rounds, args.calls, args.batch)
    return 0


class Turn(NamedTuple):
    """One pipeline's turn of a round, per ingested call (µs) and its throughput."""

    process: float
    judge_threads: float
    chdb_threads: float
    calling_thread: float
    calls_per_s: float
    requests: float

    @property
    def ingestion(self) -> float:
        """The process's CPU less the judge threads' own."""
        return self.process - self.judge_threads


def judge_thread_cpu() -> float:
    """CPU seconds of the judges' threads so far (their names start with ``judge-``)."""
    total = 0.0
    for thread in threading.enumerate():
        if thread.name.startswith("judge-") and thread.ident is not None:
            with contextlib.suppress(OSError):
                total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return total


def chdb_thread_cpu() -> float:
    """CPU seconds so far of the process's threads that are not Python's (chDB's query,
    merge and background pools, named by ClickHouse), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    main_name = Path("/proc/self/comm").read_text().strip()
    total = 0
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            stat = (task / "stat").read_text()
            name, fields = (
                stat[stat.index("(") + 1 : stat.rindex(")")],
                stat[stat.rindex(")") + 2 :],
            )
            if name != main_name:
                utime, stime = fields.split()[11:13]
                total += int(utime) + int(stime)
    return total / tick


def rounds(base_url: str, count: int, calls: int, batch: int) -> None:
    """The rounds (see the module)."""
    from tests.support.otlp_messages import message
    from watchkeeper.collector.judge.start import attach_judges
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.store.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        plain = judge_settings(Path(tmp), "", 0.0)
        judged = judge_settings(Path(tmp), base_url, 0.05)
        tune_for_throughput()
        store = open_store(plain)
        pipelines = {"without": build_pipeline(plain, store), "with": build_pipeline(judged, store)}
        workers = attach_judges(judged, store, pipelines["with"])
        assert workers is not None
        serial = iter(range(10**9))
        registry = pipelines["with"].metrics.registry

        def turn(name: str) -> Turn:
            pipeline = pipelines[name]
            payloads = [Payload(message(next(serial), "judge")[1], "bench") for _ in range(calls)]
            asked = _requests(registry)
            began = time.process_time(), time.thread_time(), judge_thread_cpu(), chdb_thread_cpu()
            wall = time.perf_counter()
            for at in range(0, calls, batch):
                pipeline.write(pipeline.prepare(payloads[at : at + batch]))
            wall, calling = time.perf_counter() - wall, time.thread_time() - began[1]
            while name == "with" and not workers.idle():
                time.sleep(0.01)
            # This thread's waiting for the judge is the benchmark's, not the collector's.
            waiting = time.thread_time() - began[1] - calling
            return Turn(
                (time.process_time() - began[0] - waiting) / calls * 1e6,
                (judge_thread_cpu() - began[2]) / calls * 1e6,
                (chdb_thread_cpu() - began[3]) / calls * 1e6,
                calling / calls * 1e6,
                calls / wall,
                (_requests(registry) - asked) / calls * 1000,
            )

        turn("without"), turn("with")  # warm-up
        print(f"{count} rounds of {calls} calls per pipeline, batches of {batch}:")
        results = []
        for index in range(count):
            order = ("with", "without") if index % 2 else ("without", "with")
            got = {name: turn(name) for name in order}
            results.append((got["without"], got["with"]))
            _print_round(index, got["without"], got["with"])
        judged_calls = workers.done
        workers.close()
        store.close()
    _summary(results, judged_calls)


def _requests(registry: Any) -> float:
    labels = {"judge": "default"}
    name = "watchkeeper_judge_request_duration_seconds_count"
    return float(registry.get_sample_value(name, labels) or 0.0)


def _print_round(index: int, without: Turn, with_: Turn) -> None:
    print(
        f"  round {index + 1}: process CPU {without.process:.1f} -> {with_.process:.1f} "
        f"µs/call (x{with_.process / without.process:.3f}), less the judge threads "
        f"{without.ingestion:.1f} -> {with_.ingestion:.1f} "
        f"(x{with_.ingestion / without.ingestion:.3f}); calling thread "
        f"{without.calling_thread:.1f} -> {with_.calling_thread:.1f} "
        f"(x{with_.calling_thread / without.calling_thread:.3f}); calls/s "
        f"{without.calls_per_s:.0f} -> {with_.calls_per_s:.0f} "
        f"(x{with_.calls_per_s / without.calls_per_s:.3f})"
    )


def _summary(results: list[tuple[Turn, Turn]], judged_calls: int) -> None:
    ratios = {
        "process CPU": [w.process / o.process for o, w in results],
        "process CPU less the judge threads": [w.ingestion / o.ingestion for o, w in results],
        "calling-thread CPU": [w.calling_thread / o.calling_thread for o, w in results],
        "calls/s": [w.calls_per_s / o.calls_per_s for o, w in results],
    }
    for label, values in ratios.items():
        print(
            f"{label} with/without: median x{statistics.median(values):.3f}, "
            f"range x{min(values):.3f} to x{max(values):.3f}"
        )
    parts: dict[str, Callable[[Turn], float]] = {
        "judge threads": lambda t: t.judge_threads,
        "chDB threads": lambda t: t.chdb_threads,
        "other Python threads": lambda t: t.ingestion - t.chdb_threads,
    }
    for label, pick in parts.items():
        without = statistics.median(pick(o) for o, _ in results)
        with_ = statistics.median(pick(w) for _, w in results)
        print(f"{label}: median {without:.1f} -> {with_:.1f} µs per ingested call")
    requests = sum(w.requests for _, w in results) / len(results)
    judge_cpu = sum(w.judge_threads for _, w in results) / len(results)
    print(
        f"judge threads: {judge_cpu:.1f} µs per ingested call, {requests:.1f} requests per "
        f"1,000 calls, {judge_cpu / max(requests, 1e-9):.2f} ms of their CPU per request"
    )
    print(f"calls judged: {judged_calls}")


if __name__ == "__main__":
    sys.exit(main())
