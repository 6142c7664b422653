"""The judges' cache in memory: judging reads nothing from the store per call, a restarted
judge knows from one read at start what it judged, and it stays bounded."""

from __future__ import annotations

from typing import Any

from tests.judge.harness import answers, judge_settings, judged_pipeline, metric
from tests.judge.standin import StandIn
from watchkeeper.collector.store.judges import RECENT_VERDICTS
from watchkeeper.collector.store.store import Store


class CountedStore:
    """The real store, its reads recorded (which statement, from which thread)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads: list[str] = []

    def select(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        self.reads.append(sql)
        return self.store.select(sql, **params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def _judge_scores(store: Store) -> dict[str, dict[str, float]]:
    rows = store.select("SELECT SpanId, Scores FROM {db}.call_scores FINAL")
    return {
        str(r["SpanId"]): {k: v for k, v in r["Scores"].items() if k.startswith("judge.")}
        for r in rows
    }


def test_judging_reads_only_its_start_and_the_writers_batches(
    store: Store, standin: StandIn
) -> None:
    """Twelve calls judged (six texts, each twice): the store is read once, at start (the
    newest verdicts); the writer adds the judge's scores to the rows the pipeline stored
    without reading them (one judge); the repeated texts come from memory (six requests
    per dimension, not twelve), and the default dimensions leave out the agent-trace ones
    (four requests per new text). The detectors' scores stay in the rows."""
    settings = judge_settings(standin)
    pipeline, workers = judged_pipeline(store, settings)
    counted = CountedStore(store)
    workers.store.store = counted  # type: ignore[assignment]
    texts = [f"a correct answer {i}" for i in range(6)]
    workers.start()
    try:
        pipeline.process([answers(*texts)])
        assert workers.wait_done(6, 60)
        pipeline.process([answers(*texts)])
        assert workers.wait_done(12, 60)
    finally:
        workers.close()
    assert counted.reads == [RECENT_VERDICTS]
    assert len(standin.requests) == 6 * 4
    dimensions = {"factual_accuracy", "helpfulness", "tone", "safety"}
    assert {r["body"]["response_format"]["json_schema"]["name"] for r in standin.requests} == {
        f"judge_{d}" for d in dimensions
    }
    cached = metric(
        pipeline, "watchkeeper_judge_calls_judged_total", judge="default", source="cache"
    )
    assert cached == 6
    scores = _judge_scores(store)
    assert len(scores) == 12
    assert all(s["judge.default.helpfulness"] == 5.0 for s in scores.values())
    rows = store.select("SELECT Scores FROM {db}.call_scores FINAL")
    assert all("prompt_injection.safety" in r["Scores"] for r in rows)
    rollup = store.select(
        "SELECT Score, sum(N) AS N FROM {db}.scores_minutely "
        "WHERE Score IN ('prompt_injection.safety', 'judge.default.tone') GROUP BY Score"
    )
    assert {r["Score"]: int(r["N"]) for r in rollup} == {
        "prompt_injection.safety": 12,
        "judge.default.tone": 12,
    }


def test_a_restarted_judge_puts_back_a_redelivered_batchs_scores_without_requests(
    store: Store, standin: StandIn
) -> None:
    """A batch judged, then stored again after a restart (a redelivery: the same spans), has
    its scores rows rewritten without the judge's scores; the restarted judge, which read
    its verdicts once at start, puts them back with no request."""
    settings = judge_settings(standin, judge_dimensions="helpfulness")
    payload = answers("this is correct", "this is wrong")
    pipeline, workers = judged_pipeline(store, settings)
    workers.start()
    try:
        pipeline.process([payload])
        assert workers.wait_done(2, 30)
    finally:
        workers.close()
    assert len(standin.requests) == 2
    restarted_pipeline, restarted = judged_pipeline(store, settings)
    restarted.start()
    assert restarted.warm() == 2
    try:
        restarted_pipeline.process([payload])
        assert restarted.wait_done(2, 30)
    finally:
        restarted.close()
    assert len(standin.requests) == 2
    assert sorted(s["judge.default.helpfulness"] for s in _judge_scores(store).values()) == [
        2.0,
        5.0,
    ]


def test_the_cache_holds_at_most_its_capacity(store: Store, standin: StandIn) -> None:
    """With room for two calls, a judge holds the newest two: the first text, evicted, costs
    a request again, while the newest is answered from memory."""
    settings = judge_settings(
        standin, judge_dimensions="helpfulness", judge_cache_calls=2, judge_concurrency=1
    )
    pipeline, workers = judged_pipeline(store, settings)
    workers.start()
    try:
        pipeline.process([answers("first", "second", "third")])
        assert workers.wait_done(3, 30)
        pipeline.process([answers("first", "third")])
        assert workers.wait_done(5, 30)
    finally:
        workers.close()
    assert len(workers.caches["default"]) == 2
    asked = [r["body"]["messages"][1]["content"] for r in standin.requests]
    assert sum("<answer>\nfirst\n</answer>" in prompt for prompt in asked) == 2
    assert sum("<answer>\nthird\n</answer>" in prompt for prompt in asked) == 1
