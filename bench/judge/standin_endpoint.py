"""The tests' stand-in chat-completions endpoint (``tests.judge.standin``), run in its own
process for the judge benchmarks so that its CPU is not counted as the collector's."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def standin_endpoint() -> Iterator[str]:
    """Start the stand-in on a free loopback port; yield its base URL once it answers."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.judge.standin", str(port)])
    try:
        _wait_for(f"http://127.0.0.1:{port}/v1/models")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
