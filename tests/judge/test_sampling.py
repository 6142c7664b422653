"""The hand-over's tight sampling loop picks exactly what the judge's sampling rules say."""

from __future__ import annotations

from watchkeeper.collector.judge.sampling import JudgeSampler
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.settings.judge import JudgeRule


def _sampler(*rules: JudgeRule, **keys: object) -> JudgeSampler:
    flat = {"judge_base_url": "http://127.0.0.1:9/v1", "judge_model": "m", **keys}
    config = load_settings(overrides=flat, environ={}).judge.configured()["default"]
    return JudgeSampler("default", config.model_copy(update={"rules": rules}))


def test_picked_is_reason_call_by_call() -> None:
    """Over 2,000 calls, a third routed to review and some flagged, ``picked`` gives the
    calls and reasons that ``reason`` gives one call at a time: with the defaults (the
    tight loop), with review first off, and with a rule (the general loop)."""
    calls = [
        CallRecord(f"{i:032x}", f"{i * 7919:016x}", i, 0, route=f"r{i % 3}", output_text="a")
        for i in range(2000)
    ]
    routed = {c.span_id for c in calls[::3]}
    flagged = {c.span_id: ["pii"] for c in calls[::5]}
    samplers = [
        _sampler(),
        _sampler(judge_review_first=False, judge_sample_rate=0.3),
        _sampler(JudgeRule(flagged_by="pii", rate=0.5)),
    ]
    for sampler in samplers:
        expected = [
            (c, r)
            for c in calls
            if (
                r := sampler.reason(
                    c.span_id,
                    c.route,
                    c.model,
                    routed=c.span_id in routed,
                    flagged_by=flagged.get(c.span_id, ()),
                )
            )
            is not None
        ]
        assert sampler.picked(calls, routed, flagged) == expected
        assert 0 < len(expected) < len(calls)
    reasons = {r for _, r in samplers[2].picked(calls, routed, flagged)}
    assert reasons == {"review", "rule", "sample"}
