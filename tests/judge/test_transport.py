"""The judges' HTTP transport against real servers on loopback: kept-alive connections,
one reconnect when the server dropped a kept connection, httpx behind a proxy."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.judge.standin import StandIn
from watchkeeper.collector.judge.transport import (
    ConnectionTransport,
    HttpxTransport,
    TransportError,
    open_transport,
)


class _ClosesAfterEachReply(BaseHTTPRequestHandler):
    """Answers ``{"n": <connection's request number>}`` over HTTP/1.1 without saying it
    will close, then closes: a kept connection the server dropped meanwhile."""

    protocol_version = "HTTP/1.1"
    connections = 0

    def setup(self) -> None:
        super().setup()
        type(self).connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        body = json.dumps({"n": type(self).connections}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def dropping_server() -> Iterator[str]:
    """A server that drops every connection after one reply; its base URL."""
    _ClosesAfterEachReply.connections = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesAfterEachReply)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_requests_share_one_kept_connection(standin: StandIn) -> None:
    """Three requests from one thread to the stand-in: three replies, one connection."""
    transport = ConnectionTransport(standin.url, {}, 5.0)
    try:
        body = {"model": "m", "messages": [{"role": "user", "content": "Dimension: tone."}]}
        replies = [transport.post("/chat/completions", body) for _ in range(3)]
    finally:
        transport.close()
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert replies[0].json()["choices"][0]["message"]["content"]
    assert len({r["peer"] for r in standin.requests}) == 1


def test_a_kept_connection_the_server_dropped_is_opened_again(dropping_server: str) -> None:
    """The second request finds its kept connection closed by the server: it is sent again
    once on a new connection, and answered."""
    transport = ConnectionTransport(dropping_server, {}, 5.0)
    try:
        first = transport.post("/chat/completions", {"a": 1})
        second = transport.post("/chat/completions", {"a": 2})
    finally:
        transport.close()
    assert (first.json(), second.json()) == ({"n": 1}, {"n": 2})


def test_an_endpoint_that_does_not_listen_is_a_transport_error() -> None:
    """A port nobody listens on: TransportError naming the failure, no reconnect loop."""
    transport = ConnectionTransport("http://127.0.0.1:9/v1", {}, 2.0)
    with pytest.raises(TransportError, match="ConnectionRefusedError"):
        transport.post("/chat/completions", {})


def test_a_proxy_in_the_environment_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY applies to an https endpoint (httpx honours it), not to one NO_PROXY
    lists, nor to an http endpoint."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    for key in ("HTTP_PROXY", "http_proxy", "https_proxy", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
    proxied = open_transport("https://api.example.com/v1", {}, 5.0)
    assert isinstance(proxied, HttpxTransport)
    proxied.close()
    bypassed = open_transport("https://internal.example/v1", {}, 5.0)
    plain = open_transport("http://127.0.0.1:8000/v1", {}, 5.0)
    assert isinstance(bypassed, ConnectionTransport)
    assert isinstance(plain, ConnectionTransport)
