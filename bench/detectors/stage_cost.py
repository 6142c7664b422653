"""CPU per call of the default detectors as the collector runs them.

    python -m bench.detectors.stage_cost            # with the compiled core if installed
    WATCHKEEPER_NATIVE=0 python -m bench.detectors.stage_cost   # the Python code alone

The collector throughput benchmark's messages (500-character prompts and answers from
chatterbot-corpus, four routes, no retrieved contexts) go through decode and normalize,
then the detector stage (one instance per key, score rows built). Two figures for all
detectors together: a new key's first calls (``--cold`` of them, timed from the start:
they include the one-time calibrations each key's detectors run as their references
fill, at 256, 1,024 and 4,096 values) and the steady state (``--calls`` calls after
``--warmup``, past those calibrations), then each detector alone in the steady state (a
detector alone also pays the text analysis the others share with it). Each as CPU of all
threads, CPU of the calling thread (the one that feeds the detectors: the texts are
analysed ahead on another, mostly without the GIL) and wall time, µs per call.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from watchkeeper.detectors import default_detectors, native_core


def main(argv: list[str] | None = None) -> int:
    """Print µs of CPU per call, all default detectors together and each alone."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="steady-state calls timed")
    parser.add_argument("--warmup", type=int, default=17000, help="calls before those")
    parser.add_argument("--cold", type=int, default=5000, help="first calls of a key timed")
    parser.add_argument(
        "--together", action="store_true", help="all detectors together only, not each alone"
    )
    args = parser.parse_args(argv)

    from tests.support.otlp_messages import message
    from watchkeeper.collector.processors.decode import decode_request
    from watchkeeper.collector.processors.detect import DetectorStage
    from watchkeeper.collector.processors.normalize import normalize_request
    from watchkeeper.collector.runtime import tune_for_throughput

    calls = [
        call
        for i in range(args.warmup + args.calls)
        for call in normalize_request(decode_request(message(i, "d")[1]), "k").calls
    ]
    tune_for_throughput()  # as the collector runs
    warm, measured = calls[: args.warmup], calls[args.warmup :]
    core = "with the compiled core" if native_core.AVAILABLE else "Python alone"
    print(f"µs of CPU per call ({core})")

    def timed(stage: DetectorStage, batch: list[Any]) -> str:
        """µs per call: CPU of all threads, CPU of the calling thread, and wall time."""
        started = time.process_time(), time.thread_time(), time.perf_counter()
        for i in range(0, len(batch), 2000):  # the stage goes through runs of 256 anyway
            stage.run(batch[i : i + 2000])
        ended = time.process_time(), time.thread_time(), time.perf_counter()
        return " ".join(
            f"{(b - a) / len(batch) * 1e6:9.1f}" for a, b in zip(started, ended, strict=True)
        )

    # The texts are analysed ahead on another thread (TextPrefetch), mostly without the
    # GIL: the calling thread's CPU is what the thread feeding the detectors pays.
    print(f"{'':36s} {'process':>9s} {'thread':>9s} {'wall':>9s}")
    cold = timed(DetectorStage(default_detectors()), calls[: args.cold])
    print(f"{'all together, first ' + format(args.cold, ',') + ' calls':36s} {cold}")
    for label, detectors in [
        (f"all together, after {args.warmup:,}", default_detectors()),
        *((f"  {d.name}", [d]) for d in ([] if args.together else default_detectors())),
    ]:
        stage = DetectorStage(detectors)
        timed(stage, warm)
        print(f"{label:36s} {timed(stage, measured)}")
        stage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
