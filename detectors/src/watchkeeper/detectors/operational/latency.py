"""Drift in latency."""

from __future__ import annotations

from collections.abc import Sequence

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.descriptor_drift import DescriptorDrift


class LatencyDrift(DescriptorDrift):
    """Detects calls getting slower (successful calls only; errors have their own detector).

    The score ``latency`` is signed: how many standard deviations slower (positive) or
    faster (negative) than usual for the key this call was.

    Examples
    --------
    >>> import random
    >>> from watchkeeper.detectors import Call
    >>> rng = random.Random(2)
    >>> detector = LatencyDrift()
    >>> for i in range(3000):
    ...     slow = 1.3 if i >= 2000 else 1.0  # the provider got 30% slower
    ...     detector.update(Call("q", duration_s=rng.lognormvariate(0, 0.5) * slow))
    ...     if detector.drift_detected:
    ...         print(i, detector.alarm_reason)
    2088 latency rose
    """

    name = "latency_drift"
    score_name = "latency"
    direction = "up"
    signed = True
    describes = "latency"
    effect_kind = "latency"
    unit = "s"

    def descriptor(self, call: CallView) -> float | None:
        """Seconds, for calls that succeeded and were timed."""
        if call.is_error or call.duration_s <= 0.0:
            return None
        return float(call.duration_s)

    def descriptors(self, calls: Sequence[CallView]) -> list[float | None]:
        """``descriptor`` of each call, without a method call per call."""
        failed = columns_of(calls).failed
        return [
            None if error or (seconds := call.duration_s) <= 0.0 else float(seconds)
            for call, error in zip(calls, failed, strict=True)
        ]
