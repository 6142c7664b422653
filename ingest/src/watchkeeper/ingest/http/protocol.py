"""Connection bounds for uvicorn: a deadline for headers and for bodies, a connection cap.

uvicorn times out idle keep-alive connections but not a request whose headers or body
trickle in (or never come), so a handful of stalled uploads could hold connections, and
whatever they reserve, for ever. Here each request must arrive within a deadline: its
headers within ``header_timeout_s`` of the connection opening (or of the previous
response), its body within ``body_timeout_s`` of its headers; a connection that misses
one is closed. Connections beyond ``max_connections`` are closed as they open.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class ConnectionLimits:
    """Deadlines and the connection cap of one server."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_connections: int = 1000


class Dropped:
    """Counts of connections closed by a bound (read by the server's metrics)."""

    def __init__(self) -> None:
        self.timed_out = 0
        self.over_capacity = 0


def guarded_protocol(limits: ConnectionLimits, dropped: Dropped) -> type[H11Protocol]:
    """uvicorn's h11 protocol with ``limits`` enforced, counting drops in ``dropped``."""

    class GuardedH11Protocol(H11Protocol):
        deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                dropped.over_capacity += 1
                transport.abort()
                return
            self.arm(limits.header_timeout_s)

        def data_received(self, data: bytes) -> None:
            waiting_for_headers = self.conn.their_state is h11.IDLE
            super().data_received(data)
            if waiting_for_headers and self.conn.their_state is h11.SEND_BODY:
                self.arm(limits.body_timeout_s)
            elif self.conn.their_state is not h11.IDLE and self.conn.their_state is not (
                h11.SEND_BODY
            ):
                self.disarm()  # the whole request is in: the app's time is not bounded here

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.conn.their_state is h11.IDLE:
                self.arm(limits.header_timeout_s)

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm()
            super().connection_lost(exc)

        def arm(self, seconds: float) -> None:
            self.disarm()
            self.deadline = self.loop.call_later(seconds, self.expire)

        def disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def expire(self) -> None:
            self.deadline = None
            if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not (
                self.transport.is_closing()
            ):
                dropped.timed_out += 1
                self.transport.abort()

    return GuardedH11Protocol
