"""Run ``watchkeeper sidecar`` as a real subprocess for tests, and read its metrics."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

_URL = re.compile(r"OTLP/HTTP on (http://\S+)/v1/traces")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


class SidecarProcess:
    """``watchkeeper sidecar`` on a free loopback port, stopped (SIGTERM) on exit."""

    def __init__(
        self,
        spool_dir: Path,
        bootstrap: str,
        topic: str,
        *,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.spool_dir = spool_dir
        self.bootstrap = bootstrap
        self.topic = topic
        self.extra_args = extra_args or []
        self.env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.stderr_lines: list[str] = []

    def start(self, timeout_s: float = 30.0) -> SidecarProcess:
        """Start and wait for the line that names the URL."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHKEEPER_")}
        env.update(self.env)
        command = [
            sys.executable, "-m", "watchkeeper.ingest.cli", "--log-level", "INFO",
            "sidecar", "--port", "0", "--spool-dir", str(self.spool_dir),
            "--kafka-bootstrap", self.bootstrap, "--kafka-topic", self.topic,
            *self.extra_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert self.process.stderr is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout_s
        while not self.url:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError("sidecar did not start:\n" + "".join(self.stderr_lines))
            if selector.select(timeout=0.5):
                line = self.process.stderr.readline()
                self.stderr_lines.append(line)
                match = _URL.search(line)
                if match:
                    self.url = match.group(1)
        selector.close()
        # Keep draining stderr so a chatty sidecar never blocks on a full pipe.
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        return self

    def _drain_stderr(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def post(self, body: bytes, content_type: str = "application/x-protobuf") -> httpx.Response:
        """POST an OTLP body to ``/v1/traces``."""
        return httpx.post(
            f"{self.url}/v1/traces", content=body, headers={"content-type": content_type}
        )

    def metrics(self) -> dict[str, float]:
        """Current ``/metrics`` samples, keyed by name plus labels as exposed."""
        text = httpx.get(f"{self.url}/metrics").text
        out = {}
        for line in text.splitlines():
            match = _SAMPLE.match(line)
            if match:
                out[match.group(1) + (match.group(2) or "")] = float(match.group(3))
        return out

    def wait_for(self, name: str, value: float, timeout_s: float) -> bool:
        """Poll ``/metrics`` until sample ``name`` equals ``value``; False at the deadline."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.metrics().get(name) == value:
                return True
            time.sleep(0.2)
        return False

    def kill(self) -> None:
        """SIGKILL: no drain, no cleanup, as a crash or an OOM kill would end it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``); returns the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def __enter__(self) -> SidecarProcess:
        """Start it."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop it."""
        with contextlib.suppress(Exception):
            self.stop()


def llm_request(run: str, first: int, count: int, per_trace: int = 1) -> ExportTraceServiceRequest:
    """``count`` GenAI chat spans numbered from ``first``; ``per_trace`` spans share a trace.

    Ids derive from ``run`` and the number, so a test can name every span it expects.
    """
    spans = []
    for index in range(first, first + count):
        trace_id, span_id = span_ids(run, index, per_trace)
        spans.append(
            Span(
                trace_id=trace_id,
                span_id=span_id,
                name="chat sidecar-model",
                kind=Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=time.time_ns(),
                end_time_unix_nano=time.time_ns() + 1_000_000,
                attributes=[
                    _kv("gen_ai.operation.name", "chat"),
                    _kv("gen_ai.request.model", "sidecar-model"),
                    _kv("watchkeeper.route", "sidecar/test"),
                    _kv(
                        "gen_ai.input.messages",
                        '[{"role":"user","parts":[{"type":"text","content":"question '
                        + str(index)
                        + '"}]}]',
                    ),
                    _kv(
                        "gen_ai.output.messages",
                        '[{"role":"assistant","parts":[{"type":"text","content":"answer '
                        + str(index)
                        + '"}]}]',
                    ),
                ],
            )
        )
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=[_kv("service.name", "sidecar-test")]),
                scope_spans=[ScopeSpans(spans=spans)],
            )
        ]
    )


def span_ids(run: str, index: int, per_trace: int = 1) -> tuple[bytes, bytes]:
    """(trace id, span id) of span ``index`` of ``run``."""
    trace_id = hashlib.blake2b(f"{run}/{index // per_trace}".encode(), digest_size=16).digest()
    span_id = hashlib.blake2b(f"{run}/{index}".encode(), digest_size=8).digest()
    return trace_id, span_id


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))
