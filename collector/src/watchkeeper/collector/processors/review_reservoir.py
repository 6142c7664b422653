"""A per-window reservoir feeding the ``random`` review queue.

Reviewers need a steady, unbiased trickle of ordinary calls, not a share of traffic that
swamps them at peak and starves them at night: so each (route, window) contributes at most
``size`` calls, chosen uniformly, and a window contributes at most ``max_per_window`` calls
over all routes (else many routes, or junk route names, would flood the queue). The choice
is bottom-k by trace-id hash, which is a uniform sample and deterministic — a replay picks
the same calls.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterable

from watchkeeper.collector.processors.sample_bodies import id_fraction
from watchkeeper.collector.record import CallRecord


class ReviewReservoir:
    """Keeps the ``size`` calls with the smallest trace-id hash per (route, window).

    Windows are by event time (the call's start). A window is released when calls at least
    ``grace_s`` past its end have been seen, or on :meth:`drain`. A call arriving for an
    already released window is not sampled (its window's sample is final). At most
    ``max_open`` windows are held; beyond that the oldest is released early, so memory is
    bounded by ``max_open * size`` calls. Of the routes' samples of one window, at most
    ``max_per_window`` are handed out in all (those with the smallest hashes).

    >>> reservoir = ReviewReservoir(size=2, window_s=60)
    >>> for i, head in enumerate("73915"):  # trace ids 7000..., 3000..., ...
    ...     trace_id = head + "0" * 31
    ...     reservoir.offer(CallRecord(trace_id, f"{i:016x}", i * 10**9, 0, route="r"))
    >>> sorted(c.trace_id[0] for c in reservoir.drain())
    ['1', '3']
    """

    def __init__(
        self,
        size: int = 10,
        window_s: float = 300.0,
        grace_s: float = 30.0,
        max_open: int = 1000,
        max_per_window: int = 100,
    ) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.size = size
        self.window_ns = int(window_s * 1e9)
        self.grace_ns = int(grace_s * 1e9)
        self.max_open = max_open
        self.max_per_window = max_per_window
        # window index -> calls handed out and stored; bounded like the released windows
        self._taken: OrderedDict[int, int] = OrderedDict()
        # windows handed out by due(), not yet released -> how many calls each gave
        self._chosen: dict[tuple[str, int], int] = {}
        # (route, window index) -> max-heap (negated fraction) of the `size` smallest
        self._open: OrderedDict[tuple[str, int], list[tuple[float, str, int, CallRecord]]] = (
            OrderedDict()
        )
        # route -> highest released window index; bounded like the open windows
        self._released: OrderedDict[str, int] = OrderedDict()
        self._watermark_ns = 0
        self._seq = 0
        # Windows handed out by due() whose samples are being written: not handed out again.
        self._pending: set[tuple[str, int]] = set()

    def offer(self, call: CallRecord) -> None:
        """Consider ``call`` for its window's sample."""
        self.offer_many((call,))

    def offer_many(self, calls: Iterable[CallRecord]) -> None:
        """:meth:`offer` each of ``calls``, in order (a batch's calls at once: most of
        them end at the first comparison with their window's sample)."""
        size = self.size
        if size == 0:
            return
        window_ns, released, opened = self.window_ns, self._released, self._open
        pending, watermark = self._pending, self._watermark_ns
        try:
            for call in calls:
                timestamp = call.timestamp_ns
                window = timestamp // window_ns
                if window <= released.get(call.route, -1):
                    continue
                watermark = max(watermark, timestamp)
                key = (call.route, window)
                heap = opened.get(key)
                if heap is None:
                    heap = opened[key] = []
                if key in pending:
                    continue  # the window's sample is being written: it is final
                rank = (-id_fraction(call.trace_id), call.span_id)
                full = len(heap) >= size
                if full and rank <= heap[0][:2]:
                    continue  # not among the smallest: most calls of a busy route end here
                if any(held[1] == call.span_id for held in heap):
                    continue  # the same call again (a replay): it holds one slot at most
                self._seq += 1
                # The sequence number breaks ties so records themselves are never compared.
                entry = (*rank, self._seq, call)
                if full:
                    heapq.heapreplace(heap, entry)
                else:
                    heapq.heappush(heap, entry)
        finally:
            self._watermark_ns = watermark

    def due(self) -> tuple[list[tuple[str, int]], list[CallRecord]]:
        """Windows that closed (or overflow the bound) and their samples, oldest first.

        The windows are marked pending, not released: call :meth:`release` once their
        samples are stored, or :meth:`unmark` if storing failed so they come due again.
        """
        horizon = self._watermark_ns - self.grace_ns
        keys: list[tuple[str, int]] = []
        overflow = len(self._open) - len(self._pending) - self.max_open
        for key in self._open:
            if key in self._pending:
                continue
            if (key[1] + 1) * self.window_ns <= horizon or overflow > 0:
                keys.append(key)
                overflow -= 1
        self._pending.update(keys)
        return keys, self._capped(keys)

    def unmark(self, keys: list[tuple[str, int]]) -> None:
        """Storing these windows' samples failed: make them due again."""
        self._pending.difference_update(keys)
        for key in keys:
            self._chosen.pop(key, None)

    def release(self, keys: list[tuple[str, int]]) -> None:
        """Forget released windows; later calls for them are not sampled."""
        for key in keys:
            self._pending.discard(key)
            self._count_taken(key)
            if self._open.pop(key, None) is None:
                continue
            route, window = key
            self._released[route] = max(self._released.get(route, -1), window)
            self._released.move_to_end(route)
            if len(self._released) > 10 * self.max_open:
                self._released.popitem(last=False)

    def drain(self) -> list[CallRecord]:
        """Release every open window now (tests, end of a replay); returns the samples."""
        keys = self.open_keys()
        calls = self._capped(keys)
        self.release(keys)
        return calls

    def open_keys(self) -> list[tuple[str, int]]:
        """Every open window not already being written."""
        return [key for key in self._open if key not in self._pending]

    def samples(self, keys: list[tuple[str, int]]) -> list[CallRecord]:
        """The current samples of ``keys``."""
        return [call for key in keys for call in self._sample(key)]

    @property
    def held(self) -> int:
        """Calls currently held in open windows."""
        return sum(len(heap) for heap in self._open.values())

    def _capped(self, keys: list[tuple[str, int]]) -> list[CallRecord]:
        """The samples of ``keys`` in key order, each window's within what its cap has left."""
        by_window: dict[int, list[tuple[str, int]]] = {}
        for key in keys:
            by_window.setdefault(key[1], []).append(key)
        kept: set[int] = set()  # sequence numbers of the entries handed out
        for window, window_keys in by_window.items():
            left = max(self.max_per_window - self._taken.get(window, 0), 0)
            entries = [entry for key in window_keys for entry in self._open.get(key, [])]
            entries.sort(key=lambda entry: (-entry[0], entry[1]))
            kept.update(entry[2] for entry in entries[:left])
        calls: list[CallRecord] = []
        for key in keys:
            chosen = [entry for entry in self._sorted(key) if entry[2] in kept]
            self._chosen[key] = len(chosen)
            calls.extend(entry[3] for entry in chosen)
        return calls

    def _count_taken(self, key: tuple[str, int]) -> None:
        chosen = self._chosen.pop(key, 0)
        if chosen:
            self._taken[key[1]] = self._taken.get(key[1], 0) + chosen
            self._taken.move_to_end(key[1])
            if len(self._taken) > self.max_open:
                self._taken.popitem(last=False)

    def _sample(self, key: tuple[str, int]) -> list[CallRecord]:
        return [entry[3] for entry in self._sorted(key)]

    def _sorted(self, key: tuple[str, int]) -> list[tuple[float, str, int, CallRecord]]:
        return sorted(self._open.get(key, []), key=lambda e: (-e[0], e[1]))
