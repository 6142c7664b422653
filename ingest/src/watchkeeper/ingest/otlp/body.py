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

from watchkeeper.ingest.byte_budget import ByteBudget


class ThrottledError(Exception):
    """The receiver holds as many body bytes as its budget allows; retry later (429)."""


class ClientGoneError(Exception):
    """The client went away (or was cut off by a deadline) before its body was read."""


class InflightBudget(ByteBudget):
    """A :class:`ByteBudget` that reads request bodies into it as they arrive."""

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
                    if not self.take(len(chunk)):
                        raise ThrottledError("receiver busy, retry later")
                    taken += len(chunk)
                    chunks.append(chunk)
            except ClientDisconnect:
                raise ClientGoneError("client disconnected before the body was read") from None
            body = b"".join(chunks)
            chunks.clear()
            yield body
        finally:
            self.give_back(taken)
