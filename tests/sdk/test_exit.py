"""Spans still queued when the app exits are exported by the exit hook."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class OtlpReceiver(BaseHTTPRequestHandler):
    """Records the span names of every OTLP/HTTP request it accepts."""

    received: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                self.received.extend(span.name for span in scope_spans.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, list[str]]]:
    """A local OTLP/HTTP endpoint and the span names it received."""
    received: list[str] = []
    handler = type("Receiver", (OtlpReceiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def test_queued_spans_are_exported_at_exit(otlp_receiver: tuple[str, list[str]]) -> None:
    """An app that never calls flush() or shutdown() still delivers its spans: the SDK's
    exit hook flushes the queue (the batch delay is far longer than the app's life)."""
    endpoint, received = otlp_receiver
    code = textwrap.dedent(
        """
        from watchkeeper.sdk import configure, observe

        configure("otlp", schedule_delay_s=60)

        @observe(model="exit-model")
        def answer(question: str) -> str:
            return "bye"

        answer("last words?")
        """
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
    environment.pop("PYTEST_CURRENT_TEST", None)
    environment["WATCHKEEPER_OTLP_ENDPOINT"] = endpoint
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert received == ["chat exit-model"]
