"""The judges' one writer: finished verdicts go to the store in batches.

Each verdict written one call at a time cost a read and an insert of the call's
``call_scores`` row and an insert into ``judge_verdicts`` (about 87 ms of chDB work per
judged call, most of the judging's process CPU). The worker threads instead put what
they finished on a bounded queue; one thread writes it every :data:`BATCH` calls or
:data:`INTERVAL_S` seconds with one read of the affected scores rows and one insert per
table. A full queue makes the workers wait (never the pipeline: it only offers calls).
On stop, what is queued is written before the thread ends.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from watchkeeper.collector.judge.task import JudgeTask

log = logging.getLogger("watchkeeper.judge")

#: Calls per flush: large enough that the per-statement cost of chDB is spread thin,
#: small enough that one read of their scores rows stays a handful of point lookups.
BATCH: Final = 200
#: Longest a finished verdict waits to be written when judging is slow.
INTERVAL_S: Final = 2.0


@dataclass
class Finished:
    """One call's outcome for one judge, to be written."""

    judge: str
    task: JudgeTask
    scores: dict[str, float]
    #: ``judge_verdicts`` rows; empty for a call judged before (scores put back only).
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: Whether a request was made (else every verdict came from the cache).
    requested: bool = False


class VerdictWriter:
    """The queue of finished verdicts and the thread that writes them (see the module)."""

    def __init__(self, flush: Callable[[Sequence[Finished]], None], size: int = 4 * BATCH):
        self.flush = flush
        self.queue: queue.Queue[Finished] = queue.Queue(size)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="judge-writer", daemon=True)
        self._thread.start()

    def put(self, finished: Finished) -> None:
        """Queue one outcome; waits while the queue is full."""
        self.queue.put(finished)

    def stop(self, timeout_s: float) -> None:
        """Write what is queued and end the thread (or write it here when not started)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        else:
            while not self.queue.empty():
                self._write(self._collect())

    def _run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            batch = self._collect()
            self._write(batch)
            if stopping and self.queue.empty():
                return

    def _collect(self) -> list[Finished]:
        """Up to :data:`BATCH` outcomes, gathered for at most :data:`INTERVAL_S` (what is
        queued, without waiting, once stopping)."""
        batch: list[Finished] = []
        deadline = time.monotonic() + INTERVAL_S
        while len(batch) < BATCH:
            left = deadline - time.monotonic()
            try:
                if self._stopping.is_set() or left <= 0:
                    batch.append(self.queue.get_nowait())
                else:
                    # Short waits, so that a stop is seen soon.
                    batch.append(self.queue.get(timeout=min(left, 0.2)))
            except queue.Empty:
                if self._stopping.is_set() or left <= 0:
                    break
        return batch

    def _write(self, batch: list[Finished]) -> None:
        if not batch:
            return
        try:
            self.flush(batch)
        except Exception:
            log.exception("judges: could not write %d verdicts", len(batch))
