"""CPU of ``KeepTraces`` and ``TraceSignalStage`` alone, per LLM call, on batches the
pipeline made.

Run: ``python -m bench.traces.stage_replay`` (under a minute). The payloads of
``bench.traces.pipeline_stages`` (5-span agent/RAG traces, or ``--alone`` for calls sent
alone) go through ``Pipeline.prepare`` once, batches of 2,000; what each of the two stages
reads of every batch is kept, then given to fresh stages (built as ``watchkeeper collect``
builds them) ``--rounds`` times, each stage timed with the thread's CPU clock. Prints the
minimum and the median over the rounds: the stages' own cost with less of the noise of a
whole pipeline run.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.collector.trace_messages import trace_message
from tests.support.otlp_messages import message


@dataclass
class Snapshot:
    """What the two stages read of one batch in flight."""

    calls: list[Any]
    spans: list[Any]
    span_columns: list[Any]
    trace_summaries: list[Any]
    bodies: list[Any]
    scores: Any
    batch: Any = None

    def fresh(self) -> Snapshot:
        """A copy with an empty batch of rows (the stages fill it)."""
        from watchkeeper.collector.store.store import WriteBatch

        rows = WriteBatch(bodies=list(self.bodies), scores=self.scores)
        return Snapshot(
            self.calls,
            self.spans,
            self.span_columns,
            self.trace_summaries,
            self.bodies,
            self.scores,
            rows,
        )


def capture(
    make: Callable[[int, str], tuple[bytes, bytes]], calls: int, batch: int = 2000
) -> list[Snapshot]:
    """``calls`` payloads through ``Pipeline.prepare`` in batches of ``batch``; each batch
    as the two stages read it (after the detectors' scores are in)."""
    from watchkeeper.collector.pipeline import KeepTraces, Payload
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import open_store

    payloads = [Payload(make(i, "replay")[1], "bench") for i in range(calls)]
    captured: list[Snapshot] = []

    def keep_first(stage: Any) -> Callable[[Any], None]:
        def run(prepared: Any) -> None:
            rows = prepared.batch
            captured.append(
                Snapshot(
                    list(prepared.calls),
                    list(prepared.spans),
                    list(prepared.span_columns),
                    list(prepared.trace_summaries),
                    list(rows.bodies),
                    rows.scores,
                )
            )
            stage(prepared)

        return run

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))  # type: ignore[call-arg]  # pydantic-settings
        tune_for_throughput()
        store = open_store(settings)
        pipeline = build_pipeline(settings, store)
        pipeline.call_stages = tuple(
            keep_first(s) if isinstance(s, KeepTraces) else s for s in pipeline.call_stages
        )
        for start in range(0, calls, batch):
            pipeline.prepare(payloads[start : start + batch])
        pipeline.close()
        store.close()
    return captured


def replay(batches: list[Snapshot]) -> tuple[float, float]:
    """Seconds of thread CPU of fresh KeepTraces and TraceSignalStage over ``batches``."""
    from watchkeeper.collector.metrics import PipelineMetrics
    from watchkeeper.collector.pipeline import KeepTraces
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.traces.keep import TraceKeeper
    from watchkeeper.collector.traces.signals.configured import signal_stage

    settings = Settings()
    keeper = TraceKeeper(
        settings.trace_sample_rate,
        settings.max_spans_per_trace,
        settings.max_open_traces,
        settings.body_sample_rate,
    )
    keep = KeepTraces(keeper, PipelineMetrics())
    signals = signal_stage(settings)
    assert signals is not None
    fresh = [batch.fresh() for batch in batches]
    gc.collect()
    kept = scored = 0.0
    for batch in fresh:
        started = time.thread_time()
        keep(batch)  # type: ignore[arg-type]  # reads what a PreparedBatch has
        middle = time.thread_time()
        signals(batch)
        scored += time.thread_time() - middle
        kept += middle - started
    return kept, scored


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--alone", action="store_true", help="calls sent alone")
    parser.add_argument(
        "--batch", type=int, default=2000, help="calls per batch (the receiver's: 10,000)"
    )
    args = parser.parse_args()
    batches = capture(message if args.alone else trace_message, args.calls, args.batch)
    runs = [replay(batches) for _ in range(args.rounds)]
    calls = sum(len(b.calls) for b in batches)
    for name, at in (("KeepTraces", 0), ("TraceSignalStage", 1)):
        us = [run[at] / calls * 1e6 for run in runs]
        print(f"{name}: min {min(us):.2f}, median {statistics.median(us):.2f} µs per LLM call")


if __name__ == "__main__":
    main()
