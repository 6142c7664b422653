"""Drift in the rate of empty or truncated answers."""

from __future__ import annotations

from collections.abc import Sequence

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.rate_drift import RateDrift

#: Finish reasons meaning "the token limit cut the answer", across providers.
TRUNCATED = frozenset({"length", "max_tokens", "max_output_tokens", "token_limit"})


def truncated(finish_reasons: Sequence[str]) -> bool:
    """Whether a finish reason says the token limit cut the answer."""
    return not TRUNCATED.isdisjoint(map(str.lower, finish_reasons))


class BadOutputRateDrift(RateDrift):
    """Detects a rise in answers that are empty or cut off by the token limit.

    Score ``bad_output``: 1 when the answer is empty (only whitespace) or a finish reason
    says the limit was hit (``length``, ``max_tokens`` ...). Failed calls are skipped.

    >>> from watchkeeper.detectors import Call
    >>> detector = BadOutputRateDrift()
    >>> detector.update(Call("summarise", "The report says", finish_reasons=["length"]))
    >>> detector.scores
    {'bad_output': 1.0}
    """

    name = "bad_output_rate_drift"
    score_name = "bad_output"
    describes = "rate of empty or truncated answers"

    def event(self, call: CallView) -> float | None:
        """1.0 for an empty or truncated answer, 0.0 otherwise, None for a failed call."""
        return bad_output(call.is_error, call.output_text or "", call.finish_reasons)

    def events(self, calls: Sequence[CallView]) -> list[float | None]:
        """``event`` of each call, from the run's shared columns of failures and answers."""
        columns = columns_of(calls)
        return [
            bad_output(error, text, call.finish_reasons)
            for call, error, text in zip(calls, columns.failed, columns.outputs, strict=True)
        ]


def bad_output(failed: bool, answer: str, finish_reasons: Sequence[str]) -> float | None:
    """The rule of ``bad_output``: None for a failed call, 1.0 for an empty (whitespace)
    or truncated answer, else 0.0."""
    if failed:
        return None
    if not answer.strip():
        return 1.0
    return 1.0 if truncated(finish_reasons) else 0.0
