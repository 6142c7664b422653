"""CPU per LLM call of the collector's pipeline in one process, without Kafka: calls sent
alone against the same calls inside five-span agent/RAG traces (whole traces stored).

    python -m bench.collector.trace_cost                  # 3 alternating rounds
    WATCHKEEPER_NATIVE=0 python -m bench.collector.trace_cost

Payloads go through ``Pipeline.prepare`` and ``Pipeline.write`` into chDB in batches of
2,000 with the default detectors, as ``bench.detectors.pipeline_cost`` does; the two kinds
of traffic alternate so that load from elsewhere on the machine hits both alike. Printed:
µs of process CPU (all threads) and of the calling thread per LLM call, and the ratio.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.collector.trace_messages import SPANS_PER_CALL, trace_message
from tests.support.otlp_messages import message


def cost(
    make: Callable[[int, str], tuple[bytes, bytes]], calls: int, warmup: int, detectors: bool
) -> tuple[float, float]:
    """(process, calling thread) µs of CPU per LLM call."""
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import open_store

    batch, total = 2000, warmup + calls
    payloads = [Payload(make(i, "cost")[1], "bench") for i in range(total)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        tune_for_throughput()
        store = open_store(settings)
        pipeline = build_pipeline(settings, store)
        if not detectors:
            from watchkeeper.collector.processors.detect import DetectorStage

            pipeline.detect = DetectorStage([])
        for start in range(0, warmup, batch):
            pipeline.write(pipeline.prepare(payloads[start : start + batch]))
        gc.collect()
        started = time.process_time(), time.thread_time()
        for start in range(warmup, total, batch):
            pipeline.write(pipeline.prepare(payloads[start : start + batch]))
        ended = time.process_time(), time.thread_time()
        stored = store.select("SELECT count() AS n FROM {db}.spans")[0]["n"]
        pipeline.close()
        store.close()
    per_trace = SPANS_PER_CALL if make is trace_message else 1
    if int(stored) != total * per_trace:
        raise RuntimeError(f"stored {stored} spans, expected {total * per_trace}")
    process, thread = ((b - a) / calls * 1e6 for a, b in zip(started, ended, strict=True))
    return process, thread


def main(argv: list[str] | None = None) -> int:
    """Print µs per LLM call for both kinds of traffic, per round and as medians."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="calls timed per run")
    parser.add_argument("--warmup", type=int, default=4_000, help="calls before those")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-detectors", action="store_true", help="the pipeline without them")
    args = parser.parse_args(argv)
    results: dict[str, list[tuple[float, float]]] = {"alone": [], "traces": []}
    for _ in range(args.rounds):
        for label, make in (("alone", message), ("traces", trace_message)):
            results[label].append(cost(make, args.calls, args.warmup, not args.no_detectors))
            process, thread = results[label][-1]
            print(f"{label}: process {process:.1f} µs, calling thread {thread:.1f} µs", flush=True)
    alone = statistics.median(p for p, _ in results["alone"])
    traces = statistics.median(p for p, _ in results["traces"])
    alone_t = statistics.median(t for _, t in results["alone"])
    traces_t = statistics.median(t for _, t in results["traces"])
    print(
        f"medians of {args.rounds}: alone {alone:.1f} µs (thread {alone_t:.1f}), "
        f"in {SPANS_PER_CALL}-span traces {traces:.1f} µs (thread {traces_t:.1f}); "
        f"ratio {traces / alone:.2f}; {1e6 / traces:,.0f} LLM calls/s per CPU-second"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
