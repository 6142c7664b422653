"""Drift in the length of inputs."""

from __future__ import annotations

from collections.abc import Sequence

from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.descriptor_drift import DescriptorDrift


class InputLengthDrift(DescriptorDrift):
    """Detects a change in the distribution of input lengths (characters).

    Users pasting logs or documents, a client truncating prompts, a template change: all
    show first as a shift in length. The per-call score is ``|z|``, how unusual this
    input's length is for the key, in standard deviations; see
    :class:`~watchkeeper.detectors.descriptor_drift.DescriptorDrift` for the parameters and
    how the alarm threshold follows from ``target_arl``.

    Examples
    --------
    >>> import random
    >>> from watchkeeper.detectors import Call
    >>> rng = random.Random(7)
    >>> detector = InputLengthDrift()
    >>> alarms = []
    >>> for i in range(4000):
    ...     n = rng.randint(20, 60) if i < 2000 else rng.randint(40, 80)  # longer prompts
    ...     detector.update(Call("x" * n))
    ...     if detector.drift_detected:
    ...         alarms.append((i, detector.alarm_reason))
    >>> alarms
    [(2016, 'input length rose')]
    """

    name = "input_length_drift"
    score_name = "input_drift"
    describes = "input length"
    unit = "chars"

    def descriptor(self, call: CallView) -> float | None:
        """Characters in the input."""
        return float(len(call.input_text or ""))

    def descriptors(self, calls: Sequence[CallView]) -> list[float | None]:
        """``descriptor`` of each call, without a method call per call."""
        return [float(len(text)) for text in columns_of(calls).inputs]
