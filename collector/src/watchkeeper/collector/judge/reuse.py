"""Verdicts the cache holds, given in the hand-over: a picked call whose texts a judge
already scored gets its scores in the batch's own ``call_scores`` row, before the batch is
written.

Through the judge threads, each such call cost a task, a queue hop, four
``judge_verdicts`` rows (marked cached) and a rewrite of its scores row, carried into the
pipeline's next insert; in the collector benchmark, whose texts repeat, that was most of
what the default judge cost the collector's own threads. Here it costs one dictionary
probe per picked call and a cell per score: the rows the pipeline writes anyway take the
scores, and the pipeline's score histogram sees them as it sees the detectors'.

Not answered here, but queued as before (:meth:`JudgeWorkers.queue_picked`): calls routed
to review and those the judge's ``review_share`` sends there (reviewers' labels are
compared with ``judge_verdicts`` rows, so such a call gets its own), every call when
review rules name judge scores (the routing is the writer's), calls with a dimension the
cache does not hold, and calls without a scores row in the batch. A call answered here
has no ``judge_verdicts`` row: its scores in ``call_scores`` are what marks it judged
(a restart's backlog looks for both, ``store/judges.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from watchkeeper.collector.judge.cache import Verdicts
from watchkeeper.collector.judge.prompt import dimensions_for
from watchkeeper.collector.judge.sampling import draw
from watchkeeper.collector.judge.worker import JudgeWorkers, Pick
from watchkeeper.collector.pipeline import PreparedBatch
from watchkeeper.collector.scores import BatchScores


class ReuseVerdicts:
    """A store stage before ``Write``: picks the batch's calls for the judges, answers
    those the caches can (see the module), and keeps the rest for :meth:`take`."""

    def __init__(self, workers: JudgeWorkers) -> None:
        self.workers = workers
        #: The scored dimensions by judge, with contexts and without.
        self.dimensions = {
            (name, contexts): [
                p.dimension
                for p in dimensions_for(workers.rubric, judge.config.dimensions, contexts)
            ]
            for name, judge in workers.judges.items()
            for contexts in (False, True)
        }
        self._left: tuple[PreparedBatch, list[Pick]] | None = None

    def __call__(self, prepared: PreparedBatch) -> None:
        self._left = None
        kept = {body[0].span_id for body in prepared.batch.bodies}
        if not kept:
            return
        picks = self.workers.pick(
            (call for call in prepared.calls if call.span_id in kept),
            prepared.routed,
            prepared.detection.flagged,
        )
        self._left = (prepared, self.answer(picks, prepared.batch.scores))

    def take(self, prepared: PreparedBatch) -> list[Pick]:
        """The picks of this batch the caches did not answer (the hand-over, after it was
        written)."""
        left, self._left = self._left, None
        return left[1] if left is not None and left[0] is prepared else []

    def answer(self, picks: Sequence[Pick], scores: BatchScores) -> list[Pick]:
        """Add the cached verdicts' scores to ``scores``; returns the picks not answered."""
        index: dict[str, int] | None = None
        added: dict[str, npt.NDArray[np.float64]] = {}
        answered: Counter[str] = Counter()
        left = []
        for pick in picks:
            verdicts = self.cached(pick)
            if verdicts is not None and index is None:
                index = {call.span_id: i for i, call in enumerate(scores.calls)}
            row = index.get(pick.call.span_id) if verdicts is not None and index else None
            if verdicts is None or row is None:
                left.append(pick)
                continue
            for dimension, score in verdicts.items():
                key = f"judge.{pick.judge}.{dimension}"
                if key not in added:
                    added[key] = np.full(len(scores.calls), np.nan)
                added[key][row] = score
            answered[pick.judge] += 1
        self._record(scores, added, answered)
        return left

    def cached(self, pick: Pick) -> Mapping[str, float] | None:
        """The scores of every dimension the call gets, when the cache holds them all and
        the call needs no verdict rows of its own; else None."""
        workers = self.workers
        if pick.reason == "review" or workers.router is not None:
            return None
        held: Verdicts | None = workers.caches[pick.judge].held(pick.content)
        if not held:
            return None
        out = {}
        for dimension in self.dimensions[(pick.judge, bool(pick.call.contexts))]:
            verdict = held.get(dimension)
            if verdict is None:
                return None
            out[dimension] = float(verdict[0])
        share = workers.judges[pick.judge].config.review_share
        sent = workers.review_queue is not None and share > 0
        if sent and draw(pick.judge, pick.call.span_id, "review") < share:
            return None  # the writer sends it to review
        return out

    def _record(
        self,
        scores: BatchScores,
        added: Mapping[str, npt.NDArray[np.float64]],
        answered: Counter[str],
    ) -> None:
        scores.columns.update(added)
        for name, count in answered.items():
            self.workers.judges[name].metrics.judged.labels(name, "cache").inc(count)
        if answered:
            self.workers.answered(answered.total())
