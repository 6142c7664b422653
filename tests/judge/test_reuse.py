"""Verdicts the cache holds are given in the hand-over: the scores ride in the batch's own
``call_scores`` rows, with no task, request, verdict row or rewritten scores row; calls
bound for review still get verdict rows, and a restart does not judge the others again."""

from __future__ import annotations

from typing import Any

from tests.judge.harness import answers, judge_settings, judged_pipeline, metric
from tests.judge.standin import StandIn
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.settings import Settings
from watchkeeper.collector.store.store import Store

TEXTS = ("this is correct", "this is wrong")


def _judged_twice(store: Store, settings: Settings) -> tuple[Pipeline, set[str]]:
    """Two calls judged, then two more with the same texts; returns the pipeline and the
    span ids of the first two."""
    pipeline, workers = judged_pipeline(store, settings)
    workers.start()
    try:
        pipeline.process([answers(*TEXTS)])
        assert workers.wait_done(2, 30)
        first = {str(r["SpanId"]) for r in store.select("SELECT SpanId FROM {db}.calls")}
        pipeline.process([answers(*TEXTS)])
        assert workers.wait_done(4, 30)
    finally:
        workers.close()
    return pipeline, first


def _score_rows(store: Store) -> list[dict[str, Any]]:
    """Every ``call_scores`` row as written (not merged)."""
    return store.select("SELECT SpanId, Scores, JudgeMerged FROM {db}.call_scores")


def test_cached_verdicts_ride_in_the_batchs_own_scores_rows(store: Store, standin: StandIn) -> None:
    """The second batch's calls, whose texts the judge scored, get their judge scores in
    the pipeline's own rows (one row each, beside the detectors' scores): no request, no
    verdict row, counted as judged from the cache and in the score histogram."""
    settings = judge_settings(standin, judge_dimensions="helpfulness")
    pipeline, first = _judged_twice(store, settings)
    assert len(standin.requests) == 2
    verdicts = store.select("SELECT SpanId FROM {db}.judge_verdicts")
    assert {str(r["SpanId"]) for r in verdicts} == first
    second = [r for r in _score_rows(store) if str(r["SpanId"]) not in first]
    assert len(second) == 2
    assert sorted(r["Scores"]["judge.default.helpfulness"] for r in second) == [2.0, 5.0]
    assert all("prompt_injection.safety" in r["Scores"] and not r["JudgeMerged"] for r in second)
    assert (
        metric(pipeline, "watchkeeper_judge_calls_judged_total", judge="default", source="cache")
        == 2
    )
    histogram = "watchkeeper_detector_score_count"
    assert metric(pipeline, histogram, score="judge.default.helpfulness") == 4
    rollup = store.select(
        "SELECT sum(N) AS N FROM {db}.scores_minutely WHERE Score = 'judge.default.helpfulness'"
    )
    assert int(rollup[0]["N"]) == 4


def test_a_cached_call_bound_for_review_gets_its_verdict_rows(
    store: Store, standin: StandIn
) -> None:
    """With every judged call shared with reviewers (``review_share`` 1), the second
    batch's calls still go through the judge threads: reviewers' labels are compared with
    verdict rows, so each gets its own (marked cached), still with no request."""
    settings = judge_settings(standin, judge_dimensions="helpfulness", judge_review_share=1.0)
    _, first = _judged_twice(store, settings)
    assert len(standin.requests) == 2
    rows = store.select("SELECT SpanId, Cached FROM {db}.judge_verdicts FINAL")
    assert len(rows) == 4
    assert all(bool(r["Cached"]) == (str(r["SpanId"]) not in first) for r in rows)


def test_a_restart_does_not_queue_calls_answered_in_the_hand_over(
    store: Store, standin: StandIn
) -> None:
    """The calls answered from the cache have no verdict rows but have the judge's scores:
    a restart's backlog leaves them out, as it leaves out the calls with verdicts."""
    settings = judge_settings(standin, judge_dimensions="helpfulness")
    _judged_twice(store, settings)
    _, restarted = judged_pipeline(store, settings)
    try:
        assert restarted.resume(3600) == 0
    finally:
        restarted.close()
    assert len(standin.requests) == 2
