"""Review configuration: queues and routing rules, the rubric, start-up checks."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.review.queues import ReviewQueue, RouteRule
from watchkeeper.collector.review.rubric import Rubric, RubricDimension
from watchkeeper.collector.settings import ConfigError, load_settings

_DOCTESTED = [
    "watchkeeper.collector.review.agreement",
    "watchkeeper.collector.review.calibration",
    "watchkeeper.collector.review.feed_items",
    "watchkeeper.collector.review.queues",
    "watchkeeper.collector.review.rubric",
    "watchkeeper.collector.evalset.records",
]


@pytest.mark.parametrize("module", _DOCTESTED)
def test_docstring_examples_run(module: str) -> None:
    """The examples in the review and evalset docstrings are true."""
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
    assert result.attempted > 0


def test_default_queues_and_rubric() -> None:
    """Without configuration: the built-in queues by priority, the six-dimension rubric."""
    settings = load_settings(environ={})
    assert list(settings.review_queues) == [
        "safety",
        "feedback",
        "alarms",
        "faithfulness",
        "trajectories",
        "conversations",
        "versions",
        "consistency",
        "errors",
        "coverage",
        "random",
    ]
    assert list(settings.review_rubric) == [
        "factual_accuracy",
        "helpfulness",
        "tone",
        "safety",
        "trajectory_quality",
        "tool_use_accuracy",
    ]
    assert settings.review_rubric["safety"].kind == "pass_fail"


def test_configured_queues_merge_over_the_built_in_ones(tmp_path: Path) -> None:
    """A TOML file adds a queue, replaces one by name and drops one with enabled = false."""
    config = tmp_path / "wk.toml"
    config.write_text(
        "[watchkeeper.review_queues.vip]\n"
        "priority = 95\ncap_per_hour = 5\nreviewers = 2\n"
        'when = [{ error = true, route = "checkout" }]\n'
        "[watchkeeper.review_queues.random]\nenabled = false\n"
        "[watchkeeper.review_queues.errors]\n"
        "priority = 1\nwhen = [{ error = true }]\n"
    )
    queues = load_settings(config, environ={}).review_queues
    assert "random" not in queues
    assert queues["vip"].reviewers == 2
    assert queues["vip"].when[0].route == "checkout"
    assert queues["errors"].priority == 1
    assert queues["errors"].cap_per_hour is None


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ('{"x": {"when": [{"score": "faithfulness_drift.faithfulness"}]}}', "review_queues.x"),
        ('{"x": {"when": [{"error": true, "sample": true}]}}', "exactly one"),
        ('{"x": {"when": []}}', "at least one rule"),
        ('{"Bad Name": {"when": [{"error": true}]}}', "Bad Name"),
        ('{"x": {"when": [{"error": true}], "reviewers": 0}}', "review_queues.x.reviewers"),
        ("not json", "not a JSON object"),
    ],
)
def test_bad_queue_configuration_is_named(value: str, named: str) -> None:
    """A wrong queue definition stops start-up with a message naming what is wrong."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"WATCHKEEPER_REVIEW_QUEUES": value})
    assert named in str(caught.value)
    assert "WATCHKEEPER_REVIEW_QUEUES" in str(caught.value)


def test_rules_naming_unknown_detectors_fail_at_start() -> None:
    """A rule on a detector that does not run is a start-up error naming the rule."""
    router = ReviewRouter(
        {"x": ReviewQueue(when=(RouteRule(score="faithfulnes_drift.faithfulness", below=0.5),))}
    )
    with pytest.raises(ConfigError, match=r"review_queues\.x\.when\.0.*faithfulnes_drift"):
        router.check_detectors(["faithfulness_drift"])


def test_rubric_from_configuration_and_its_checks() -> None:
    """A configured rubric replaces the default; scores outside it are reported."""
    settings = load_settings(
        environ={
            "WATCHKEEPER_REVIEW_RUBRIC": '{"correct": {"kind": "pass_fail", "required": true},'
            ' "style": {"min": 0, "max": 10, "pass_at": 7}}'
        }
    )
    rubric = Rubric(settings.review_rubric)
    assert rubric.parse_scores({"correct": "pass", "style": 7}) == ({"correct": 1, "style": 7}, [])
    _, problems = rubric.parse_scores({"style": 11, "tone": 3})
    assert problems == [
        "unknown dimension 'tone'",
        "correct is required",
        "style must be between 0 and 10, got 11",
    ]
    assert rubric.dimensions["style"].passed(7)
    assert not rubric.dimensions["style"].passed(6)


def test_bad_rubric_is_named() -> None:
    """A rubric dimension whose range is empty stops start-up."""
    with pytest.raises(ConfigError, match=r"review_rubric\.x"):
        load_settings(environ={"WATCHKEEPER_REVIEW_RUBRIC": '{"x": {"min": 5, "max": 5}}'})


def test_score_dimensions_reject_booleans_and_text() -> None:
    """A score must be an integer: true or "4" are refused, not coerced."""
    dimension = RubricDimension()
    for value in (True, "4", 4.5):
        with pytest.raises(ValueError, match="whole number"):
            dimension.parse(value)
