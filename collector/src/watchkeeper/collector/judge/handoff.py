"""The pipeline's one judge stage: after a batch is stored, its judgeable calls go to the
judge queues (never waiting; see ``worker.py``)."""

from __future__ import annotations

from watchkeeper.collector.judge.worker import JudgeWorkers
from watchkeeper.collector.pipeline import PreparedBatch


class HandToJudges:
    """A store stage: offers the batch's calls whose texts were kept to the judges.

    It runs after the batch's rows are written, so a judge's scores are written after the
    call's own scores row, never before it (the newest row of a span wins).
    """

    def __init__(self, workers: JudgeWorkers) -> None:
        self.workers = workers

    def __call__(self, prepared: PreparedBatch) -> None:
        kept = {body[0].span_id for body in prepared.batch.bodies}
        if not kept:
            return
        self.workers.offer(
            (call for call in prepared.calls if call.span_id in kept),
            prepared.routed,
            prepared.detection.flagged,
        )
