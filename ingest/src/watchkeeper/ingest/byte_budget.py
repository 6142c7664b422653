"""The bytes of request bodies a receiver holds at once, across its requests.

A receiver (OTLP/HTTP or OTLP/gRPC) bounds the bodies it holds (read and not yet handed
on), so a burst cannot grow memory without bound: beyond the budget it refuses with a
retryable answer (429, ``RESOURCE_EXHAUSTED``), which OTLP exporters retry.
"""

from __future__ import annotations

import threading


class ByteBudget:
    """Body bytes held at once, safe to share between threads and an event loop.

    One request alone may exceed ``max_bytes`` (the per-request bound is elsewhere), so a
    large batch is never refused while the receiver is idle.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.held = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Hold ``size`` bytes; False when that would pass the budget (nothing held)."""
        with self._lock:
            if self.held and self.held + size > self.max_bytes:
                return False
            self.held += size
            return True

    def give_back(self, size: int) -> None:
        """Release bytes held by :meth:`take`."""
        with self._lock:
            self.held -= size
