"""Accepting a new regime as the baseline: the detectors of its keys start afresh.

A detector's reference is what it learned from a key's calls so far; after a change that
a person accepts (a new model that answers shorter, on purpose), that reference is the old
regime and the detector would stay away from it for good. Accepting replaces the
detector-key's instance with a fresh one (:meth:`Detector.clone`) and drops a rate
detector's paging test (:meth:`BudgetedDetectors.reset`): both learn the new regime as
their reference from the next call on, as for a new key.

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
        watched = self._detectors().watched
        done = sum(watched.reset(detector, key) for detector, key in dict.fromkeys(pending))
        self.applied += done
        return done


def still_away(stage: DetectorStage, detector: str, key: str) -> bool:
    """Whether ``detector`` on ``key`` has not come back to the reference its last alarm
    was measured against: a rate detector's paging test decides while it is away after
    its page, else the detector (:meth:`BudgetedDetectors.away_of`); False for a key it no
    longer holds."""
    return bool(stage.watched.away_of(detector, key))
