"""Judges beside the pipeline, against a real HTTP server speaking the OpenAI
chat-completions API (tests/judge/standin.py) over loopback."""

from __future__ import annotations

import openai
import pytest

from tests.judge.harness import answers, judge_settings, judged_pipeline, metric
from tests.judge.standin import StandIn
from watchkeeper.collector.settings import ConfigError
from watchkeeper.collector.store.store import Store

RUBRIC = ("factual_accuracy", "helpfulness", "tone", "safety")


def _scores(store: Store) -> dict[str, dict[str, float]]:
    rows = store.select("SELECT SpanId, Scores FROM {db}.call_scores FINAL")
    return {
        str(r["SpanId"]): {k: v for k, v in r["Scores"].items() if k.startswith("judge.")}
        for r in rows
    }


def test_the_standin_is_what_the_official_openai_client_reads(standin: StandIn) -> None:
    """The stand-in speaks the API: the official client parses its completion and usage."""
    client = openai.OpenAI(base_url=standin.url, api_key="k", max_retries=0)
    reply = client.chat.completions.create(
        model="standin",
        messages=[{"role": "user", "content": "Dimension: tone.\n<answer>\ncorrect\n</answer>"}],
    )
    assert reply.choices[0].message.content == '{"reason": "stand-in: says correct", "score": 5}'
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 20


def test_judge_scores_land_beside_the_detectors_scores(store: Store, standin: StandIn) -> None:
    """Every rubric dimension's verdict goes to the call's call_scores row as
    judge.default.<dimension>, beside its detector scores, with its reason in
    judge_verdicts; the minute rollup counts each detector score once; the key travels
    only in the Authorization header."""
    settings = judge_settings(standin, judge_api_key_env="JUDGE_TEST_KEY")
    pipeline, workers = judged_pipeline(store, settings, {"JUDGE_TEST_KEY": "sk-secret-1"})
    workers.start()
    try:
        pipeline.process([answers("this is correct", "this is wrong", "a password: hunter2")])
        assert workers.wait_done(3, 30)
    finally:
        workers.close()
    by_answer = {"this is correct": 5.0, "this is wrong": 2.0, "a password: hunter2": 3.0}
    rows = store.select(
        "SELECT b.OutputText AS Out, s.Scores AS Scores FROM {db}.call_scores AS s FINAL "
        "JOIN {db}.call_bodies AS b FINAL ON s.SpanId = b.SpanId"
    )
    assert len(rows) == 3
    for row in rows:
        scores = row["Scores"]
        expected = by_answer[row["Out"]]
        assert scores["judge.default.helpfulness"] == expected
        assert scores["judge.default.tone"] == expected
        assert scores["judge.default.safety"] == (0.0 if "password" in row["Out"] else 1.0)
        assert "prompt_injection.safety" in scores  # the detectors' scores are kept
    reasons = store.select("SELECT DISTINCT Reason FROM {db}.judge_verdicts")
    assert {r["Reason"] for r in reasons} >= {"stand-in: says correct", "stand-in: fail"}
    rollup = store.select(
        "SELECT Score, sum(N) AS N FROM {db}.scores_minutely "
        "WHERE Score IN ('prompt_injection.safety', 'judge.default.tone') GROUP BY Score"
    )
    assert {r["Score"]: int(r["N"]) for r in rollup} == {
        "prompt_injection.safety": 3,
        "judge.default.tone": 3,
    }
    assert {r["auth"] for r in standin.requests} == {"Bearer sk-secret-1"}
    exposition = pipeline.metrics.exposition().decode()
    assert "sk-secret-1" not in exposition
    assert (
        metric(pipeline, "watchkeeper_judge_calls_judged_total", judge="default", source="request")
        == 3
    )
    assert 'watchkeeper_detector_score_count{score="judge.default.tone"} 3.0' in exposition
    body = standin.requests[0]["body"]
    assert body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"


def test_failed_requests_are_retried_and_counted_by_reason(store: Store, standin: StandIn) -> None:
    """A timeout, a 429 with Retry-After, a 500, a reply without a score and a reply that
    is not JSON each cost one counted failure and a retry; the sixth request's verdict is
    stored."""
    standin.script.extend(["timeout", "429", "500", "malformed", "non_json"])
    settings = judge_settings(standin, judge_dimensions="helpfulness")
    pipeline, workers = judged_pipeline(store, settings)
    workers.judges["default"].config = workers.judges["default"].config.model_copy(
        update={"max_retries": 5}
    )
    workers.start()
    try:
        pipeline.process([answers("this is correct")])
        assert workers.wait_done(1, 60)
    finally:
        workers.close()
    assert len(standin.requests) == 6
    for reason in ("timeout", "rate_limited", "server_error", "malformed", "non_json"):
        assert (
            metric(pipeline, "watchkeeper_judge_failures_total", judge="default", reason=reason)
            == 1
        ), reason
    assert list(_scores(store).values()) == [{"judge.default.helpfulness": 5.0}]


def test_a_judge_that_keeps_failing_gives_up_and_ingestion_goes_on(
    store: Store, standin: StandIn
) -> None:
    """After max_retries the call is given up (counted) with no judge score; the pipeline
    stored every call meanwhile."""
    standin.script.extend(["500"] * 10)
    settings = judge_settings(standin, judge_dimensions="tone")
    pipeline, workers = judged_pipeline(store, settings)
    workers.judges["default"].config = workers.judges["default"].config.model_copy(
        update={"max_retries": 2}
    )
    workers.start()
    try:
        result = pipeline.process([answers("one", "two")])
        assert result.calls == 2
        assert workers.wait_done(2, 60)
    finally:
        workers.close()
    assert store.count_calls() == 2
    assert metric(pipeline, "watchkeeper_judge_given_up_total", judge="default") == 2
    assert len(standin.requests) == 6
    assert all(not scores for scores in _scores(store).values())


def test_the_budget_skips_and_counts_what_it_cannot_pay_for(store: Store, standin: StandIn) -> None:
    """With two requests an hour, two of three calls are judged, the third is skipped
    and counted, and no request is made for it."""
    settings = judge_settings(
        standin, judge_dimensions="helpfulness", judge_max_requests_per_hour=2
    )
    pipeline, workers = judged_pipeline(store, settings)
    workers.start()
    try:
        pipeline.process([answers("a correct one", "a wrong one", "a third one")])
        assert workers.wait_done(3, 30)
    finally:
        workers.close()
    assert len(standin.requests) == 2
    assert (
        metric(pipeline, "watchkeeper_judge_skipped_total", judge="default", reason="budget") == 1
    )
    assert sum(1 for s in _scores(store).values() if s) == 2


def test_the_same_texts_are_judged_once(store: Store, standin: StandIn) -> None:
    """A second call with the same question and answer takes the cached verdict (judge,
    prompt version, content hash): no request, counted as source=cache."""
    settings = judge_settings(standin, judge_dimensions="helpfulness")
    pipeline, workers = judged_pipeline(store, settings)
    workers.start()
    try:
        pipeline.process([answers("the same correct answer")])
        assert workers.wait_done(1, 30)
        pipeline.process([answers("the same correct answer")])
        assert workers.wait_done(2, 30)
    finally:
        workers.close()
    assert len(standin.requests) == 1
    assert (
        metric(pipeline, "watchkeeper_judge_calls_judged_total", judge="default", source="cache")
        == 1
    )
    assert list(_scores(store).values()) == [{"judge.default.helpfulness": 5.0}] * 2


def test_a_full_queue_drops_and_counts_without_blocking(store: Store, standin: StandIn) -> None:
    """With room for one call and no worker taking them, the batch is stored at once and
    the other calls are dropped from judging and counted (queue_full)."""
    settings = judge_settings(standin, judge_queue_size=1)
    pipeline, workers = judged_pipeline(store, settings)
    result = pipeline.process([answers("one", "two", "three")])
    assert result.calls == 3
    assert (
        metric(pipeline, "watchkeeper_judge_skipped_total", judge="default", reason="queue_full")
        == 2
    )
    assert metric(pipeline, "watchkeeper_judge_queue_depth", judge="default") == 1
    workers.close()


def test_a_restart_mid_backlog_loses_no_call_and_judges_none_twice(
    store: Store, standin: StandIn
) -> None:
    """Stopped with calls still queued, the judges resume from the store at the next
    start: every call ends up judged, each exactly once (one request per call). Twenty calls
    at 0.3 s each outlast the writer's first flush (after 2 s here, while the judge is
    still busy), so some are left queued."""
    standin.delay_s = 0.3
    settings = judge_settings(standin, judge_dimensions="helpfulness", judge_concurrency=1)
    texts = [f"answer number {i}" for i in range(20)]
    pipeline, workers = judged_pipeline(store, settings)
    workers.writer.interval_s = 2.0
    workers.start()
    pipeline.process([answers(*texts)])
    assert workers.wait_done(2, 30)
    workers.close()
    judged_before = len(store.select("SELECT DISTINCT SpanId FROM {db}.judge_verdicts"))
    assert 2 <= judged_before < 20
    _, restarted = judged_pipeline(store, settings)
    restarted.start(lookback_s=3600)
    try:
        assert restarted.wait_done(20 - judged_before, 60)
    finally:
        restarted.close()
    assert len(store.select("SELECT DISTINCT SpanId FROM {db}.judge_verdicts")) == 20
    asked = [r["body"]["messages"][1]["content"] for r in standin.requests]
    for text in texts:
        assert sum(f"<answer>\n{text}\n</answer>" in prompt for prompt in asked) == 1, text


def test_a_dimension_not_in_the_rubric_is_a_config_error(store: Store, standin: StandIn) -> None:
    """judge_dimensions naming something the rubric lacks stops start with one line that
    names the key and the valid choices."""
    settings = judge_settings(standin, judge_dimensions="helpfulness,politeness")
    with pytest.raises(ConfigError, match=r"judge_dimensions names politeness.*choose from"):
        judged_pipeline(store, settings)


def test_an_endpoint_without_json_schema_support_is_asked_again_without_it(
    store: Store, standin: StandIn
) -> None:
    """A 400 naming response_format: the same prompt again without it, and from then on
    never with it; the verdict is read from the plain reply."""
    standin.script.append("no_response_format")
    # One request at a time: with two in flight, the second may leave before the first's
    # refusal is known, and both rightly carry the format.
    settings = judge_settings(standin, judge_dimensions="helpfulness", judge_concurrency=1)
    pipeline, workers = judged_pipeline(store, settings)
    workers.start()
    try:
        pipeline.process([answers("this is correct", "this is wrong")])
        assert workers.wait_done(2, 30)
    finally:
        workers.close()
    formats = ["response_format" in r["body"] for r in standin.requests]
    assert formats == [True, False, False]
    assert sorted(v["judge.default.helpfulness"] for v in _scores(store).values()) == [2.0, 5.0]


def test_anthropic_and_callable_judges_score_like_the_default(
    store: Store, standin: StandIn
) -> None:
    """A judge on the Messages API (x-api-key header) and an in-process callable judge
    give their own judge.<name>.* scores beside the default judge's; three rewrites of the
    call's scores row count each score once in the minute rollup."""
    settings = judge_settings(
        standin,
        judge_dimensions="helpfulness",
        judges={
            "claude": {
                "provider": "anthropic",
                "base_url": standin.url.removesuffix("/v1"),
                "model": "claude-standin",
                "api_key_env": "ANTHROPIC_TEST_KEY",
                "sample_rate": 1.0,
                "review_share": 0.0,
                "dimensions": ["safety"],
            },
            "local": {
                "provider": "callable",
                "callable": "tests.judge.standin:callable_judge",
                "sample_rate": 1.0,
                "review_share": 0.0,
                "dimensions": ["tone"],
            },
        },
    )
    pipeline, workers = judged_pipeline(store, settings, {"ANTHROPIC_TEST_KEY": "sk-ant-1"})
    workers.start()
    try:
        pipeline.process([answers("this is correct, password inside")])
        assert workers.wait_done(3, 30)
    finally:
        workers.close()
    assert list(_scores(store).values()) == [
        {
            "judge.default.helpfulness": 5.0,
            "judge.claude.safety": 0.0,
            "judge.local.tone": 5.0,
        }
    ]
    assert "sk-ant-1" in {r["auth"] for r in standin.requests}
    rollup = store.select(
        "SELECT Score, sum(N) AS N FROM {db}.scores_minutely "
        "WHERE Score LIKE 'judge.%' OR Score = 'prompt_injection.safety' GROUP BY Score"
    )
    assert {r["Score"]: int(r["N"]) for r in rollup} == {
        "prompt_injection.safety": 1,
        "judge.default.helpfulness": 1,
        "judge.claude.safety": 1,
        "judge.local.tone": 1,
    }
