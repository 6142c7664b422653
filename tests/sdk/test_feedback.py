"""feedback(): a later verdict on a call travels as a span in the call's trace."""

from __future__ import annotations

import pytest

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import attributes, configure, current_call, feedback, observe, testing


def test_feedback_joins_the_calls_trace_with_an_evaluation_event() -> None:
    """feedback(trace_id, score, comment, span_id=...) exports a "feedback" span in the
    call's trace, child of the call, whose gen_ai.evaluation.result event carries the
    score, label and comment; it is not an LLM call (no gen_ai.* span attributes)."""
    ids = []

    @observe
    def answer(question: str) -> str:
        ids.append((current_call().trace_id, current_call().span_id))
        return "ok"

    answer("hi")
    trace_id, span_id = ids[0]
    feedback(
        trace_id, 0.0, "Wrong order number", span_id=span_id, label="thumbs_down", user_id="u1"
    )
    call, given = testing.finished_spans()
    assert given.name == "feedback"
    assert given.context.trace_id == call.context.trace_id
    assert given.parent is not None
    assert given.parent.span_id == call.context.span_id
    values = dict(given.attributes or {})
    assert values == {attributes.SPAN_TYPE: "feedback", attributes.USER_ID: "u1"}
    (event,) = given.events
    assert event.name == attributes.EVALUATION_RESULT_EVENT
    assert dict(event.attributes or {}) == {
        attributes.EVALUATION_NAME: "user_feedback",
        attributes.EVALUATION_SCORE_VALUE: 0.0,
        attributes.EVALUATION_SCORE_LABEL: "thumbs_down",
        attributes.EVALUATION_EXPLANATION: "Wrong order number",
    }


def test_feedback_is_never_sampled_out_and_respects_privacy_settings() -> None:
    """Feedback is kept at any sample rate; its comment is redacted, or dropped when
    content capture is off."""
    configure("memory", sample_rate=0.000001, redact=True)
    feedback("0af7651916cd43dd8448eb211c80319c", 1, "mail me at jo@example.com")
    (given,) = testing.finished_spans()
    (event,) = given.events
    assert (event.attributes or {})[attributes.EVALUATION_EXPLANATION] == "mail me at [EMAIL]"

    configure("memory", capture_content=False)
    feedback("0af7651916cd43dd8448eb211c80319c", 1, "secret")
    (given,) = testing.finished_spans()
    assert attributes.EVALUATION_EXPLANATION not in (given.events[0].attributes or {})


def test_malformed_ids_are_internal_errors(
    monkeypatch: pytest.MonkeyPatch, stats_delta: StatsDelta
) -> None:
    """A malformed trace id raises under pytest and is only counted in production."""
    with pytest.raises(ValueError, match="not-hex"):
        feedback("not-hex", 1.0)
    from watchkeeper.sdk import internal_errors

    monkeypatch.setattr(internal_errors, "reraise_internal_errors", lambda: False)
    feedback("0" * 32, 1.0)  # the all-zero id is invalid too
    assert stats_delta["internal_errors"] == 2
    assert testing.finished_spans() == ()
