"""A judge's ``call_scores`` rows, carried in the pipeline's next insert.

Written on their own, a flush of verdicts added a part to ``call_scores`` (and to the
rollups its views fill), parts chDB then merged into the day's: in the collector
benchmark, one more insert per 20,000 calls beside the pipeline's two (the default judge
added 7 µs of chDB's CPU per ingested call, this insert and its merges among it). Every
batch writes ``call_scores``, so the judge's rows ride free there; review items are not
carried, since most batches write no ``review_items`` (a carried one added an insert).
While traffic flows, the writer instead hands
a call's rows over as its outcome arrives (:meth:`CarriedRows.put`); the pipeline's next
batch takes them into its own inserts (:class:`CarryJudgeRows`, before its ``Write``) and
confirms them once stored (:meth:`CarriedRows.confirm`, after it). What no batch took by
the writer's next flush of verdicts (traffic paused) the writer writes itself, in the
flush's inserts (:meth:`CarriedRows.left`), so judge scores show as soon as before; so
does what is left at a stop. A batch the store refused leaves its rows to the next one.
A call counts as done once its verdicts and its rows are both stored.

The rows come last in the batch's inserts, so for a call in both (a redelivered batch) the
judge's row is the newest and wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from watchkeeper.collector.judge.task import JudgeTask
from watchkeeper.collector.pipeline import PreparedBatch
from watchkeeper.collector.store.judges import scores_table


@dataclass
class Carried:
    """One outcome's rows, and what to release once they are stored."""

    scores: list[dict[str, Any]]
    times_ns: list[int]
    #: The call, done once its rows and verdicts are stored.
    task: JudgeTask
    #: Whether the writer stored the outcome's verdicts already.
    verdicts_written: bool = False


class CarriedRows:
    """Rows waiting for the pipeline's next batch, in it, and stored awaiting verdicts."""

    def __init__(self, release: Callable[[Sequence[JudgeTask]], None]) -> None:
        self.release = release
        self._lock = threading.Lock()
        self._waiting: list[Carried] = []
        self._in_flight: list[Carried] = []
        #: Stored by a batch before their verdicts were written.
        self._stored: list[Carried] = []

    def put(self, carried: Carried) -> None:
        """Hand an outcome's rows to the pipeline's next batch (the writer's thread)."""
        with self._lock:
            self._waiting.append(carried)

    def take(self) -> list[Carried]:
        """Everything waiting, and whatever a refused batch held: for this batch."""
        with self._lock:
            self._in_flight += self._waiting
            self._waiting = []
            return list(self._in_flight)

    def confirm(self) -> None:
        """The batch that took the rows is stored."""
        with self._lock:
            stored, self._in_flight = self._in_flight, []
            done = [c.task for c in stored if c.verdicts_written]
            self._stored += [c for c in stored if not c.verdicts_written]
        if done:
            self.release(done)

    def left(self, everything: bool = False) -> list[Carried]:
        """What waits still for a batch (with ``everything``, what is in flight too): for
        the writer to write with its verdicts and release (traffic paused, or stopping)."""
        with self._lock:
            left, self._waiting = self._waiting, []
            if everything:
                left, self._in_flight = self._in_flight + left, []
            return left

    def written(self) -> None:
        """The writer wrote the verdicts of every outcome it handed over: release what
        batches stored, and what they store from now on."""
        with self._lock:
            for carried in (*self._waiting, *self._in_flight):
                carried.verdicts_written = True
            done = [c.task for c in self._stored]
            self._stored = []
        if done:
            self.release(done)

    def waiting(self) -> int:
        """Outcomes whose rows wait for a batch."""
        with self._lock:
            return len(self._waiting)

    def idle(self) -> bool:
        """Whether no rows are carried."""
        with self._lock:
            return not (self._waiting or self._in_flight or self._stored)


class CarryJudgeRows:
    """A store stage before ``Write``: the carried rows go into the batch's inserts."""

    def __init__(self, carried: CarriedRows) -> None:
        self.carried = carried

    def __call__(self, prepared: PreparedBatch) -> None:
        taken = self.carried.take()
        if not taken:
            return
        rows = [row for c in taken for row in c.scores]
        if rows:
            times = [t for c in taken for t in c.times_ns]
            prepared.batch.score_tables.append(scores_table(rows, times))
