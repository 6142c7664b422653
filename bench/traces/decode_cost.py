"""CPU of the compiled core's decode of a batch, per payload: LLM calls alone against the
same calls in five-span agent/RAG traces (``bench.collector.trace_messages``).

Run: ``python -m bench.traces.decode_cost`` (seconds). Batches of ``--batch`` payloads go
through ``native_decode.decode_run`` as ``Decode`` and ``Normalize`` hand them over
(records, rows, trace summaries, span columns), with the collector's garbage-collector
settings; the thread's CPU per payload, best of ``--rounds``, and the time the run's
objects take to free (in the pipeline that happens after ``write``, off the calling
thread), printed apart.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

from bench.collector.trace_messages import trace_message
from tests.support.otlp_messages import message

Message = Callable[[int, str], tuple[bytes, bytes]]


def per_payload_us(make: Message, batch: int, rounds: int) -> tuple[float, float]:
    """Best µs per payload of decoding a batch, and of freeing what it made."""
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.processors import native_decode

    payloads = [Payload(make(i, "decode")[1], "bench") for i in range(batch)]
    best, freeing = float("inf"), float("inf")
    for _ in range(rounds):
        started = time.thread_time()
        run = native_decode.decode_run(payloads, 0)
        decoded = time.thread_time()
        if run is None or run.end != batch:
            raise SystemExit("the core declined a payload")
        del run
        freed = time.thread_time()
        best = min(best, decoded - started)
        freeing = min(freeing, freed - decoded)
    return best / batch * 1e6, freeing / batch * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from watchkeeper.collector.processors import native_decode
    from watchkeeper.collector.runtime import tune_for_throughput

    if not native_decode.available():
        raise SystemExit("the compiled core is not installed (or WATCHKEEPER_NATIVE=0)")
    tune_for_throughput()
    gc.disable()  # scans would land in one round or another; the pipeline's are rare
    alone = per_payload_us(message, args.batch, args.rounds)
    traced = per_payload_us(trace_message, args.batch, args.rounds)
    print(f"µs of the thread per payload, best of {args.rounds} batches of {args.batch}")
    print(f"{'':<24}{'decode':>8}{'free':>8}")
    print(f"{'LLM call alone':<24}{alone[0]:>8.1f}{alone[1]:>8.1f}")
    print(f"{'5-span trace':<24}{traced[0]:>8.1f}{traced[1]:>8.1f}")
    print(f"{'trace minus alone':<24}{traced[0] - alone[0]:>8.1f}{traced[1] - alone[1]:>8.1f}")


if __name__ == "__main__":
    main()
