"""The pipeline's judge stage after a batch is stored: the calls the judges picked and
their caches did not answer go to the judge queues (never waiting; see ``worker.py``)."""

from __future__ import annotations

import math

from watchkeeper.collector.judge.reuse import ReuseVerdicts
from watchkeeper.collector.judge.worker import JudgeWorkers
from watchkeeper.collector.pipeline import PreparedBatch
from watchkeeper.collector.scores import BatchScores


class HandToJudges:
    """A store stage: queues the batch's calls the judges picked and the caches did not
    answer (``reuse.py``, before the batch was written).

    It runs after the batch's rows are written, so a judge's scores are written after the
    call's own scores row, never before it (the newest row of a span wins).
    """

    def __init__(self, workers: JudgeWorkers, reuse: ReuseVerdicts) -> None:
        self.workers = workers
        self.reuse = reuse

    def __call__(self, prepared: PreparedBatch) -> None:
        self.workers.confirm_carried()  # the judges' rows the batch took are stored
        picks = self.reuse.take(prepared)
        if picks:
            self.workers.queue_picked(picks, StoredScores(prepared.batch.scores))


class StoredScores:
    """A call's scores as the batch stored them in its ``call_scores`` row, by span id
    (the index is built on the first question: most batches have a call to judge)."""

    def __init__(self, scores: BatchScores) -> None:
        self.scores = scores
        self._index: dict[str, int] | None = None

    def __call__(self, span_id: str) -> dict[str, float]:
        if self._index is None:
            self._index = {call.span_id: i for i, call in enumerate(self.scores.calls)}
        i = self._index.get(span_id)
        if i is None:
            return {}
        out = {}
        for name, column in self.scores.columns.items():
            value = float(column[i])
            if not math.isnan(value):
                out[name] = value
        return out
