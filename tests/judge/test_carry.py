"""The judges' scores ride in the pipeline's next batch: no insert (no part) of their own
while traffic flows, and nothing lost when it stops."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from tests.judge.harness import answers, judge_settings, judged_pipeline
from tests.judge.standin import StandIn
from watchkeeper.collector.judge.worker import JudgeWorkers
from watchkeeper.collector.store.backend import Backend, StoreError
from watchkeeper.collector.store.store import Store


class CountedInserts:
    """The store's real backend, counting its inserts by table."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.inserts: Counter[str] = Counter()
        #: Refuse the next call_scores insert.
        self.refuse = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def insert_rows(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.inserts[table.rsplit(".", maxsplit=1)[-1]] += 1
        self.backend.insert_rows(table, rows)

    def insert_arrow(self, table: str, data: Any) -> None:
        if self.refuse and table.endswith(".call_scores"):
            self.refuse = False
            raise StoreError("refused (test)")
        if data.num_rows:
            self.inserts[table.rsplit(".", maxsplit=1)[-1]] += 1
        self.backend.insert_arrow(table, data)


def _wait_carried(workers: JudgeWorkers, count: int) -> None:
    deadline = time.monotonic() + 30
    assert workers.carried is not None
    while workers.carried.waiting() < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers.carried.waiting() == count


def _judged(store: Store) -> dict[str, float]:
    rows = store.select(
        "SELECT SpanId, Scores FROM {db}.call_scores FINAL "
        "WHERE mapContains(Scores, 'judge.default.helpfulness')"
    )
    return {row["SpanId"]: row["Scores"]["judge.default.helpfulness"] for row in rows}


def test_judge_scores_ride_in_the_next_batch_and_a_stop_writes_the_rest(
    store: Store, standin: StandIn
) -> None:
    """Three calls judged after the first batch get their judge scores (beside the
    detectors') from the second batch's one ``call_scores`` insert; the second batch's
    call, judged with no batch after it, is written at the stop, with every verdict and
    review item. Every call is judged once and counted done."""
    counted = CountedInserts(store.backend)
    store.backend = counted  # type: ignore[assignment]
    settings = judge_settings(standin, judge_dimensions="helpfulness", judge_review_share=1.0)
    pipeline, workers = judged_pipeline(store, settings)
    workers.writer.interval_s = 600.0  # the verdicts wait for the stop
    workers.writer.judging = None
    workers.start()
    try:
        pipeline.process([answers("first one", "first two", "first three")])
        _wait_carried(workers, 3)
        assert _judged(store) == {}
        before = counted.inserts.copy()
        pipeline.process([answers("second one")])
        added = counted.inserts - before
        assert added["call_scores"] == 1
        assert added["judge_verdicts"] == 0
        judged = _judged(store)
        assert len(judged) == 3
        assert set(judged.values()) == {3.0}
        _wait_carried(workers, 1)
        assert workers.done == 0  # their verdicts are not written yet
    finally:
        workers.close()
    assert len(_judged(store)) == 4
    assert workers.done == 4
    assert len(store.select("SELECT SpanId FROM {db}.judge_verdicts FINAL")) == 4
    queued = store.select("SELECT SpanId FROM {db}.review_items FINAL WHERE Reason = 'judge'")
    assert len(queued) == 4
    for row in store.select("SELECT Scores FROM {db}.call_scores FINAL"):
        assert any(not key.startswith("judge.") for key in row["Scores"])


def test_a_batch_the_store_refused_leaves_the_judge_rows_to_the_next(
    store: Store, standin: StandIn
) -> None:
    """The judge rows a batch took are not lost when the store refuses the batch: the next
    batch writes them."""
    counted = CountedInserts(store.backend)
    store.backend = counted  # type: ignore[assignment]
    settings = judge_settings(standin, judge_dimensions="helpfulness")
    pipeline, workers = judged_pipeline(store, settings)
    workers.writer.interval_s = 600.0
    workers.writer.judging = None
    workers.start()
    try:
        pipeline.process([answers("first one", "first two")])
        _wait_carried(workers, 2)
        counted.refuse = True
        with pytest.raises(StoreError):
            pipeline.process([answers("refused")])
        assert _judged(store) == {}
        pipeline.process([answers("third")])
        assert len(_judged(store)) == 2
    finally:
        workers.close()
    assert len(_judged(store)) == 3
    assert workers.done == 3
