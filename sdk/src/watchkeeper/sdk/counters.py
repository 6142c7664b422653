"""The SDK's own counters: what it recorded, exported, dropped and got wrong.

Every part of the SDK bumps these; :func:`watchkeeper.sdk.stats` reports them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Final


class Counter:
    """A monotonically increasing count that is safe to bump from any thread.

    ``increment`` is on the per-call hot path, so it avoids a lock: ``next()`` on an
    ``itertools.count`` is a single C call and therefore atomic under the GIL, whereas
    ``self.n += 1`` is a read-modify-write that can lose updates between threads.
    ``add`` (rare: once per exported batch) takes a lock instead.
    """

    __slots__ = ("_extra", "_lock", "_ticks", "increment")

    def __init__(self) -> None:
        self._ticks = itertools.count()
        # The C-level bound method itself, so the hot path pays no Python call for it.
        self.increment: Callable[[], object] = self._ticks.__next__
        self._extra = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Start again from zero (in place: the hot path holds ``increment``)."""
        self._lock = threading.Lock()  # first: after fork the old one may be held forever
        self._extra = -self._raw()

    def _raw(self) -> int:
        # itertools.count exposes its position only through repr: "count(42)".
        return int(repr(self._ticks)[6:-1])

    def add(self, amount: int) -> None:
        """Add ``amount`` (used for whole batches)."""
        with self._lock:
            self._extra += amount

    @property
    def value(self) -> int:
        """The current count."""
        return self._raw() + self._extra


class SdkCounters:
    """Every counter ``stats()`` reports, one attribute each."""

    __slots__ = (
        "export_failures",
        "internal_errors",
        "spans_dropped",
        "spans_ended",
        "spans_export_failed",
        "spans_exported",
        "spans_sampled_out",
        "spans_started",
    )

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start every counter from zero."""
        if hasattr(self, "spans_started"):  # keep the objects: callers hold bound methods
            for name in self.__slots__:
                getattr(self, name).reset()
            return
        self.spans_started = Counter()
        self.spans_ended = Counter()
        self.spans_exported = Counter()
        # Not kept by head sampling (configure(sample_rate=...)); never an error.
        self.spans_sampled_out = Counter()
        # Lost before export: queue full, or ended after shutdown began.
        self.spans_dropped = Counter()
        # Spans in a batch the exporter failed to deliver, and the failed batches.
        self.spans_export_failed = Counter()
        self.export_failures = Counter()
        self.internal_errors = Counter()


COUNTERS: Final = SdkCounters()
