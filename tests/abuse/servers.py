"""Real watchkeeper servers for the abuse suite and its memory figures: start one as its own
process on loopback with short deadlines, send good traffic, read its resident memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.ingest.settings import ENV_PREFIX

#: Seconds a request's headers, then its body, may take: short here to keep the suite fast.
HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 4.0
MAX_CONNECTIONS = 64
#: What an attack may add to the server's resident memory (documented in docs/collector.md).
RSS_BOUND_BYTES = 256 * 1024 * 1024
ADMIN_TOKEN = "wk_abuse-suite-admin-token-0000000000000000"
PROTOBUF = {"content-type": "application/x-protobuf"}
GOOD_CALLS_PER_REQUEST = 5


@dataclass
class Server:
    """One running server process and the good calls sent to it."""

    kind: str
    url: str
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path
    good_calls: int = 0

    @property
    def good_payload(self) -> bytes:
        """A fresh OTLP request of good calls (new ids: stored rows are unique by span)."""
        return protobuf_payload(answer_spans(GOOD_CALLS_PER_REQUEST))

    def send_good(self, count: int = 3) -> list[int]:
        """Send ``count`` good OTLP requests; returns their statuses."""
        statuses = []
        with httpx.Client(timeout=30) as client:
            for _ in range(count):
                response = client.post(
                    f"{self.url}/v1/traces", content=self.good_payload, headers=PROTOBUF
                )
                statuses.append(response.status_code)
                if response.status_code == 200:
                    self.good_calls += GOOD_CALLS_PER_REQUEST
        return statuses

    def rss(self) -> int:
        """Resident bytes of the server process."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        return int(kib) * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(kind: str, tmp: Path) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(
        {
            "WATCHKEEPER_DATA_DIR": str(tmp / "data"),
            "WATCHKEEPER_SIDECAR_SPOOL_DIR": str(tmp / "spool"),
            "WATCHKEEPER_HTTP_HOST": "127.0.0.1",
            "WATCHKEEPER_HTTP_PORT": str(port),
            "WATCHKEEPER_HTTP_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
            "WATCHKEEPER_HTTP_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
            "WATCHKEEPER_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
            "WATCHKEEPER_BOOTSTRAP_ADMIN_TOKEN": ADMIN_TOKEN,
            # The sidecar has no broker here: it spools, which is all these tests need.
            "WATCHKEEPER_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        }
    )
    log = (tmp / f"{kind}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "watchkeeper.ingest.cli", kind],
        cwd=tmp,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(kind, f"http://127.0.0.1:{port}", port, process, tmp / "data")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} exited: {(tmp / f'{kind}.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{kind} did not start within 60 s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


def stalled_upload(port: int, declared: int) -> socket.socket:
    """A connection that sends OTLP headers declaring ``declared`` bytes, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        + f"Content-Length: {declared}\r\n\r\n".encode()
    )
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (reading whatever it sends)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True  # reset by the server
    return True


def chunks(total: int, size: int = 1024 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"\x0a" * size
        sent += size
