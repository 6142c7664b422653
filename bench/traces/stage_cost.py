"""CPU of the signal stage per trace, on the pipeline's thread.

Run: ``python -m bench.traces.stage_cost`` (seconds). The planted support agent's clean
traces (5 spans each: agent root, retrieval, rerank, tool, LLM call) go through a
:class:`TraceSignalStage` in batches of ``--batch`` traces: assembly, the signals, the
watch and the rows added to the batch. Median of ``--rounds`` rounds, process CPU time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass, field

from tests.traces.signals.planted import agent_trace
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.store import WriteBatch
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.signals.stage import TraceSignalStage


@dataclass
class Batch:
    """What the stage reads of the pipeline's batch in flight."""

    spans: list[TraceSpan]
    calls: list[CallRecord] = field(default_factory=list)
    batch: WriteBatch = field(default_factory=WriteBatch)


def per_trace_us(traces: int, size: int, seed: int) -> float:
    """Microseconds of CPU per trace, batches of ``size`` traces."""
    rng = random.Random(seed)
    made = [agent_trace(rng) for _ in range(traces)]
    batches = [
        Batch([span for trace in made[i : i + size] for span in trace.spans])
        for i in range(0, traces, size)
    ]
    stage = TraceSignalStage()
    started = time.process_time()
    for batch in batches:
        stage(batch)
    assert stage.scored == traces
    return (time.process_time() - started) / traces * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| traces per batch | µs of CPU per trace |")
    print("|---:|---:|")
    for size in (1, 20, 200, 2000):
        runs = [per_trace_us(args.traces, size, seed) for seed in range(args.rounds)]
        print(f"| {size} | {statistics.median(runs):.0f} |")


if __name__ == "__main__":
    main()
