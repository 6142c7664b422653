"""Any river drift detector (ADWIN, PageHinkley, KSWIN...) as a detector's change test.

river is an optional extra (``pip install watchkeeper-detectors[river]``); this module
imports nothing of it: it drives whatever object has river's ``DriftDetector`` shape
(``update(x)``, ``drift_detected``, ``clone()``).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Protocol

#: Values the side of a change is judged on: the mean of the last ones against the mean
#: of all since the last alarm.
RECENT = 30


class ChangeTest(Protocol):
    """What a detector asks of a change test plugged into it (``SelfStartingCusum``, the
    default, has the same shape but for ``fresh``)."""

    @property
    def drift_detected(self) -> bool:
        """True when the last value completed a detection."""

    @property
    def change(self) -> str:
        """``up`` or ``down``: the side of the last detection."""

    def update(self, x: float, stratum: int = 0) -> None:
        """Add one value (of a stratum: values compared only with their own)."""

    def fresh(self) -> ChangeTest:
        """An untrained copy with the same parameters (one per detector and key)."""


class RiverChangeTest:
    """A river ``DriftDetector`` behind the change-test interface the detectors use.

    river's detectors are two-sided and do not say which way a stream moved; this reads
    the side from the mean of the last ``RECENT`` values against the mean since the last
    alarm, and with ``direction="down"`` (or ``"up"``) drops detections of the other
    side. Each stratum gets its own clone of the river detector (``per_stratum=True``) or
    all values go to one. NaN and infinite values are ignored. Unlike the default
    ``SelfStartingCusum``, the false-alarm rate is whatever the river detector's own
    parameters give on the signal (see docs/detectors.md: when to prefer which).

    ``fresh()`` gives an untrained copy: a detector keeps the one it is given as a
    template, so its per-key clones each learn their own.

    >>> from river.drift import ADWIN
    >>> test = RiverChangeTest(ADWIN(), direction="down")
    >>> found = []
    >>> for i in range(2000):
    ...     test.update(1.0 if i % 2 else 0.9 - (0.5 if i >= 1000 else 0.0))
    ...     if test.drift_detected:
    ...         found.append((i, test.change))
    >>> found
    [(1055, 'down')]
    """

    def __init__(
        self, detector: Any, *, direction: str = "both", per_stratum: bool = False
    ) -> None:
        if direction not in ("both", "up", "down"):
            raise ValueError(f"direction must be both, up or down, got {direction!r}")
        if not callable(getattr(detector, "update", None)) or not hasattr(detector, "clone"):
            raise TypeError(f"a river DriftDetector is needed (update, clone), got {detector!r}")
        self.detector = detector
        self.direction = direction
        self.per_stratum = per_stratum
        self.drift_detected = False
        self.change = ""
        #: Alarms raised so far (on the chosen side).
        self.alarms = 0
        self._strata: dict[int, Any] = {}
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._sum = 0.0
        self._count = 0

    def fresh(self) -> RiverChangeTest:
        """An untrained copy with the same river detector parameters."""
        return RiverChangeTest(
            self.detector.clone(), direction=self.direction, per_stratum=self.per_stratum
        )

    def update(self, x: float, stratum: int = 0) -> None:
        """Feed ``x`` to the river detector of its stratum; say whether it alarmed."""
        self.drift_detected = False
        if not math.isfinite(x):
            return
        key = stratum if self.per_stratum else 0
        river = self._strata.get(key)
        if river is None:
            river = self._strata[key] = self.detector.clone()
        self._recent.append(x)
        self._sum += x
        self._count += 1
        river.update(x)
        if not river.drift_detected:
            return
        recent = sum(self._recent) / len(self._recent)
        # ADWIN keeps only the window after the change: its mean is the new regime's, a
        # steadier read than the last few values of a sparse (mostly 0) signal.
        estimate = getattr(river, "estimation", None)
        if isinstance(estimate, float) and math.isfinite(estimate) and river.width:
            recent = estimate
        side = "up" if recent > self._sum / self._count else "down"
        self._sum, self._count = 0.0, 0
        self._recent.clear()
        if self.direction in ("both", side):
            self.change = side
            self.drift_detected = True
            self.alarms += 1

    def __repr__(self) -> str:
        return (
            f"RiverChangeTest({self.detector!r}, direction={self.direction!r}, "
            f"per_stratum={self.per_stratum})"
        )
