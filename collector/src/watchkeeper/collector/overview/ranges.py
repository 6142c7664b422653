"""Time ranges of the overview, alarms and calls pages: presets, custom ranges, buckets.

>>> r = TimeRange.parse("1h", now_ms=7_200_000)
>>> (r.from_s, r.to_s, r.step_s, r.label)
(3600, 7200, 60, 'last hour')
>>> TimeRange.parse("", start="1970-01-01T01:00:00Z", end="1970-01-02T01:00:00Z").step_s
600
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from watchkeeper.collector.evalset import parse_time

#: The picker's presets: name -> (seconds, label).
PRESETS: Final = {
    "1h": (3600, "last hour"),
    "6h": (6 * 3600, "last 6 hours"),
    "24h": (86400, "last day"),
    "7d": (7 * 86400, "last week"),
    "30d": (30 * 86400, "last 30 days"),
}
DEFAULT_PRESET: Final = "1h"
#: Bucket sizes the charts use; the smallest giving at most ``MAX_POINTS`` points wins.
STEPS_S: Final = (60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
MAX_POINTS: Final = 180


class RangeError(ValueError):
    """A time range that cannot be read; the message says what to send instead."""


@dataclass(frozen=True)
class TimeRange:
    """``[from_s, to_s)`` in epoch seconds, bucketed by ``step_s`` for charts."""

    from_s: int
    to_s: int
    step_s: int
    #: the preset's name, or "" for a custom range
    preset: str
    label: str

    @property
    def from_ns(self) -> int:
        """The start in epoch nanoseconds."""
        return self.from_s * 1_000_000_000

    @property
    def to_ns(self) -> int:
        """The end in epoch nanoseconds."""
        return self.to_s * 1_000_000_000

    @classmethod
    def parse(
        cls,
        preset: str | None,
        *,
        start: str | None = None,
        end: str | None = None,
        now_ms: int | None = None,
    ) -> TimeRange:
        """A preset (``1h``, ``24h``, ``7d`` ...) or, without one, ``start`` to ``end``
        (``2025-01-31T12:00``, ``2h`` ago, epoch seconds; ``end`` defaults to now)."""
        now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        now_s = -(-now_ms // 1000)
        if preset or not start:
            name = preset or DEFAULT_PRESET
            if name not in PRESETS:
                raise RangeError(f"range must be one of {', '.join(PRESETS)} (or give from/to)")
            seconds, label = PRESETS[name]
            return cls(now_s - seconds, now_s, _step(seconds), name, label)
        try:
            from_s = parse_time(start, now_ms) // 1000
            to_s = -(-parse_time(end, now_ms) // 1000) if end else now_s
        except ValueError as exc:
            raise RangeError(str(exc)) from None
        if to_s <= from_s:
            raise RangeError("the range ends before it starts: 'to' must be after 'from'")
        return cls(from_s, to_s, _step(to_s - from_s), "", "custom range")


def _step(seconds: int) -> int:
    for step in STEPS_S:
        if seconds / step <= MAX_POINTS:
            return step
    return STEPS_S[-1] * -(-seconds // (STEPS_S[-1] * MAX_POINTS))
