"""The judges' one writer: finished verdicts go to the store in batches.

Each verdict written one call at a time cost a read and an insert of the call's
``call_scores`` row and an insert into ``judge_verdicts`` (about 87 ms of chDB work per
judged call, most of the judging's process CPU). The worker threads instead put what
they finished on a bounded queue; one thread writes it with one insert per table, when
:data:`BATCH` calls are waiting, and otherwise at most once every :data:`INTERVAL_S`
seconds, once the first waiting call has waited that long. Each insert has a fixed cost
in chDB (tens of milliseconds) and leaves a small part that chDB later merges into the
day's part of its table, rewriting it: so a busy judge writes a few times a minute, not
once per pipeline batch, and a burst of traffic after a pause is written in one flush
10 s after its first outcome, not in a small one at once and the rest 10 s later (which
cost the collector benchmark a merge of ``call_scores`` per burst). Only the first outcomes
after a start are written as soon as the judges are idle. A full queue
makes the workers wait (never the pipeline: it only offers calls). On stop, what is
queued is written before the thread ends; after a crash, what was not written has no
verdict in the store and is judged again at the next start.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from watchkeeper.collector.judge.task import JudgeTask

log = logging.getLogger("watchkeeper.judge")

#: Calls per flush: about what a judge at the default sample rate finishes in 10 s of a
#: busy collector's traffic (reads of scores rows, where one is needed, stay point lookups).
BATCH: Final = 2000
#: Longest a finished verdict waits to be written: judge scores show within seconds.
INTERVAL_S: Final = 10.0


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
    #: Whether its scores went to the pipeline's next batch (carry.py).
    carried: bool = False


class VerdictWriter:
    """The queue of finished verdicts and the thread that writes them (see the module)."""

    def __init__(
        self,
        flush: Callable[[Sequence[Finished]], None],
        size: int = 4 * BATCH,
        interval_s: float = INTERVAL_S,
        judging: Callable[[int], bool] | None = None,
        arrived: Callable[[Finished], None] | None = None,
    ):
        self.flush = flush
        self.interval_s = interval_s
        #: Whether calls besides the ``n`` gathered are queued or being judged; when none
        #: are, the first outcomes after a start are written at once.
        self.judging = judging
        #: Called with each outcome as it arrives, before it is written (``carry.py``).
        self.arrived = arrived
        #: None wakes the thread to stop.
        self.queue: queue.Queue[Finished | None] = queue.Queue(size)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: When the last batch was taken to be written (none yet: long ago).
        self._written_at = -math.inf

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
            with contextlib.suppress(queue.Full):  # a full queue's thread is not waiting
                self.queue.put_nowait(None)
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
        """Up to :data:`BATCH` outcomes (what is queued, without waiting, once stopping)."""
        batch: list[Finished] = []
        first = 0.0
        while len(batch) < BATCH:
            stopping = self._stopping.is_set()
            try:
                got = (
                    self.queue.get_nowait()
                    if stopping
                    else self.queue.get(timeout=self._wait(batch, first))
                )
            except queue.Empty:
                if stopping:
                    break
                got = None
            if got is not None:
                self._arrive(got)
                batch.append(got)
                first = first or time.monotonic()
            if batch and self._due(len(batch), first):
                break
        if batch:
            self._written_at = time.monotonic()
        return batch

    def _arrive(self, finished: Finished) -> None:
        if self.arrived is None:
            return
        try:
            self.arrived(finished)
        except Exception:  # its rows are then written with the verdicts
            log.exception("judges: could not hand call %s to the pipeline", finished.task.span_id)

    def _wait(self, batch: list[Finished], first: float) -> float | None:
        """How long to wait for the next outcome: with none gathered, until one comes (the
        thread costs nothing while the judges are idle; :meth:`stop` wakes it); else until
        the gathered are due, looking often whether the judges went idle before the first
        write."""
        if not batch:
            return None
        left = max(self._written_at, first) + self.interval_s - time.monotonic()
        if self._written_at == -math.inf and self.judging is not None:
            left = min(left, 0.1)
        return max(left, 0.0)

    def _due(self, gathered: int, first: float) -> bool:
        """Whether to write what is gathered now: once the first gathered has waited
        ``interval_s`` (and as long since the last write); the first write after a start
        as soon as the judges are idle."""
        now = time.monotonic()
        first_write = self._written_at == -math.inf
        if first_write and self.judging is not None and not self.judging(gathered):
            return True
        return now >= max(self._written_at, first) + self.interval_s

    def _write(self, batch: list[Finished]) -> None:
        if not batch:
            return
        try:
            self.flush(batch)
        except Exception:
            log.exception("judges: could not write %d verdicts", len(batch))
