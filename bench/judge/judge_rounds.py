"""The judge's cost to the collector process, as a median ratio over alternating rounds.

    python -m bench.judge.judge_rounds                 # 7 rounds of 3,000 calls each way
    python -m bench.judge.judge_rounds --rounds 5 --calls 2000

Two pipelines over one chDB store, one with the default judge attached (sample rate 0.05,
reviewed calls first, four worker threads, an unlimited budget) and one without, take the
benchmark's SDK-like messages (a 500-character prompt and answer each). A round runs
``--calls`` calls through each pipeline in turn (which goes first alternates), and the
judged turn lasts until the judge has finished the calls it picked, so the judge threads'
own work (prompts, HTTP, parsing, writing verdicts and scores) is inside its window.
Per turn: process CPU per call (every thread of the collector process) and the calling
thread's CPU per call (what a receiver waits for before it acknowledges). Printed: each
round's with/without ratios, then their median and range. The judge's endpoint is the
tests' stand-in chat-completions server in its own process on loopback, so the model's
work is not counted. Ratios, not absolute figures, are what one run can compare under a
shared machine's changing load.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.judge.judge_cost import _free_port, _settings, _wait_for


def main(argv: list[str] | None = None) -> int:
    """Run the rounds against a stand-in endpoint in its own process and print them."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=3000, help="calls per pipeline per round")
    parser.add_argument("--batch", type=int, default=500, help="calls per batch")
    args = parser.parse_args(argv)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.judge.standin", str(port)])
    try:
        _wait_for(f"http://127.0.0.1:{port}/v1/models")
        rounds(f"http://127.0.0.1:{port}/v1", args.rounds, args.calls, args.batch)
    finally:
        server.terminate()
        server.wait(10)
    return 0


def rounds(base_url: str, count: int, calls: int, batch: int) -> None:
    """The rounds (see the module)."""
    from tests.support.otlp_messages import message
    from watchkeeper.collector.judge.start import attach_judges
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.store.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        plain = _settings(Path(tmp), "", 0.0)
        judged = _settings(Path(tmp), base_url, 0.05)
        tune_for_throughput()
        store = open_store(plain)
        pipelines = {"without": build_pipeline(plain, store), "with": build_pipeline(judged, store)}
        workers = attach_judges(judged, store, pipelines["with"])
        assert workers is not None
        serial = iter(range(10**9))

        def turn(name: str) -> tuple[float, float]:
            pipeline = pipelines[name]
            payloads = [Payload(message(next(serial), "judge")[1], "bench") for _ in range(calls)]
            began = time.process_time(), time.thread_time()
            for at in range(0, calls, batch):
                pipeline.write(pipeline.prepare(payloads[at : at + batch]))
            while name == "with" and not workers.idle():
                time.sleep(0.01)
            return (
                (time.process_time() - began[0]) / calls * 1e6,
                (time.thread_time() - began[1]) / calls * 1e6,
            )

        turn("without"), turn("with")  # warm-up
        ratios: list[tuple[float, float]] = []
        print(f"{count} rounds of {calls} calls per pipeline, batches of {batch}:")
        for index in range(count):
            order = ("with", "without") if index % 2 else ("without", "with")
            got = {name: turn(name) for name in order}
            process = got["with"][0] / got["without"][0]
            thread = got["with"][1] / got["without"][1]
            ratios.append((process, thread))
            print(
                f"  round {index + 1}: process CPU {got['without'][0]:.1f} -> "
                f"{got['with'][0]:.1f} µs/call (x{process:.3f}); calling thread "
                f"{got['without'][1]:.1f} -> {got['with'][1]:.1f} (x{thread:.3f})"
            )
        judged_calls = workers.done
        workers.close()
        store.close()
    _summary(ratios, judged_calls)


def _summary(ratios: list[tuple[float, float]], judged_calls: Any) -> None:
    for label, values in (
        ("process CPU", [r[0] for r in ratios]),
        ("calling-thread CPU", [r[1] for r in ratios]),
    ):
        print(
            f"{label} with/without: median x{statistics.median(values):.3f}, "
            f"range x{min(values):.3f} to x{max(values):.3f}"
        )
    print(f"calls judged: {judged_calls}")


if __name__ == "__main__":
    sys.exit(main())
