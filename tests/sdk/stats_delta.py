"""Reading the SDK's process-wide counters relative to the start of a test."""

from __future__ import annotations

from watchkeeper.sdk import stats


class StatsDelta:
    """What ``stats()`` counted since this object was created."""

    def __init__(self) -> None:
        self._before = stats()

    def __getitem__(self, key: str) -> int:
        return stats()[key] - self._before[key]
