"""The judges' writer: outcomes written in batches, with nothing lost at a stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from tests.judge.harness import answers, judge_settings, judged_pipeline
from tests.judge.standin import StandIn
from watchkeeper.collector.judge.task import JudgeTask
from watchkeeper.collector.judge.writer import BATCH, Finished, VerdictWriter
from watchkeeper.collector.store.judges import JudgeStore
from watchkeeper.collector.store.store import Store


class CountedStore(JudgeStore):
    """The real judge store, counting the rows of each write statement."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.score_writes: list[int] = []
        self.verdict_writes: list[int] = []

    def add_scores_many(
        self, items: Sequence[tuple[Mapping[str, Any], Mapping[str, float]]]
    ) -> None:
        self.score_writes.append(len(items))
        super().add_scores_many(items)

    def write_verdicts(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.verdict_writes.append(len(rows))
        super().write_verdicts(rows)

    def write_score_rows(self, rows: Sequence[Mapping[str, Any]]) -> None:
        # Scores rows handed to the pipeline's next batch that none took (carry.py).
        if rows:
            self.score_writes.append(len(rows))
        super().write_score_rows(rows)


def test_many_judged_calls_are_written_in_few_statements(store: Store, standin: StandIn) -> None:
    """Thirty calls judged on one dimension: every verdict and score is stored, the
    detectors' scores of each call kept beside its judge score, written in batches of
    many calls (not a read and two inserts per call)."""
    settings = judge_settings(standin, judge_dimensions="helpfulness")
    pipeline, workers = judged_pipeline(store, settings)
    counted = CountedStore(store)
    workers.store = counted
    workers.start()
    try:
        pipeline.process([answers(*[f"answer {i}" for i in range(30)])])
        assert workers.wait_done(30, 60)
    finally:
        workers.close()
    assert sum(counted.verdict_writes) == 30
    assert sum(counted.score_writes) == 30
    assert max(counted.score_writes) > 1
    assert len(counted.verdict_writes) < 30
    rows = store.select("SELECT Scores FROM {db}.call_scores FINAL")
    assert len(rows) == 30
    for row in rows:
        assert "judge.default.helpfulness" in row["Scores"]
        assert any(not key.startswith("judge.") for key in row["Scores"])


def test_a_stop_writes_every_queued_outcome_in_batches() -> None:
    """Outcomes queued when the writer stops are all written, none more than a batch
    at a time."""
    written: list[int] = []
    writer = VerdictWriter(lambda batch: written.append(len(batch)), size=3 * BATCH)
    writer.start()
    task = cast(JudgeTask, None)
    for _ in range(2 * BATCH + 50):
        writer.put(Finished("default", task, {}))
    writer.stop(30)
    assert sum(written) == 2 * BATCH + 50
    assert max(written) <= BATCH


def test_an_unstarted_writer_writes_what_is_queued_at_stop() -> None:
    """Without its thread (a stop before any start), the queue is written by the stop."""
    written: list[int] = []
    writer = VerdictWriter(lambda batch: written.append(len(batch)))
    for _ in range(5):
        writer.put(Finished("default", cast(JudgeTask, None), {}))
    writer.stop(1)
    assert written == [5]


def test_a_writer_writes_at_once_when_the_judges_are_idle() -> None:
    """With nothing queued or being judged, what the writer gathered is written without
    waiting for the interval (here ten minutes)."""
    written: list[int] = []
    done = threading.Event()

    def flush(batch: Sequence[Finished]) -> None:
        written.append(len(batch))
        done.set()

    writer = VerdictWriter(flush, interval_s=600, judging=lambda gathered: False)
    writer.start()
    writer.put(Finished("default", cast(JudgeTask, None), {}))
    try:
        assert done.wait(30)
    finally:
        writer.stop(30)
    assert written == [1]


def test_a_writer_gathers_a_full_batch_while_the_judges_are_busy() -> None:
    """While calls are still being judged, the writer waits for :data:`BATCH` outcomes
    (or the interval) and writes them in one flush."""
    written: list[int] = []
    done = threading.Event()

    def flush(batch: Sequence[Finished]) -> None:
        written.append(len(batch))
        done.set()

    writer = VerdictWriter(flush, interval_s=600, judging=lambda gathered: True)
    writer.start()
    for _ in range(BATCH):
        writer.put(Finished("default", cast(JudgeTask, None), {}))
    try:
        assert done.wait(30)
    finally:
        writer.stop(30)
    assert written == [BATCH]


def test_after_a_write_the_next_waits_for_the_interval() -> None:
    """An outcome finished right after a write waits for the interval (here ten minutes)
    even when the judges are idle, so a busy judge writes a few times a minute; the stop
    writes it."""
    written: list[int] = []
    done = threading.Event()

    def flush(batch: Sequence[Finished]) -> None:
        written.append(len(batch))
        done.set()

    writer = VerdictWriter(flush, interval_s=600, judging=lambda gathered: False)
    writer.start()
    writer.put(Finished("default", cast(JudgeTask, None), {}))
    assert done.wait(30)
    writer.put(Finished("default", cast(JudgeTask, None), {}))
    time.sleep(0.5)  # the writer's loop polls its queue every 0.1 s
    assert written == [1]
    writer.stop(30)
    assert written == [1, 1]
