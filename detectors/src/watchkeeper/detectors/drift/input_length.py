"""Drift in the length of inputs, with river's ADWIN on log-length."""

from __future__ import annotations

import math

from river import drift

from watchkeeper.detectors.base import CallView, Detector


class InputLengthDrift(Detector):
    """Detects a change in the distribution of input lengths.

    The signal is ``log1p(len(input))``: prompt lengths are heavy-tailed, and a log scale
    makes a doubling of typical length the same step whether prompts are short or long.
    ADWIN keeps an adaptive window and signals when two sub-windows differ in mean.

    ``score`` is how unusual the last input's length is: its distance from the window mean
    in standard deviations (0 while fewer than ``warmup`` calls have been seen).

    Parameters
    ----------
    delta
        ADWIN's confidence; smaller means fewer false alarms and slower detection.
    warmup
        Calls seen before scores are reported.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Call:
    ...     input_text: str
    ...     output_text: str = ""
    ...     duration_s: float = 0.0
    ...     is_error: bool = False
    >>> import random
    >>> rng = random.Random(7)
    >>> detector = InputLengthDrift()
    >>> alarms = []
    >>> for i in range(4000):
    ...     n = rng.randint(20, 60) if i < 2000 else rng.randint(200, 600)
    ...     detector.update(Call("x" * n))
    ...     if detector.drift_detected:
    ...         alarms.append(i)
    >>> alarms[0] >= 2000, alarms[0] - 2000 < 100
    (True, True)
    """

    name = "input_length_drift"
    score_name = "input_drift"

    def __init__(self, delta: float = 1e-5, warmup: int = 30) -> None:
        self.delta = delta
        self.warmup = warmup
        self._adwin = drift.ADWIN(delta=delta)
        self._n = 0
        self._score = 0.0
        self._drift = False

    def update(self, call: CallView) -> None:
        """Add one call's input length to the window."""
        x = math.log1p(len(call.input_text or ""))
        if self._n >= self.warmup:
            mean = float(self._adwin.estimation)
            std = math.sqrt(max(float(self._adwin.variance), 1e-12))
            self._score = abs(x - mean) / max(std, 0.05)
        self._n += 1
        self._adwin.update(x)
        self._drift = bool(self._adwin.drift_detected)

    @property
    def score(self) -> float:
        """Standardised distance of the last input's log-length from the window mean."""
        return self._score

    @property
    def drift_detected(self) -> bool:
        """True when ADWIN cut its window on the last update."""
        return self._drift

    def _params(self) -> dict[str, object]:
        return {"delta": self.delta, "warmup": self.warmup}
