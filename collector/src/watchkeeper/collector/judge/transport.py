"""How a judge's JSON requests travel: one kept-alive ``http.client`` connection per worker
thread, or httpx behind a proxy.

A judge makes a request per dimension of each judged call, beside ingestion and in its
process, so the client's own CPU counts: against the tests' stand-in, httpx spent about
0.86 ms per request and ``http.client`` about 0.21 ms (docs/benchmarks.md, *LLM judges*).
httpx stays for endpoints reached through a proxy (``HTTPS_PROXY`` / ``HTTP_PROXY``, not
bypassed by ``NO_PROXY``), which it honours.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx


class TransportTimeoutError(Exception):
    """No reply within the timeout."""


class TransportError(Exception):
    """The endpoint could not be reached or the connection broke; the message names how."""


@dataclass(frozen=True)
class Response:
    """A reply: its status, headers (lower-case names) and body."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON (``json.JSONDecodeError`` when it is not)."""
        return json.loads(self.content)


class Transport(Protocol):
    """POSTs a JSON body to a path under the endpoint's base URL."""

    def post(self, path: str, body: Mapping[str, Any]) -> Response:
        """The reply; raises :class:`TransportTimeoutError` or :class:`TransportError`."""
        ...

    def close(self) -> None:
        """Close the connections."""
        ...


def open_transport(base_url: str, headers: Mapping[str, str], timeout_s: float) -> Transport:
    """The transport for ``base_url``: httpx when a proxy applies, else plain connections."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    if parts.scheme in proxies and not urllib.request.proxy_bypass(parts.hostname or ""):
        return HttpxTransport(base_url, headers, timeout_s)
    return ConnectionTransport(base_url, headers, timeout_s)


class ConnectionTransport:
    """One kept-alive connection per thread; a kept connection the server closed meanwhile
    is opened again once, as browsers and urllib3 do."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout_s: float) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.headers = {**headers, "content-type": "application/json"}
        self.timeout_s = timeout_s
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, body: Mapping[str, Any]) -> Response:
        """POST ``body`` as JSON (see the class)."""
        data = json.dumps(body).encode()
        for attempt in range(2):
            connection, reused = self._connection()
            try:
                connection.request("POST", self.prefix + path, data, self.headers)
                reply = connection.getresponse()
                content = reply.read()
            except TimeoutError:
                self._drop()
                raise TransportTimeoutError from None
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._drop()
                if reused and attempt == 0:
                    continue
                raise TransportError("connection closed") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise TransportError(type(exc).__name__) from None
            if reply.will_close:
                self._drop()
            headers = {name.lower(): value for name, value in reply.getheaders()}
            return Response(reply.status, headers, content)
        raise TransportError("connection closed")

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it was used before."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection, True
        if self.https:
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout_s, context=_tls_context()
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        self._local.connection = connection
        with self._lock:
            self._opened.append(connection)
        return connection, False

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()
            with self._lock, contextlib.suppress(ValueError):
                self._opened.remove(connection)


def _tls_context() -> ssl.SSLContext:
    """Certificates as httpx checks them: certifi's bundle (it ships with httpx)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


class HttpxTransport:
    """httpx, for an endpoint behind a proxy (it reads the proxy from the environment)."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout_s: float) -> None:
        self.client = httpx.Client(base_url=base_url, headers=dict(headers), timeout=timeout_s)

    def post(self, path: str, body: Mapping[str, Any]) -> Response:
        """POST ``body`` as JSON."""
        try:
            reply = self.client.post(path, json=body)
        except httpx.TimeoutException:
            raise TransportTimeoutError from None
        except httpx.HTTPError as exc:
            raise TransportError(type(exc).__name__) from None
        return Response(reply.status_code, dict(reply.headers), reply.content)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
