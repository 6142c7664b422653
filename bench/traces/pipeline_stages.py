"""Where the pipeline's thread spends its CPU per LLM call, stage by stage, for calls sent
alone and for the same calls inside five-span agent/RAG traces.

Run: ``python -m bench.traces.pipeline_stages`` (about a minute). Payloads as
``bench.collector.trace_cost`` makes them go through ``Pipeline.prepare`` (timed per stage
with the thread's CPU clock) and ``Pipeline.write`` into chDB (its thread CPU printed as
``write``: in ``watchkeeper collect`` it runs on the store's thread, beside the next
batch's ``prepare``), default detectors, batches of ``--batch`` (2,000; the Kafka
receiver's are 10,000, ``bench.collector.kafka_thread`` times those), after ``--warmup``
calls. ``--unique`` tags each call's prompt and answer with its own id
(``bench.collector.unique_texts``), as live traffic's texts rarely repeat.
``Decode`` shows 0: payloads are decoded as ``Normalize`` reads them.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.collector.trace_messages import trace_message
from bench.collector.unique_texts import unique_texts
from tests.support.otlp_messages import message

Message = Callable[[int, str], tuple[bytes, bytes]]


def _timed(
    name: str, stage: Callable[[Any], None], spent: defaultdict[str, float]
) -> Callable[[Any], None]:
    def run(prepared: Any) -> None:
        started = time.thread_time()
        stage(prepared)
        spent[name] += time.thread_time() - started

    return run


def stage_times(make: Message, calls: int, warmup: int, batch: int = 2000) -> dict[str, float]:
    """µs of the calling thread's CPU per LLM call, by stage (and ``write``)."""
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import open_store

    total = warmup + calls
    payloads = [Payload(make(i, "stages")[1], "bench") for i in range(total)]
    spent: defaultdict[str, float] = defaultdict(float)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))  # type: ignore[call-arg]  # pydantic-settings
        tune_for_throughput()
        store = open_store(settings)
        pipeline = build_pipeline(settings, store)
        pipeline.decode_stages = tuple(
            _timed(type(s).__name__, s, spent) for s in pipeline.decode_stages
        )
        pipeline.call_stages = tuple(
            _timed(type(s).__name__, s, spent) for s in pipeline.call_stages
        )
        # The warmup's payloads only: a timed trace seen before would go the slow way.
        for start in range(0, warmup, batch):
            pipeline.write(pipeline.prepare(payloads[start : min(start + batch, warmup)]))
        spent.clear()
        gc.collect()
        for start in range(warmup, total, batch):
            prepared = pipeline.prepare(payloads[start : start + batch])
            started = time.thread_time()
            pipeline.write(prepared)
            spent["write"] += time.thread_time() - started
        pipeline.close()
        store.close()
    return {name: seconds / calls * 1e6 for name, seconds in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=8000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument(
        "--batch", type=int, default=2000, help="calls per batch (the Kafka receiver's: 10,000)"
    )
    parser.add_argument(
        "--unique", action="store_true", help="no call's texts repeat (live traffic's case)"
    )
    parser.add_argument(
        "--traces-only", action="store_true", help="time the calls in traces only (half the run)"
    )
    args = parser.parse_args()
    alone_make: Message = message
    traces_make: Message = trace_message
    if args.unique:
        alone_make, traces_make = unique_texts(message), unique_texts(trace_message)
    alone = {} if args.traces_only else stage_times(alone_make, args.calls, args.warmup, args.batch)
    traces = stage_times(traces_make, args.calls, args.warmup, args.batch)
    print("| stage | calls alone, µs per call | in 5-span traces, µs per call |")
    print("|---|---:|---:|")
    for name in alone or traces:
        print(f"| {name} | {alone.get(name, 0.0):.1f} | {traces.get(name, 0.0):.1f} |")
    prepare = [sum(v for k, v in t.items() if k != "write") for t in (alone, traces)]
    print(f"| prepare (all stages) | {prepare[0]:.1f} | {prepare[1]:.1f} |")


if __name__ == "__main__":
    main()
