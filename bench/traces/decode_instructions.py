"""Instructions the compiled core's decode of a batch takes per payload, counted by
callgrind, which the machine's load does not move: LLM calls alone against the same calls
in five-span agent/RAG traces (``bench.collector.trace_messages``).

Run: ``python -m bench.traces.decode_instructions`` (about a minute; needs valgrind). Each
kind runs in its own process under ``valgrind --tool=callgrind``, which counts only inside
``map()`` (``--toggle-collect=map_next``): one ``native_decode.decode_run`` of ``--batch``
payloads and the freeing of what it made, after a warm-up run outside the count.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.collector.trace_messages import trace_message
from tests.support.otlp_messages import message


def count_one(kind: str, batch: int) -> None:
    """The run that callgrind counts (in the child process)."""
    from watchkeeper.collector.pipeline import Payload
    from watchkeeper.collector.processors import native_decode
    from watchkeeper.collector.runtime import tune_for_throughput

    if not native_decode.available():
        raise SystemExit("the compiled core is not installed (or WATCHKEEPER_NATIVE=0)")
    tune_for_throughput()
    gc.disable()
    make = trace_message if kind == "trace" else message
    payloads = [Payload(make(i, "count")[1], "bench") for i in range(batch)]
    native_decode.decode_run(payloads[:50], 0)  # interned names, lazy imports

    def decode(_: int) -> int:
        run = native_decode.decode_run(payloads, 0)
        return -1 if run is None else run.end

    if list(map(decode, [0])) != [batch]:
        raise SystemExit("the core declined a payload")


def instructions(kind: str, batch: int) -> float:
    """Instructions per payload of ``kind``, from callgrind's totals."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=map_next",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.traces.decode_instructions",
            "--count",
            kind,
            "--batch",
            str(batch),
        ]
        subprocess.run(command, check=True, capture_output=True)
        for line in out.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1]) / batch
    raise SystemExit("callgrind wrote no totals")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--count", choices=("alone", "trace"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count:
        count_one(args.count, args.batch)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian package valgrind)")
    alone = instructions("alone", args.batch)
    traced = instructions("trace", args.batch)
    print(f"instructions per payload, decode_run of {args.batch} payloads, freeing included")
    print(f"{'LLM call alone':<24}{alone:>10,.0f}")
    print(f"{'5-span trace':<24}{traced:>10,.0f}")
    print(f"{'trace minus alone':<24}{traced - alone:>10,.0f}")


if __name__ == "__main__":
    main()
