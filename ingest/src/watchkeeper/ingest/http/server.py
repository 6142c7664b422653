"""Run an ASGI app with uvicorn on a background thread, on a socket bound up front."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp

from watchkeeper.ingest.http.protocol import ConnectionLimits, Dropped, guarded_protocol


class ServerError(RuntimeError):
    """The HTTP server could not start; the message says why and what to change."""


class HttpServer:
    """Runs the app with uvicorn on a background thread, on a socket bound up front.

    Binding before uvicorn starts turns "address in use" into an error at start with a
    useful message, and lets port 0 pick a free port that ``port`` then reports. Every
    connection is held to ``limits`` (deadlines for headers and bodies, a connection cap).
    """

    def __init__(
        self, app: ASGIApp, host: str, port: int, limits: ConnectionLimits | None = None
    ) -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            family = infos[0][0]
            self._socket = socket.socket(family, socket.SOCK_STREAM)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
        except OSError as exc:
            raise ServerError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                "choose another with --port or WATCHKEEPER_HTTP_PORT"
            ) from None
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        #: Connections closed by a deadline or the connection cap.
        self.dropped = Dropped()
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http=guarded_protocol(limits or ConnectionLimits(), self.dropped),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="watchkeeper-http", daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:4318``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start serving; returns once the server accepts requests."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ServerError(f"HTTP server on {self.url} did not start")
            time.sleep(0.01)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and wait for in-flight requests (bounded)."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._socket.close()

    def _run(self) -> None:
        self._socket.listen(128)
        self._server.run(sockets=[self._socket])
