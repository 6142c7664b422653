"""The judge's stages on the store thread, per stored call, at the default settings once
the judge's hourly budget is spent (a busy collector's steady state).

    python -m bench.judge.handoff_cost                 # 5 batches of 10,000 calls, 5 repeats

A pipeline with the default judge (``base_url`` and ``model`` only, its budget spent
from the start) prepares and stores batches of the collector benchmark's messages (a
500-character prompt and answer each); the judge's store stages (the hand-over of the
batch's calls to the judge's sampling, and taking the judge's rows into the batch) are
timed around each call with the thread's CPU clock. Printed: the median and least CPU µs
per stored call over the batches and repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    """Time the judge's store stages (see the module)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10_000, help="calls per batch")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    per_call = measure(args.batches, args.calls, args.repeats)
    print(
        f"judge store stages: {statistics.median(per_call):.2f} µs CPU per stored call "
        f"(median; least {min(per_call):.2f}) over {len(per_call)} batches of {args.calls}"
    )
    return 0


def measure(batches: int, calls: int, repeats: int) -> list[float]:
    """CPU µs per call of the judge's store stages, one figure per batch stored."""
    from tests.support.otlp_messages import message
    from watchkeeper.collector.judge.start import attach_judges
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline
    from watchkeeper.collector.settings import load_settings
    from watchkeeper.collector.store.store import open_store

    out: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        keys = {
            "data_dir": Path(tmp),
            "judge_base_url": "http://127.0.0.1:9/v1",  # never asked: the budget is spent
            "judge_model": "standin",
            "judge_max_requests_per_hour": 0,
        }
        settings = load_settings(overrides=keys, environ={})
        store = open_store(settings)
        pipeline = build_pipeline(settings, store)
        workers = attach_judges(settings, store, pipeline)
        assert workers is not None
        spent = [0.0]
        stages = pipeline.store_stages
        pipeline.store_stages = tuple(
            _timed(stage, spent) if type(stage).__module__.startswith(JUDGE) else stage
            for stage in stages
        )
        serial = iter(range(10**9))
        try:
            for _ in range(repeats):
                for _ in range(batches):
                    payloads = [
                        Payload(message(next(serial), "judge")[1], "bench") for _ in range(calls)
                    ]
                    spent[0] = 0.0
                    pipeline.write(pipeline.prepare(payloads))
                    out.append(spent[0] / calls * 1e6)
        finally:
            workers.close()
            pipeline.close()
            store.close()
    return out


#: The judge's own modules.
JUDGE = "watchkeeper.collector.judge."


def _timed(stage: Callable[[Any], None], spent: list[float]) -> Callable[[Any], None]:
    def run(prepared: Any) -> None:
        began = time.thread_time()
        stage(prepared)
        spent[0] += time.thread_time() - began

    return run


if __name__ == "__main__":
    sys.exit(main())
