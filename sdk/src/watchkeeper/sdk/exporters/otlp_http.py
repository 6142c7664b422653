"""OTLP/HTTP protobuf export with the standard library's ``http.client``.

One keep-alive connection, the spans encoded by :mod:`watchkeeper.sdk.otlp`, retries
with exponential backoff on the responses the OTLP spec calls retryable (429, 502,
503, 504) and on connection errors, all within ``timeout_s`` per batch. Runs only on
the export thread; :meth:`OtlpHttpSink.abort` cuts a retry loop short at shutdown.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Final
from urllib.parse import urlsplit

from watchkeeper.sdk.otlp import Envelope, encode_request
from watchkeeper.sdk.span_data import SpanData

logger = logging.getLogger("watchkeeper.sdk")

_RETRYABLE: Final = frozenset({429, 502, 503, 504})
_FIRST_BACKOFF_S: Final = 0.5


class OtlpHttpSink:
    """POST ``ExportTraceServiceRequest``\\ s to an OTLP/HTTP traces endpoint."""

    def __init__(
        self,
        url: str,
        envelope: Envelope,
        *,
        timeout_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
        compression: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._path = parts.path or "/v1/traces"
        if parts.query:
            self._path += "?" + parts.query
        self._envelope = envelope
        self._timeout_s = timeout_s
        self._compression = compression
        self._headers = {
            "Content-Type": "application/x-protobuf",
            "User-Agent": "watchkeeper-sdk",
            **(headers or {}),
        }
        if compression == "gzip":
            self._headers["Content-Encoding"] = "gzip"
        self._connection: http.client.HTTPConnection | None = None
        self._aborted = threading.Event()

    def export(self, spans: Sequence[SpanData]) -> bool:
        """Send one request; retry what is retryable until ``timeout_s`` is spent."""
        body = encode_request(self._envelope, spans)
        if self._compression == "gzip":
            body = gzip.compress(body, compresslevel=5)
        deadline = time.monotonic() + self._timeout_s
        backoff = _FIRST_BACKOFF_S
        while True:
            remaining = deadline - time.monotonic()
            status, detail = self._post(body, max(remaining, 0.1))
            if status is not None and 200 <= status < 300:
                return True
            retryable = status is None or status in _RETRYABLE
            if not retryable or self._aborted.is_set():
                logger.debug("watchkeeper: OTLP export rejected: %s %s", status, detail)
                return False
            if time.monotonic() + backoff > deadline:
                return False
            if self._aborted.wait(backoff):
                return False
            backoff *= 2

    def _post(self, body: bytes, timeout_s: float) -> tuple[int | None, str]:
        try:
            connection = self._connection
            if connection is None:
                factory = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                connection = self._connection = factory(self._host, self._port, timeout=timeout_s)
            else:
                connection.timeout = timeout_s
                if connection.sock is not None:
                    connection.sock.settimeout(timeout_s)
            connection.request("POST", self._path, body=body, headers=self._headers)
            response = connection.getresponse()
            detail = response.read(512).decode("utf-8", "replace")
            response.read()
        except (OSError, http.client.HTTPException) as error:
            self._close()
            return None, f"{type(error).__qualname__}: {error}"
        if response.will_close:
            self._close()
        return response.status, detail

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                logger.debug("watchkeeper: closing the OTLP connection failed", exc_info=True)

    def shutdown(self) -> None:
        """Close the connection."""
        self._close()

    def abort(self) -> None:
        """Stop retrying; the export in progress returns at its next step."""
        self._aborted.set()
        connection = self._connection
        if connection is not None and connection.sock is not None:
            try:
                connection.sock.close()  # wakes a thread blocked in recv
            except OSError:
                logger.debug("watchkeeper: aborting the OTLP connection failed", exc_info=True)

    def after_fork(self) -> None:
        """The parent's socket is not ours."""
        self._connection = None
        self._aborted = threading.Event()
