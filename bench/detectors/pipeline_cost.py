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
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Print µs per call: process CPU, calling-thread CPU, wall time."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=30_000, help="calls timed")
    parser.add_argument("--warmup", type=int, default=10_000, help="calls before those")
    parser.add_argument("--batch", type=int, default=2000, help="calls per batch")
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
        gc.collect()
        started = time.process_time(), time.thread_time(), time.perf_counter()
        for start in range(args.warmup, total, args.batch):
            pipeline.write(pipeline.prepare(payloads[start : start + args.batch]))
        ended = time.process_time(), time.thread_time(), time.perf_counter()
        pipeline.close()
        store.close()
    per_call = [(b - a) / args.calls * 1e6 for a, b in zip(started, ended, strict=True)]
    process, thread, wall = per_call
    print(f"µs per call: process {process:.1f}, calling thread {thread:.1f}, wall {wall:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
