"""Calling-thread CPU of an agent turn: three nested observed calls against three nested
OpenTelemetry spans.

Run: ``python -m bench.sdk.agent_turn``. Our turn is ``@observe(kind="agent")`` calling a
``kind="tool"`` function and an LLM call (with usage) inside ``session(...)``, exported to
memory; OpenTelemetry's is three nested spans of 8 attributes with a BatchSpanProcessor
into memory. Per turn: ``time.thread_time()`` of the calling thread over ``--turns``
turns, median of ``--rounds`` alternating rounds (exports flushed between rounds).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from watchkeeper.sdk import configure, current_call, flush, observe, session, testing

ATTRIBUTES = {f"attribute.{i}": "value" for i in range(8)}


@observe(kind="tool")
def get_order(order_id: int) -> str:
    return "shipped"


@observe(model="stand-in", provider="test")
def generate(question: str) -> str:
    current_call().set_usage(120, 30)
    return "Your order shipped."


@observe(kind="agent", name="support")
def agent(question: str) -> str:
    get_order(1234)
    return generate(question)


def ours() -> None:
    with session(session_id="chat-1", user_id="user-1"):
        agent("Where is my order 1234?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    configure("memory", max_queue_size=4 * args.turns)
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(InMemorySpanExporter(), max_queue_size=4 * args.turns)
    )
    tracer = provider.get_tracer("bench")

    def otel() -> None:
        with tracer.start_as_current_span("agent", attributes=ATTRIBUTES):
            with tracer.start_as_current_span("tool", attributes=ATTRIBUTES):
                pass
            with tracer.start_as_current_span("llm", attributes=ATTRIBUTES):
                pass

    rounds: dict[str, list[float]] = {"watchkeeper": [], "opentelemetry": []}
    turns: dict[str, Callable[[], None]] = {"watchkeeper": ours, "opentelemetry": otel}
    for _ in range(args.rounds):
        for name, turn in turns.items():
            started = time.thread_time()
            for _ in range(args.turns):
                turn()
            rounds[name].append((time.thread_time() - started) / args.turns * 1e6)
            flush()
            provider.force_flush()
            testing.clear()
    ours_us = statistics.median(rounds["watchkeeper"])
    theirs_us = statistics.median(rounds["opentelemetry"])
    print(f"{args.rounds} rounds of {args.turns} turns, median, calling thread")
    print("| turn of 3 nested spans | µs per turn |")
    print("|---|---:|")
    print(f"| watchkeeper `@observe` (agent, tool, LLM) in `session()` | {ours_us:.1f} |")
    print(f"| OpenTelemetry spans, 8 attributes, BatchSpanProcessor | {theirs_us:.1f} |")
    print(f"ratio {ours_us / theirs_us:.2f}")


if __name__ == "__main__":
    main()
