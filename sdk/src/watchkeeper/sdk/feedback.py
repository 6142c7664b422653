"""``feedback()``: a user's later verdict on a call, joined to the call's trace.

Sent as a short span in the call's trace (a child of the call's span when its id is
given), named ``feedback``, with ``watchkeeper.span.type = "feedback"`` and one
``gen_ai.evaluation.result`` event carrying the semantic conventions' evaluation
attributes (``gen_ai.evaluation.name``, ``.score.value``, ``.score.label``,
``.explanation``). Feedback is never sampled out.

>>> from watchkeeper.sdk import configure, feedback
>>> configure("none")
>>> feedback("4bf92f3577b34da6a3ce929d0e0e4736", 1.0, "Spot on", label="thumbs_up")
"""

from __future__ import annotations

from random import getrandbits
from time import time_ns
from typing import TYPE_CHECKING

from watchkeeper.sdk import attributes, configuration
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.span_data import KIND_INTERNAL, EventData, SpanData

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue


def feedback(
    trace_id: str,
    score: float | None = None,
    comment: str | None = None,
    *,
    span_id: str | None = None,
    name: str = "user_feedback",
    label: str | None = None,
    user_id: str | None = None,
) -> None:
    """Record feedback on an observed call, e.g. a thumbs up/down from the end user.

    Args:
        trace_id: the call's ``current_call().trace_id`` (32 hex digits).
        score: numeric verdict (your scale, e.g. 1.0 / 0.0 or 1-5).
        comment: free text from the user (redacted like other content; dropped when
            content capture is off).
        span_id: the call's ``current_call().span_id``, to attach to that very call.
        name: what is being evaluated (``gen_ai.evaluation.name``).
        label: a categorical verdict (``"thumbs_up"``, ``"wrong"`` ...).
        user_id: who gave the feedback.

    Never raises in production: a malformed id is logged and counted as an internal
    error (and raised under pytest).
    """
    try:
        pipeline = configuration.current_pipeline()
        trace, parent = _ids(trace_id, span_id)
        evaluation: dict[str, AttributeValue] = {attributes.EVALUATION_NAME: name}
        if score is not None:
            evaluation[attributes.EVALUATION_SCORE_VALUE] = float(score)
        if label is not None:
            evaluation[attributes.EVALUATION_SCORE_LABEL] = label
        settings = pipeline.settings
        if comment and settings.capture_content:
            if settings.redact is not None:
                comment = settings.redact(comment)
            evaluation[attributes.EVALUATION_EXPLANATION] = comment[: settings.max_content_chars]
        span_attributes: dict[str, AttributeValue] = {attributes.SPAN_TYPE: "feedback"}
        if user_id is not None:
            span_attributes[attributes.USER_ID] = user_id
        now = time_ns()
        span = SpanData(
            trace_id=trace,
            span_id=getrandbits(64) or 1,
            parent_span_id=parent,
            name="feedback",
            start_ns=now,
            end_ns=now,
            attributes=span_attributes,
            kind=KIND_INTERNAL,
            events=[EventData(attributes.EVALUATION_RESULT_EVENT, now, evaluation)],
        )
        if pipeline.worker is not None:
            pipeline.worker.submit(span)
    except Exception:  # feedback is never worth breaking the app for
        handle_internal_error("feedback()")


def _ids(trace_id: str, span_id: str | None) -> tuple[int, int]:
    trace = int(trace_id, 16)
    parent = int(span_id, 16) if span_id else 0
    if not 0 < trace < 1 << 128 or not 0 <= parent < 1 << 64:
        raise ValueError(f"not a trace/span id: {trace_id!r} / {span_id!r}")
    return trace, parent
