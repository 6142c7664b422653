"""Reading an OTLP request body within a receiver's in-flight budget.

A receiver bounds the bytes of request bodies it holds at once (read and not yet handed
on), so a burst cannot grow memory without bound: beyond the budget it answers 429, which
OTLP exporters retry. Bytes count as they are read, not as ``Content-Length`` declares
them, so uploads that stall after their headers hold nothing and cannot starve others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import ClientDisconnect, Request


class ThrottledError(Exception):
    """The receiver holds as many body bytes as its budget allows; retry later (429)."""


class ClientGoneError(Exception):
    """The client went away (or was cut off by a deadline) before its body was read."""


class InflightBudget:
    """Body bytes a receiver holds at once, across its requests.

    One request alone may exceed ``max_bytes`` (the per-request bound is elsewhere), so a
    large batch is never refused while the receiver is idle.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.held = 0  # requests run on one event loop: no lock needed

    @asynccontextmanager
    async def read(self, request: Request) -> AsyncIterator[bytes]:
        """The request's whole body, its bytes held in the budget until the block ends.

        Raises :class:`ThrottledError` when the budget runs out while reading and
        :class:`ClientGoneError` when the client disconnects.
        """
        taken = 0
        chunks: list[bytes] = []
        try:
            try:
                async for chunk in request.stream():
                    if self.held and self.held + len(chunk) > self.max_bytes:
                        raise ThrottledError("receiver busy, retry later")
                    self.held += len(chunk)
                    taken += len(chunk)
                    chunks.append(chunk)
            except ClientDisconnect:
                raise ClientGoneError("client disconnected before the body was read") from None
            body = b"".join(chunks)
            chunks.clear()
            yield body
        finally:
            self.held -= taken
