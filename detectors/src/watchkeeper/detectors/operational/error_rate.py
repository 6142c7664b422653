"""Drift in the error rate."""

from __future__ import annotations

from collections.abc import Sequence

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.rate_drift import RateDrift


class ErrorRateDrift(RateDrift):
    """Detects a rise in the share of calls that fail. Score ``error``: 1 for a failed call.

    Examples
    --------
    >>> import random
    >>> from watchkeeper.detectors import Call
    >>> rng = random.Random(4)
    >>> detector = ErrorRateDrift()
    >>> for i in range(20_000):
    ...     failing = rng.random() < (0.01 if i < 10_000 else 0.03)
    ...     detector.update(Call("q", is_error=failing))
    ...     if detector.drift_detected:
    ...         print(i, detector.alarm_reason)
    10362 error rate rose
    """

    name = "error_rate_drift"
    score_name = "error"
    describes = "error rate"

    def event(self, call: CallView) -> float | None:
        """1.0 for a failed call, else 0.0."""
        return 1.0 if call.is_error else 0.0

    def events(self, calls: Sequence[CallView]) -> list[float | None]:
        """``event`` of each call, from the run's shared column of failures."""
        return [1.0 if error else 0.0 for error in columns_of(calls).failed]
