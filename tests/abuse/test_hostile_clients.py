"""Hostile clients against the real servers (``watchkeeper up`` and ``watchkeeper sidecar``,
each its own process on loopback), with good traffic sent around every attack.

Each attack must leave ingest working: every good request sent during it is answered 200,
and at the end every good call sent to ``up`` is in its store. Resident memory of the
server under the chunked and stalled-upload attacks stays under :data:`RSS_BOUND_BYTES`
above its resident size before them (docs/collector.md, "Limits").
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.abuse.servers import (
    ADMIN_TOKEN,
    BODY_TIMEOUT_S,
    GOOD_CALLS_PER_REQUEST,
    HEADER_TIMEOUT_S,
    MAX_CONNECTIONS,
    PROTOBUF,
    RSS_BOUND_BYTES,
    Server,
    chunks,
    closed_within,
    stalled_upload,
    start_server,
    stop_server,
)
from tests.collector.otlp_payloads import answer_spans, protobuf_payload


@pytest.fixture(scope="module", params=["up", "sidecar"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A running ``watchkeeper up`` or ``watchkeeper sidecar`` with short deadlines."""
    running = start_server(request.param, tmp_path_factory.mktemp(request.param))
    yield running
    if running.process.poll() is None:
        stop_server(running)


def teststalled_uploads_do_not_stop_ingest(server: Server) -> None:
    """Four uploads that declare 16 MiB and send nothing neither throttle other clients nor
    stay open past the body deadline."""
    before = server.rss()
    stalled = [stalled_upload(server.port, 16 * 1024 * 1024) for _ in range(4)]
    try:
        assert server.send_good(5) == [200] * 5
        assert all(closed_within(sock, BODY_TIMEOUT_S + 5) for sock in stalled)
    finally:
        for sock in stalled:
            sock.close()
    assert server.send_good(2) == [200] * 2
    assert server.rss() - before < RSS_BOUND_BYTES


def test_slow_headers_are_cut_off(server: Server) -> None:
    """Headers trickled a byte at a time (slowloris) are cut off at the header deadline."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")
    cut = False
    started = time.monotonic()
    try:
        while time.monotonic() - started < HEADER_TIMEOUT_S + 6:
            try:
                sock.sendall(b"X")
            except OSError:
                cut = True
                break
            time.sleep(0.3)
            assert server.send_good(1) == [200]
    finally:
        sock.close()
    assert cut


def test_chunked_bodies_are_bounded_as_they_stream(server: Server) -> None:
    """Four parallel 256 MiB chunked uploads (no Content-Length) each get 413 once the body
    passes the bound; memory stays bounded; good traffic goes on."""
    before = server.rss()
    peak = [before]
    statuses: list[int] = []

    def upload() -> None:
        try:
            with httpx.Client(timeout=60) as client:
                response = client.post(
                    f"{server.url}/v1/traces", content=chunks(256 * 1024 * 1024), headers=PROTOBUF
                )
                statuses.append(response.status_code)
        except httpx.HTTPError:
            statuses.append(413)  # the server may close while the client still writes

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], server.rss())
        time.sleep(0.05)
    assert statuses == [413] * 4
    assert peak[0] - before < RSS_BOUND_BYTES
    assert server.send_good(3) == [200] * 3


def test_declared_oversize_is_refused_before_reading(server: Server) -> None:
    """A Content-Length over the bound is answered 413 without waiting for the body."""
    sock = stalled_upload(server.port, 64 * 1024 * 1024)
    sock.settimeout(10)
    try:
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")
    finally:
        sock.close()


def test_unsupported_content_encodings_are_415(server: Server) -> None:
    """``br`` (or any encoding the receiver cannot decode) is 415, not read as plain bytes;
    gzip is accepted."""
    response = httpx.post(
        f"{server.url}/v1/traces",
        content=server.good_payload,
        headers={**PROTOBUF, "content-encoding": "br"},
    )
    assert response.status_code == 415
    response = httpx.post(
        f"{server.url}/v1/traces",
        content=gzip.compress(server.good_payload),
        headers={**PROTOBUF, "content-encoding": "gzip"},
    )
    assert response.status_code == 200
    server.good_calls += GOOD_CALLS_PER_REQUEST


def test_deeply_nested_json_is_400(server: Server) -> None:
    """OTLP/JSON nested 10,000 levels deep is a 400 (dead-lettered), not a 500."""
    body = b'{"resourceSpans": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    response = httpx.post(
        f"{server.url}/v1/traces", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert server.send_good(1) == [200]


def test_connections_beyond_the_cap_are_closed(server: Server) -> None:
    """Idle connections past the cap are closed as they open; once they go, clients are
    served again."""
    idle = [
        socket.create_connection(("127.0.0.1", server.port), timeout=10)
        for _ in range(MAX_CONNECTIONS + 8)
    ]
    try:
        dropped = sum(closed_within(sock, 1.0) for sock in idle[MAX_CONNECTIONS:])
        assert dropped == 8
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.5)
    assert server.send_good(2) == [200] * 2


def _odd_texts(count: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    pool = [
        lambda: chr(rng.randint(0xD800, 0xDFFF)),  # lone surrogates
        lambda: chr(rng.randint(0x20, 0x7E)),
        lambda: chr(rng.randint(0x80, 0xFFFF)),
        lambda: chr(rng.randint(0x10000, 0x10FFFF)),
        lambda: rng.choice(["\x00", "\n", "\r", "\t", "\u2028", "\ufeff"]),
    ]
    return ["".join(rng.choice(pool)() for _ in range(rng.randint(1, 40))) for _ in range(count)]


def test_odd_text_from_any_client_never_costs_a_batch(server: Server) -> None:
    """Arbitrary Python strings (lone surrogates included) sent by the SDK, protobuf with
    invalid UTF-8 from a foreign client, and OTLP/JSON with surrogate escapes: every
    request is accepted (200), none is refused for one bad string."""
    from watchkeeper.sdk import configure, flush, observe

    configure("otlp", endpoint=server.url, service_name="odd-text", schedule_delay_s=0.05)

    @observe(model="m", route="odd/text")
    def answer(question: str) -> str:
        return question[::-1]

    texts = _odd_texts(60, seed=16)
    for text in texts:
        answer(text)
    assert flush(30)
    server.good_calls += len(texts)
    # A foreign client's protobuf with a lone surrogate encoded as UTF-8-ish bytes.
    marked = protobuf_payload(answer_spans(GOOD_CALLS_PER_REQUEST))
    broken = marked.replace(b"question number 1?", b"question \xed\xa0\x80ber 1?", 1)
    assert broken != marked
    response = httpx.post(f"{server.url}/v1/traces", content=broken, headers=PROTOBUF)
    assert response.status_code == 200, response.text
    server.good_calls += GOOD_CALLS_PER_REQUEST
    assert server.send_good(1) == [200]


def test_alert_routes_need_a_token(server: Server) -> None:
    """Without a token, the alert webhook and the alert history answer 401 (on ``up``)."""
    if server.kind != "up":
        pytest.skip("the sidecar serves OTLP, /metrics and /healthz only")
    assert httpx.post(f"{server.url}/api/alerts/webhook", json={}).status_code == 401
    assert httpx.get(f"{server.url}/api/alerts", params={"limit": 10_000}).status_code == 401


def test_form_and_webhook_bodies_are_bounded(server: Server) -> None:
    """A 2 MiB chunked login form and a 100 MiB chunked alert notification are refused with
    413 while they stream."""
    if server.kind != "up":
        pytest.skip("the sidecar serves OTLP, /metrics and /healthz only")
    form = {"content-type": "application/x-www-form-urlencoded"}
    login = httpx.post(f"{server.url}/login", content=chunks(2 * 1024 * 1024), headers=form)
    assert login.status_code == 413
    created = httpx.post(
        f"{server.url}/api/tokens",
        json={"name": "alertmanager", "role": "alerts"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert created.status_code in (200, 201), created.text
    alerts = {"authorization": f"Bearer {created.json()['token']}"}
    try:
        webhook = httpx.post(
            f"{server.url}/api/alerts/webhook",
            content=chunks(100 * 1024 * 1024),
            headers={**alerts, "content-type": "application/json"},
            timeout=60,
        )
        status = webhook.status_code
    except httpx.HTTPError:
        status = 413  # closed while the client still wrote
    assert status == 413


def test_every_good_call_sent_around_the_attacks_is_stored(server: Server) -> None:
    """Last: the server stops cleanly, and every good call it answered 200 is stored
    (``up``: rows in its store) or spooled (``sidecar``: spans in its spool)."""
    assert server.good_calls > 0
    if server.kind == "sidecar":
        health = httpx.get(f"{server.url}/healthz").json()
        assert health["spool_records"] > 0
        metrics = httpx.get(f"{server.url}/metrics").text
        received = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("watchkeeper_sidecar_spans_received_total")
        )
        assert received >= server.good_calls
        return
    stop_server(server)
    from watchkeeper.collector.settings import Settings
    from watchkeeper.collector.store.store import open_store

    store = open_store(Settings(data_dir=server.data_dir))
    try:
        stored = store.count_calls()
    finally:
        store.close()
    assert stored == server.good_calls


def test_the_server_logged_no_traceback(server: Server) -> None:
    """No attack made the server log a traceback (a 500 would)."""
    log = (server.data_dir.parent / f"{server.kind}.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
