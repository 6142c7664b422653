"""CPU of the signal stage per trace, on the pipeline's thread.

Run: ``python -m bench.traces.stage_cost`` (seconds). The planted support agent's clean
traces (5 spans each: agent root, retrieval, rerank, tool, LLM call) go through a
:class:`TraceSignalStage` in batches of ``--batch`` traces: assembly, the signals, the
watch and the rows added to the batch. Then traces of one LLM call each (the calls of an
app without agents), batches of 2,000, without and with a session id. Median of
``--rounds`` rounds, process CPU time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass, field

from tests.traces.signals.planted import agent_trace
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.span_columns import SpanColumns
from watchkeeper.collector.store.store import WriteBatch
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.signals.stage import TraceSignalStage
from watchkeeper.collector.traces.trace_summary import TraceSummary


@dataclass
class Batch:
    """What the stage reads of the pipeline's batch in flight."""

    spans: list[TraceSpan]
    calls: list[CallRecord] = field(default_factory=list)
    trace_summaries: list[TraceSummary] = field(default_factory=list)
    span_columns: list[SpanColumns] = field(default_factory=list)
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


def one_call_us(traces: int, seed: int, *, sessions: bool) -> float:
    """Microseconds of CPU per trace of one LLM call (a turn of one of 200 sessions)."""
    rng = random.Random(seed)
    questions = ["How long do refunds take?", "Where is my order?", "Can I change my address?"]
    calls = [
        CallRecord(
            f"{rng.getrandbits(128):032x}",
            f"{rng.getrandbits(64):016x}",
            1_700_000_000 * 10**9 + i,
            10**6,
            route="support",
            input_text=rng.choice(questions),
            output_text="Five working days.",
            conversation_id=f"s{rng.randrange(200)}" if sessions else "",
        )
        for i in range(traces)
    ]
    stage = TraceSignalStage()
    started = time.process_time()
    for i in range(0, traces, 2000):
        stage(Batch([], calls[i : i + 2000]))
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
    for sessions in (False, True):
        runs = [one_call_us(args.traces, seed, sessions=sessions) for seed in range(args.rounds)]
        label = "with a session id" if sessions else "without a session"
        print(f"one-call traces, {label}: {statistics.median(runs):.1f} µs per trace")


if __name__ == "__main__":
    main()
