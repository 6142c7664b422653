"""Drift in the rate of empty or truncated answers."""

from __future__ import annotations

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.rate_drift import RateDrift

#: Finish reasons meaning "the token limit cut the answer", across providers.
TRUNCATED = frozenset({"length", "max_tokens", "max_output_tokens", "token_limit"})


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
        if call.is_error:
            return None
        if not (call.output_text or "").strip():
            return 1.0
        for reason in call.finish_reasons:
            if reason.lower() in TRUNCATED:
                return 1.0
        return 0.0
