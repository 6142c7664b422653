"""Detection delay and false alarms of the trajectory, RAG and conversation signals.

Run: ``python -m bench.traces.signal_delay`` (about a minute). Traffic is the planted
support agent of ``tests/traces/signals/planted.py`` (retrieval, reranking, an order
tool with a declared schema, an LLM answer; clean traffic has a 3% tool failure that is
retried, retriever scores that vary, a retriever order off 10% of the time). Each run
feeds ``--clean`` clean traces, then traces with the fault in ``--share`` of them, to a
fresh :class:`SignalWatch` under one key, at the detectors' default calibration (200,000
values between false alarms per signal and key).

- **delay**: traces after the fault started until the fault's signal alarmed (median and
  worst over the runs; "missed" when it did not within ``--faulty`` traces);
- **false alarms**: alarms of any signal during the run's clean stretches (each run has
  its own), and per 10,000 clean traces; every signal of every trace is watched (about 15
  values per trace), so about 0.75 false alarms are expected per 10,000 traces.

Conversations: sessions of 3 turns, a share of users rephrasing; delay in sessions.
"""

from __future__ import annotations

import argparse
import collections
import random
import statistics
import time

from tests.traces.signals.planted import FAULTS, agent_trace, conversation
from watchkeeper.collector.traces.signals import trace_signals
from watchkeeper.collector.traces.signals.conversation import conversation_signals
from watchkeeper.collector.traces.signals.watch import SignalWatch

KEY = "support|support/answer|support"
EXPECTED = {
    "looping_tool": "trajectory.tool_loop",
    "failing_tool": "trajectory.tool_error",
    "empty_retrieval": "rag.retrieval_empty",
    "reversed_rerank": "rag.rerank_disagreement",
    "ignored_context": "rag.context_utilisation",
    "bad_tool_arguments": "trajectory.schema_violation",
    "irrelevant_retrieval": "rag.context_relevance",
}


#: Signals of the false alarms seen, over every run.
FALSE_ALARMS: collections.Counter[str] = collections.Counter()


def one_run(fault: str, seed: int, clean: int, faulty: int, share: float) -> tuple[int, int | None]:
    """(false alarms in the clean stretch, delay of the fault's signal or None)."""
    rng = random.Random(seed)
    watch = SignalWatch(seed=seed)
    false_alarms = 0
    for i in range(clean + faulty):
        planted = fault if i >= clean and rng.random() < share else None
        alarms = watch.update(KEY, trace_signals(agent_trace(rng, planted)))
        if i < clean:
            false_alarms += len(alarms)
            FALSE_ALARMS.update(alarm.signal for alarm in alarms)
        elif any(alarm.signal == EXPECTED[fault] for alarm in alarms):
            return false_alarms, i - clean
    return false_alarms, None


def conversation_run(seed: int, clean: int, faulty: int, share: float) -> tuple[int, int | None]:
    """The same for sessions: (false alarms, sessions until the rephrase rate alarmed)."""
    rng = random.Random(seed)
    watch = SignalWatch(seed=seed)
    false_alarms = 0
    for i in range(clean + faulty):
        rephrasing = i >= clean and rng.random() < share
        found = conversation_signals(conversation(rng, 3, rephrasing=rephrasing, session=str(i)))
        alarms = [
            a
            for values in (*found.turns, found.session)
            for a in watch.update(KEY, {f"conversation.{k}": v for k, v in values.items()})
        ]
        if i < clean:
            false_alarms += len(alarms)
            FALSE_ALARMS.update(alarm.signal for alarm in alarms)
        elif any(alarm.signal == "conversation.rephrase" for alarm in alarms):
            return false_alarms, i - clean
    return false_alarms, None


def _row(name: str, signal: str, results: list[tuple[int, int | None]], clean: int) -> str:
    delays = [d for _, d in results if d is not None]
    missed = sum(d is None for _, d in results)
    false_alarms = sum(f for f, _ in results)
    median = f"{statistics.median(delays):.0f}" if delays else "-"
    worst = f"{max(delays)}" if delays else "-"
    per_10k = false_alarms / (clean * len(results)) * 10_000
    return (
        f"| {name} | `{signal}` | {median} | {worst} | {missed} | {false_alarms} ({per_10k:.2f}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clean", type=int, default=2000, help="clean traces per run")
    parser.add_argument("--faulty", type=int, default=1000, help="traces after the change")
    parser.add_argument("--share", type=float, default=0.3, help="share of traces with the fault")
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"{args.runs} runs per fault: {args.clean} clean traces, then up to {args.faulty} "
        f"with the fault in {args.share:.0%}"
    )
    print("| fault | signal | delay, median (traces) | worst | missed | false alarms (per 10k) |")
    print("|---|---|---:|---:|---:|---:|")
    for fault in FAULTS:
        base = 1000 * (FAULTS.index(fault) + 1)  # every run's clean stretch is its own
        results = [
            one_run(fault, base + run, args.clean, args.faulty, args.share)
            for run in range(args.runs)
        ]
        print(_row(fault, EXPECTED[fault], results, args.clean))
    sessions = [
        conversation_run(seed, args.clean // 4, args.faulty // 4, args.share)
        for seed in range(args.runs)
    ]
    print(_row("rephrasing users (sessions)", "conversation.rephrase", sessions, args.clean // 4))
    print(f"false alarms by signal: {dict(FALSE_ALARMS) or 'none'}")
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
