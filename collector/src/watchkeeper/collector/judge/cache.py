"""One judge's verdicts in memory: the cache by content hash, and the calls it judged.

A judged call's reuse check used to be two store reads (its content hash in
``judge_verdicts``, which is not sorted by it, and its span id): about 4.7 ms of chDB
work per judged call, beside ingestion, on the store ingestion writes to. Here both are
dictionary lookups. The cache is filled once from the store when the judges start (the
judge's newest verdicts of the current prompt version) and by every verdict the judge
gives after; it holds at most ``capacity`` calls and as many contents, the least recently
used going first (about 1 KB per call with four dimensions and their reasons).

What it cannot know: verdicts another collector process gives after this one started, and
verdicts older than what it holds. A call in either case is judged again (one request
per dimension) where a store read would have found it; ``watchkeeper replay`` reads the
store for its calls first (:meth:`VerdictCache.load`), so a replayed file is never judged
twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, Final

#: Calls (and contents) a judge keeps in memory by default.
CAPACITY: Final = 10_000

#: A dimension's verdict: (score, reason).
Verdicts = dict[str, tuple[int, str]]


class VerdictCache:
    """A judge's verdicts by content hash and the span ids it judged, bounded (LRU).

    >>> cache = VerdictCache(capacity=1)
    >>> cache.remember("span-1", "hash-1", {"tone": (4, "polite")})
    >>> cache.judged("span-1"), cache.verdicts("hash-1")
    (True, {'tone': (4, 'polite')})
    >>> cache.remember("span-2", "hash-2", {"tone": (2, "curt")})
    >>> cache.judged("span-1"), cache.verdicts("hash-1"), len(cache)
    (False, {}, 1)
    """

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._verdicts: OrderedDict[str, Verdicts] = OrderedDict()
        self._spans: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._spans)

    def verdicts(self, content: str) -> Verdicts:
        """The verdicts on these texts by dimension (empty when none is held)."""
        with self._lock:
            held = self._verdicts.get(content)
            if held is None:
                return {}
            self._verdicts.move_to_end(content)
            return dict(held)

    def held(self, content: str) -> Verdicts | None:
        """The verdicts held on these texts, not copied (the caller only reads them), or
        None: the hand-over's one probe per picked call (``reuse.py``)."""
        with self._lock:
            held = self._verdicts.get(content)
            if held is not None:
                self._verdicts.move_to_end(content)
            return held

    def judged(self, span_id: str) -> bool:
        """Whether the judge gave a verdict on this call."""
        with self._lock:
            return span_id in self._spans

    def remember(self, span_id: str, content: str, verdicts: Mapping[str, tuple[int, str]]) -> None:
        """Hold the verdicts given on a call (merged with those held for its texts)."""
        if not verdicts:
            return
        with self._lock:
            self._verdicts.setdefault(content, {}).update(verdicts)
            self._verdicts.move_to_end(content)
            self._spans[span_id] = content
            self._spans.move_to_end(span_id)
            while len(self._verdicts) > self.capacity:
                self._verdicts.popitem(last=False)
            while len(self._spans) > self.capacity:
                self._spans.popitem(last=False)

    def load(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Hold stored verdict rows (SpanId, ContentHash, Dimension, Score, Reason), oldest
        first; returns how many rows were read."""
        count = 0
        for row in rows:
            dimension = str(row["Dimension"])
            verdict = (int(row["Score"]), str(row["Reason"]))
            self.remember(str(row["SpanId"]), str(row["ContentHash"]), {dimension: verdict})
            count += 1
        return count
