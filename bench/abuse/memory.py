"""Resident memory of ``watchkeeper up`` and ``watchkeeper sidecar`` under upload attacks.

Starts each server as its own process on loopback, then, with good OTLP traffic between:
four uploads that declare 16 MiB and stall; four 256 MiB chunked uploads at once; both at
once. Prints the resident memory before, the peak during, and after each attack, and the
good requests' statuses. docs/benchmarks.md keeps the figures.

    python -m bench.abuse.memory
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.abuse.servers import (
    BODY_TIMEOUT_S,
    PROTOBUF,
    Server,
    chunks,
    closed_within,
    stalled_upload,
    start_server,
    stop_server,
)

MIB = 1024 * 1024


def _chunked_uploads(server: Server, count: int) -> Callable[[], None]:
    def attack() -> None:
        def upload() -> None:
            try:
                with httpx.Client(timeout=120) as client:
                    client.post(
                        f"{server.url}/v1/traces", content=chunks(256 * MIB), headers=PROTOBUF
                    )
            except httpx.HTTPError:
                pass  # closed by the server while the client still wrote

        threads = [threading.Thread(target=upload) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return attack


def _stalled_uploads(server: Server, count: int) -> Callable[[], None]:
    def attack() -> None:
        sockets = [stalled_upload(server.port, 16 * MIB) for _ in range(count)]
        for sock in sockets:
            closed_within(sock, BODY_TIMEOUT_S + 5)
            sock.close()

    return attack


def _both(server: Server) -> Callable[[], None]:
    def attack() -> None:
        threads = [
            threading.Thread(target=_stalled_uploads(server, 4)),
            threading.Thread(target=_chunked_uploads(server, 4)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return attack


def _measure(server: Server, name: str, attack: Callable[[], None]) -> None:
    before = server.rss()
    peak = before
    runner = threading.Thread(target=attack)
    runner.start()
    statuses: list[int] = []
    while runner.is_alive():
        peak = max(peak, server.rss())
        statuses += server.send_good(1)
        time.sleep(0.05)
    after = server.rss()
    good = f"{statuses.count(200)}/{len(statuses)} good requests 200"
    print(
        f"{server.kind:<8} {name:<28} before {before / MIB:6.1f} MiB  peak {peak / MIB:6.1f} "
        f"(+{(peak - before) / MIB:5.1f})  after {after / MIB:6.1f}  {good}",
        flush=True,
    )


def main() -> None:
    for kind in ("up", "sidecar"):
        with tempfile.TemporaryDirectory(prefix=f"wk-abuse-{kind}-") as tmp:
            server = start_server(kind, Path(tmp))
            try:
                server.send_good(5)
                _measure(server, "4 stalled 16 MiB uploads", _stalled_uploads(server, 4))
                _measure(server, "4 chunked 256 MiB uploads", _chunked_uploads(server, 4))
                _measure(server, "both at once", _both(server))
            finally:
                stop_server(server)


if __name__ == "__main__":
    main()
