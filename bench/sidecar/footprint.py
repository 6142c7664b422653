"""Resident memory of a running ``watchkeeper sidecar``: after start and after N spans.

    python -m bench.sidecar.footprint --watchkeeper /tmp/x/bin/watchkeeper [--spans 10000]

Run it under ``python -m tests.support.kafka_broker run --`` so the sidecar forwards to a
real broker (the memory then includes the Kafka producer); without a broker the spans
stay in the spool.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.sidecar.process import llm_request

_URL = re.compile(r"OTLP/HTTP on (http://\S+)/v1/traces")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--watchkeeper", default="watchkeeper", help="the console script")
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--per-request", type=int, default=100)
    args = parser.parse_args()
    bootstrap = os.environ.get("WATCHKEEPER_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    env["WATCHKEEPER_SIDECAR_DRAIN_TIMEOUT_S"] = "0"
    with tempfile.TemporaryDirectory() as spool:
        process = subprocess.Popen(
            [args.watchkeeper, "sidecar", "--port", "0", "--spool-dir", spool,
             "--kafka-bootstrap", bootstrap, "--kafka-topic", "footprint"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, env=env,
        )  # fmt: skip
        assert process.stderr is not None
        url = ""
        for line in process.stderr:
            match = _URL.search(line)
            if match:
                url = match.group(1)
                break
        if not url:
            print("sidecar did not start", file=sys.stderr)
            return 1
        time.sleep(1.0)
        started = _rss_kib(process.pid)
        sent = 0
        with httpx.Client() as client:
            for i in range(0, args.spans, args.per_request):
                body = llm_request(f"footprint-{i}", i, args.per_request).SerializeToString()
                response = client.post(
                    f"{url}/v1/traces", content=body,
                    headers={"content-type": "application/x-protobuf"},
                )  # fmt: skip
                response.raise_for_status()
                sent += args.per_request
            pending = -1.0
            deadline = time.monotonic() + 60
            while bootstrap != "127.0.0.1:1" and time.monotonic() < deadline:
                text = client.get(f"{url}/metrics").text
                pending = float(
                    re.search(r"^watchkeeper_sidecar_spool_records (\S+)$", text, re.M).group(1)
                )
                if pending == 0:
                    break
                time.sleep(0.2)
        time.sleep(1.0)
        after = _rss_kib(process.pid)
        process.terminate()
        process.wait(30)
    print(
        f"VmRSS after start: {started / 1024:.1f} MiB; after {sent} spans: {after / 1024:.1f} MiB"
        + ("" if bootstrap == "127.0.0.1:1" else f" (forwarded to Kafka, {pending:g} pending)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
