"""What a judge costs the collector, and what judging costs in requests and tokens.

    python -m bench.judge.judge_cost                  # 12,000 timed calls per pipeline
    python -m bench.judge.judge_cost --calls 4000 --sample-calls 500

Part 1, ingestion with a judge against without, in one run: two pipelines over one chDB
store, one with the default judge attached (sample rate 0.05, reviewed calls first, an
unlimited budget) and one without, take the benchmark's SDK-like messages (a 500-character
prompt and answer each) in alternating batches, after two batches each of warm-up.
Printed per pipeline: µs per call of the calling thread's CPU and of wall time for
``prepare`` + ``write`` (what a receiver waits for before it acknowledges), and their
ratio. The judge's endpoint is the tests' stand-in chat-completions server in its own
process on loopback, so its work is not counted.

Part 2, requests and tokens per 1,000 calls for each sampling setting: the same messages
through a judged pipeline until the judge has finished, counted from its metrics (the
stand-in counts a token per 4 characters, about what tokenizers give for English).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.judge.standin_endpoint import standin_endpoint

#: (sample_rate, review_first): calls sent to review alone, then uniform samples alone.
SETTINGS = ((0.0, True), (0.01, False), (0.05, False), (0.2, False), (1.0, False))


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print their figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=12_000, help="timed calls per pipeline")
    parser.add_argument("--batch", type=int, default=500, help="calls per batch")
    parser.add_argument("--sample-calls", type=int, default=1000, help="calls per setting")
    parser.add_argument("--only", choices=["ingestion", "requests"], help="run one part")
    args = parser.parse_args(argv)
    with standin_endpoint() as base_url:
        if args.only != "requests":
            ingestion_overhead(base_url, args.calls, args.batch)
        if args.only != "ingestion":
            requests_per_setting(base_url, args.sample_calls, args.batch)
    return 0


def ingestion_overhead(base_url: str, calls: int, batch: int) -> None:
    """Part 1 (see the module)."""
    from tests.support.otlp_messages import message
    from watchkeeper.collector.judge.start import attach_judges
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline, tune_for_throughput
    from watchkeeper.collector.store.store import open_store

    warmup_calls = batch * 4
    total = calls * 2 + warmup_calls
    payloads = [Payload(message(i, "judge")[1], "bench") for i in range(total)]
    with tempfile.TemporaryDirectory() as tmp:
        plain = judge_settings(Path(tmp), "", 0.0)
        judged = judge_settings(Path(tmp), base_url, 0.05)
        tune_for_throughput()
        store = open_store(plain)
        pipelines = {"without": build_pipeline(plain, store), "with": build_pipeline(judged, store)}
        workers = attach_judges(judged, store, pipelines["with"])
        totals: dict[str, list[float]] = {name: [0.0, 0.0] for name in pipelines}
        warmup = batch * 4
        at = 0
        # Batch by batch, alternating, so both see the same machine load; a warm-up first.
        while at < len(payloads) - batch * 2 + 1:
            for name, pipeline in pipelines.items():
                began_cpu, began = time.thread_time(), time.perf_counter()
                pipeline.write(pipeline.prepare(payloads[at : at + batch]))
                if at >= warmup:
                    totals[name][0] += time.thread_time() - began_cpu
                    totals[name][1] += time.perf_counter() - began
                at += batch
        assert workers is not None
        judged_calls = workers.done
        workers.close()
        store.close()
    n = calls
    cpu = {k: v[0] / n * 1e6 for k, v in totals.items()}
    wall = {k: v[1] / n * 1e6 for k, v in totals.items()}
    print(
        f"ingestion, {n} calls each after {warmup_calls // 2} of warm-up, "
        f"alternating batches of {batch}:"
    )
    for name in pipelines:
        print(f"  {name:>7} judge: calling thread {cpu[name]:.1f} µs/call, wall {wall[name]:.1f}")
    print(
        f"  ratio with/without: CPU {cpu['with'] / cpu['without']:.3f}, "
        f"wall {wall['with'] / wall['without']:.3f} ({judged_calls} calls judged meanwhile)"
    )


def requests_per_setting(base_url: str, calls: int, batch: int) -> None:
    """Part 2 (see the module)."""
    from tests.support.otlp_messages import message
    from watchkeeper.collector.judge.start import attach_judges
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.runtime import build_pipeline
    from watchkeeper.collector.store.store import open_store

    print(f"judging per 1,000 calls (4 rubric dimensions; {calls} calls per setting):")
    print("  (review_first only: the calls the review queues took; the others: the sample alone)")
    for rate, review_first in SETTINGS:
        with tempfile.TemporaryDirectory() as tmp:
            settings = judge_settings(Path(tmp), base_url, rate, review_first=review_first)
            store = open_store(settings)
            pipeline = build_pipeline(settings, store)
            workers = attach_judges(settings, store, pipeline)
            assert workers is not None
            payloads = [Payload(message(i, f"rate{rate}")[1], "bench") for i in range(calls)]
            for start in range(0, calls, batch):
                pipeline.write(pipeline.prepare(payloads[start : start + batch]))
            deadline = time.monotonic() + 600
            while not workers.idle() and time.monotonic() < deadline:
                time.sleep(0.2)
            timed_out = not workers.idle()
            figures = _judge_figures(pipeline)
            workers.close()
            store.close()
        per = 1000 / calls
        print(
            f"  {'review_first only' if review_first else f'sample_rate {rate}':<17}: "
            f"{figures['judged'] * per:7.1f} calls judged, "
            f"{figures['requests'] * per:7.1f} requests, "
            f"{figures['input'] * per:9.0f} input + {figures['output'] * per:7.0f} output tokens"
            f"{' (timed out)' if timed_out else ''}"
        )


def _judge_figures(pipeline: Any) -> dict[str, float]:
    registry = pipeline.metrics.registry

    def value(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, {"judge": "default", **labels}) or 0.0

    return {
        "judged": value("watchkeeper_judge_calls_judged_total", source="request"),
        "requests": value("watchkeeper_judge_request_duration_seconds_count"),
        "input": value("watchkeeper_judge_tokens_total", kind="input"),
        "output": value("watchkeeper_judge_tokens_total", kind="output"),
    }


def judge_settings(data_dir: Path, base_url: str, rate: float, *, review_first: bool = True) -> Any:
    from watchkeeper.collector.settings import load_settings

    keys: dict[str, Any] = {"data_dir": data_dir}
    if base_url:
        keys |= {
            "judge_base_url": base_url,
            "judge_model": "standin",
            "judge_sample_rate": rate,
            "judge_review_first": review_first,
            "judge_concurrency": 4,
            "judge_max_requests_per_hour": 10_000_000,
            "judge_max_tokens_per_hour": 10_000_000_000,
            "judge_review_share": 0.0,
            "judge_backlog_lookback_s": 0,
        }
    return load_settings(overrides=keys, environ={})


if __name__ == "__main__":
    sys.exit(main())
