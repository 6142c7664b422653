"""Accepting a new regime as the baseline: the detectors of its keys start afresh.

A detector's reference is what it learned from a key's calls so far; after a change that
a person accepts (a new model that answers shorter, on purpose), that reference is the old
regime and the detector would stay away from it for good. Accepting replaces the
detector-key's instance with a fresh one (:meth:`Detector.clone`, through
:meth:`KeyedDetectors.put`), which learns the new regime as its reference from the next
call on, as a new key would.

The pipeline feeds its detectors under its own lock, one batch at a time, so a reset
requested from an HTTP request is queued here and applied by a call stage before the next
batch is scored (:meth:`BaselineResets.__call__`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from watchkeeper.collector.pipeline import PreparedBatch
from watchkeeper.collector.processors.detect import DetectorStage


class BaselineResets:
    """Detector-keys to start afresh, applied between batches."""

    def __init__(self, detectors: Callable[[], DetectorStage]) -> None:
        self._detectors = detectors
        self._pending: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        #: Detector-keys reset so far.
        self.applied = 0

    def request(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Queue ``(detector name, key)`` pairs for a fresh start."""
        with self._lock:
            self._pending.extend(pairs)

    def __call__(self, prepared: PreparedBatch) -> None:
        """A call stage: apply what is queued before the batch is scored."""
        self.apply()

    def apply(self) -> int:
        """Reset the queued detector-keys now (call under the pipeline's lock, or when no
        batch is in flight); returns how many were held and reset."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return 0
        wanted: dict[str, set[str]] = {}
        for detector, key in pending:
            wanted.setdefault(detector, set()).add(key)
        done = 0
        for keyed in self._detectors().keyed:
            keys = wanted.get(keyed.prototype.name, set())
            for key in keys.intersection(keyed.keys()):
                keyed.put(key, keyed.prototype.clone())
                done += 1
        self.applied += done
        return done


def still_away(stage: DetectorStage, detector: str, key: str) -> bool:
    """Whether ``detector`` on ``key`` has not come back to the reference its last alarm
    was measured against (:attr:`Detector.away`); False for a key it no longer holds."""
    for keyed in stage.keyed:
        if keyed.prototype.name == detector:
            held = dict(keyed.items()).get(key)
            return held is not None and bool(held.away)
    return False
