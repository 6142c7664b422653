"""CPU per call of the default detectors as the collector runs them.

    python -m tests.bench.detectors.stage_cost            # with the compiled core if installed
    WATCHKEEPER_NATIVE=0 python -m tests.bench.detectors.stage_cost   # the Python code alone

The collector throughput benchmark's messages (500-character prompts and answers from
chatterbot-corpus, four routes, no retrieved contexts) go through decode and normalize,
then the detector stage (one instance per key, score rows built) warms up on the first
500 calls; the rest are timed with ``time.process_time()``, all detectors together and
each alone (a detector alone also pays the text analysis the others share with it).
"""

from __future__ import annotations

import argparse
import sys
import time

from watchkeeper.detectors import default_detectors
from watchkeeper.detectors.text import native_core


def main(argv: list[str] | None = None) -> int:
    """Print µs of CPU per call, all default detectors together and each alone."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls, the first 500 warm up")
    args = parser.parse_args(argv)

    from tests.bench.collector.bench_throughput import message
    from watchkeeper.collector.processors.decode import decode_request
    from watchkeeper.collector.processors.detect import DetectorStage
    from watchkeeper.collector.processors.normalize import normalize_request

    calls = [
        call
        for i in range(args.calls)
        for call in normalize_request(decode_request(message(i, "d")[1]), "k").calls
    ]
    warm, measured = calls[:500], calls[500:]
    core = "with the compiled core" if native_core.CORE is not None else "Python alone"
    print(f"µs of CPU per call, {len(measured):,} calls ({core})")
    for label, detectors in [
        ("all together", default_detectors()),
        *((f"  {d.name}", [d]) for d in default_detectors()),
    ]:
        stage = DetectorStage(detectors)
        stage.run(warm)
        started = time.process_time()
        stage.run(measured)
        print(f"{label:28s} {(time.process_time() - started) / len(measured) * 1e6:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
