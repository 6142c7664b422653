"""The watchkeeper-kafka thread's CPU per LLM call, split into its parts, for calls sent
alone and inside five-span agent/RAG traces, through a real broker.

    python -m bench.collector.kafka_thread                 # 60,000 calls each
    python -m bench.collector.kafka_thread --calls 100000
    python -m bench.collector.kafka_thread --unique --tag stages   # no text repeats

The receiver's thread polls the consumer, runs ``Pipeline.prepare`` (every stage up to the
store) and commits a batch once the store thread wrote it; ``bench_traces --threads``
gives its total. Here the same run (``bench_throughput.pipeline_consume``: receiver,
pipeline and chDB as ``watchkeeper collect`` runs them, batches of ``kafka_max_batch``)
is timed with that thread's CPU clock by part: ``poll`` (the consumer's fetch and the
payloads made of its messages), each stage of ``prepare``, ``commit``, the garbage
collections run on that thread (inside the parts they interrupted, shown apart too), and
what is left of the thread's total (dropping the batch written before, the loop). Counted
from the first committed batch on, as ``pipeline_consume`` counts.

``--unique`` tags each call's prompt and answer with ``[run/i]``
(``bench.collector.unique_texts``) so that no text repeats; ``--tag`` puts a given word in
place of the run id, as given: a tag such as ``[2026-12-07/012345]`` holds a run of seven
digits and separators, which sends every answer to the PII patterns (as a date or an
order number in an answer would), ``[stages/012345]`` does not.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.collector.bench_throughput import PARTITIONS, pipeline_consume
from bench.collector.bench_traces import produce
from bench.collector.trace_messages import trace_message
from bench.collector.unique_texts import Message, unique_texts
from tests.support.otlp_messages import message

THREAD = "watchkeeper-kafka"


class Split:
    """CPU seconds of the receiver's thread by part, from the first commit on."""

    def __init__(self) -> None:
        self.spent: defaultdict[str, float] = defaultdict(float)
        self.armed = False
        self.first_messages = 0
        self._gc_started = 0.0

    def timed(self, name: str, run: Callable[..., Any]) -> Callable[..., Any]:
        """``run``, its thread CPU added to ``name`` once armed."""

        def timed_run(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return run(*args, **kwargs)
            finally:
                if self.armed:
                    self.spent[name] += time.thread_time() - started

        return timed_run

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        """A ``gc.callbacks`` entry: collections on the receiver's thread."""
        if not self.armed or threading.current_thread().name != THREAD:
            return
        if phase == "start":
            self._gc_started = time.thread_time()
        else:
            self.spent[f"gc (generation {info['generation']})"] += (
                time.thread_time() - self._gc_started
            )


def instrument(split: Split) -> Callable[[], None]:
    """Time the receiver's parts and the pipeline's stages; returns what undoes it."""
    from watchkeeper.collector import runtime
    from watchkeeper.collector.receivers.kafka import KafkaReceiver

    build, poll, commit = runtime.build_pipeline, KafkaReceiver._poll, KafkaReceiver._commit

    def built(*args: Any, **kwargs: Any) -> Any:
        pipeline = build(*args, **kwargs)
        for attr in ("decode_stages", "call_stages"):
            stages = getattr(pipeline, attr)
            setattr(pipeline, attr, tuple(split.timed(type(s).__name__, s) for s in stages))
        pipeline.prepare = split.timed("prepare", pipeline.prepare)  # type: ignore[method-assign]
        return pipeline

    timed_commit = split.timed("commit", commit)

    def committed(receiver: Any, after: Any, messages: int) -> None:
        timed_commit(receiver, after, messages)
        if not split.armed:
            split.armed, split.first_messages = True, receiver.messages

    runtime.build_pipeline = built
    KafkaReceiver._poll = split.timed("poll", poll)  # type: ignore[method-assign]
    KafkaReceiver._commit = committed  # type: ignore[method-assign,assignment]
    gc.callbacks.append(split.on_gc)

    def undo() -> None:
        runtime.build_pipeline = build
        KafkaReceiver._poll = poll  # type: ignore[method-assign]
        KafkaReceiver._commit = commit  # type: ignore[method-assign]
        gc.callbacks.remove(split.on_gc)

    return undo


def tagged_maker(made: Message, unique: bool, tag: str | None) -> Message:
    """``made``, or with each call's texts tagged (``[tag/i]`` when ``tag`` is given)."""
    if not unique:
        return made
    return unique_texts(made, tag)


def measure(
    bootstrap: str, calls: int, unique: bool = False, tag: str | None = None
) -> dict[str, dict[str, float]]:
    """µs of the receiver thread's CPU per LLM call by part, alone and in traces."""
    from tests.support.kafka_broker import create_topic

    out: dict[str, dict[str, float]] = {}
    for label, made in (("alone", message), ("traces", trace_message)):
        make = tagged_maker(made, unique, tag)
        run = uuid.uuid4().hex[:8]
        topic = f"kafka_thread_{label}_{run}"
        create_topic(bootstrap, topic, partitions=PARTITIONS)
        print(f"producing {calls} {label} ...", file=sys.stderr, flush=True)
        produce(bootstrap, topic, calls, run, make)
        split, threads = Split(), dict[str, float]()
        undo = instrument(split)
        try:
            with tempfile.TemporaryDirectory(prefix="wk-bench-") as tmp:
                pipeline_consume(bootstrap, topic, calls, Path(tmp), threads=threads)
        finally:
            undo()
        seen = max(calls - split.first_messages, 1)
        parts = {name: s / seen * 1e6 for name, s in split.spent.items()}
        total = threads.get(THREAD, 0.0)
        outside = sum(parts.get(name, 0.0) for name in ("poll", "prepare", "commit"))
        out[label] = {"thread (all)": total, **parts, "rest": total - outside}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run it and print a table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=60_000)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument(
        "--unique", action="store_true", help="no call's texts repeat (live traffic's case)"
    )
    parser.add_argument("--tag", help="with --unique: tag texts [TAG/i] (default: the run id)")
    args = parser.parse_args(argv)
    if args.bootstrap:
        result = measure(args.bootstrap, args.calls, args.unique, args.tag)
    else:
        from tests.support.kafka_broker import KafkaBroker

        with KafkaBroker() as broker:
            result = measure(broker.bootstrap, args.calls, args.unique, args.tag)
    names = list(dict.fromkeys([*result["alone"], *result["traces"]]))
    texts = "texts repeating from the corpus"
    if args.unique:
        texts = f"unique texts tagged [{args.tag or 'run'}/i]"
    print(f"{THREAD} thread, CPU µs per LLM call ({args.calls} calls per run, {texts})")
    print("| part | alone | 5-span traces |")
    print("|---|---:|---:|")
    for name in names:
        alone, traced = result["alone"].get(name, 0.0), result["traces"].get(name, 0.0)
        print(f"| {name} | {alone:.1f} | {traced:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
