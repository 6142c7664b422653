"""Reads and writes of incidents and their audit trail (migration ``0013_incidents.sql``).

An incident row is written again, with a higher ``Version``, whenever it grows or changes
state; reads take the newest row of each (``FINAL``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from watchkeeper.collector.store.store import Store

#: The newest row of each incident opened at or after a time, newest first.
INCIDENTS_SINCE: Final = """
SELECT IncidentId, ServiceName, Route, toUnixTimestamp64Milli(OpenedAt) AS OpenedMs,
       toUnixTimestamp64Milli(LastAlarmAt) AS LastAlarmMs, State, StateBy,
       toUnixTimestamp64Milli(StateAt) AS StateMs, Detectors, DetectorKeys, SpanIds, Effects,
       Severities, Messages, Version
FROM {db}.incidents FINAL
WHERE OpenedAt >= fromUnixTimestamp64Milli({since_ms:Int64})
ORDER BY OpenedAt DESC, IncidentId
LIMIT {limit:UInt32}
"""

INCIDENT: Final = """
SELECT IncidentId, ServiceName, Route, toUnixTimestamp64Milli(OpenedAt) AS OpenedMs,
       toUnixTimestamp64Milli(LastAlarmAt) AS LastAlarmMs, State, StateBy,
       toUnixTimestamp64Milli(StateAt) AS StateMs, Detectors, DetectorKeys, SpanIds, Effects,
       Severities, Messages, Version
FROM {db}.incidents FINAL
WHERE IncidentId = {incident_id:String}
"""

ACTIONS: Final = """
SELECT toUnixTimestamp64Milli(At) AS AtMs, Actor, Action, Detail
FROM {db}.incident_actions
WHERE IncidentId = {incident_id:String}
ORDER BY At
"""


def _ms(ms: int) -> str:
    """Epoch milliseconds as a ``DateTime64(3)`` value (seconds.millis, time-zone free)."""
    return f"{ms // 1000}.{ms % 1000:03d}"


class IncidentStore:
    """Incidents and who acted on them, over a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write incident rows (``OpenedMs``, ``LastAlarmMs``, ``StateMs`` in epoch ms)."""
        out = []
        for row in rows:
            record = {k: v for k, v in row.items() if not k.endswith("Ms")}
            record["OpenedAt"] = _ms(int(row["OpenedMs"]))
            record["LastAlarmAt"] = _ms(int(row["LastAlarmMs"]))
            # No state change yet: the opening time (ClickHouse reads a 0 as no date).
            record["StateAt"] = _ms(int(row["StateMs"]) or int(row["OpenedMs"]))
            out.append(record)
        if out:
            self.store.backend.insert_rows(f"{self.store.database}.incidents", out)

    def since(self, since_ms: int, limit: int = 500) -> list[dict[str, Any]]:
        """Incidents opened at or after ``since_ms``, newest first."""
        return self.store.select(INCIDENTS_SINCE, since_ms=since_ms, limit=limit)

    def get(self, incident_id: str) -> dict[str, Any] | None:
        """One incident; None when there is none."""
        rows = self.store.select(INCIDENT, incident_id=incident_id)
        return rows[0] if rows else None

    def record_action(
        self, incident_id: str, *, actor: str, action: str, at_ms: int, detail: str = ""
    ) -> None:
        """Keep who did what to an incident, and when."""
        row = {"At": _ms(at_ms), "IncidentId": incident_id, "Actor": actor, "Action": action,
               "Detail": detail}  # fmt: skip
        self.store.backend.insert_rows(f"{self.store.database}.incident_actions", [row])

    def actions(self, incident_id: str) -> list[dict[str, Any]]:
        """Every action on an incident, oldest first."""
        return self.store.select(ACTIONS, incident_id=incident_id)
