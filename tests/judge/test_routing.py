"""Review routing rules on judge scores: a call goes to a queue when its verdict arrives."""

from __future__ import annotations

import pytest

from tests.judge.harness import answers, judge_settings
from tests.judge.standin import StandIn
from watchkeeper.collector.judge.start import attach_judges, check_review_rules
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.review.queues import ReviewQueue, RouteRule
from watchkeeper.collector.settings import ConfigError
from watchkeeper.collector.store.store import Store

UNHELPFUL = {
    "unhelpful": {
        "priority": 75,
        "when": [{"score": "judge.default.helpfulness", "below": 3}],
    }
}


def _queued(store: Store, queue: str) -> list[str]:
    rows = store.select(
        "SELECT OutputText, Reason FROM {db}.review_items FINAL "
        f"WHERE Queue = '{queue}' ORDER BY OutputText"
    )
    return [f"{row['OutputText']}|{row['Reason']}" for row in rows]


def test_a_rule_on_a_judge_score_routes_the_call_once_its_verdict_arrives(
    store: Store, standin: StandIn
) -> None:
    """The stand-in judges helpfulness 5, 2, 3 for "correct", "wrong" and any other
    answer: only the "wrong" answer (2 < 3) goes to the unhelpful queue, with the rule as
    its reason. The same batch stored again (a redelivery) is not judged again, so the
    call is not routed a second time."""
    settings = judge_settings(standin, judge_dimensions="helpfulness", review_queues=UNHELPFUL)
    pipeline = Pipeline(store, router=ReviewRouter(settings.review_queues))
    workers = attach_judges(settings, store, pipeline)
    assert workers is not None
    payload = answers("correct A", "wrong A", "neither A")
    try:
        pipeline.process([payload])
        assert workers.wait_done(3, 30)
        assert _queued(store, "unhelpful") == ["wrong A|score:judge.default.helpfulness<3"]
        pipeline.process([payload])
        assert workers.wait_done(6, 30)
    finally:
        workers.close()
    assert _queued(store, "unhelpful") == ["wrong A|score:judge.default.helpfulness<3"]
    assert len(standin.requests) == 3


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("judge.strict.helpfulness", "no judge named 'strict'; judges: default"),
        ("judge.default.safety", "judge 'default' does not score 'safety'"),
    ],
)
def test_a_rule_on_a_score_no_judge_gives_is_a_config_error(
    standin: StandIn, score: str, message: str
) -> None:
    """A rule naming a judge that is not configured, or a dimension the judge does not
    score, stops the start with a line naming the rule."""
    queues = {"unhelpful": {"when": [{"score": score, "below": 3}]}}
    settings = judge_settings(standin, judge_dimensions="helpfulness", review_queues=queues)
    with pytest.raises(ConfigError, match=r"review_queues\.unhelpful\.when\.0") as raised:
        check_review_rules(settings)
    assert message in str(raised.value)


def test_a_judge_score_rule_passes_the_detector_check() -> None:
    """The pipeline's check that score rules name running detectors leaves judge scores
    to the judges' check, and still refuses an unknown detector."""
    judged = ReviewQueue(when=(RouteRule(score="judge.default.helpfulness", below=3),))
    ReviewRouter({"u": judged}).check_detectors(["consistency_drift"])
    unknown = ReviewQueue(when=(RouteRule(score="nosuch.helpfulness", below=3),))
    with pytest.raises(ConfigError, match="no detector named 'nosuch'"):
        ReviewRouter({"u": unknown}).check_detectors(["consistency_drift"])
