"""Groups stored alarms into incidents, and acknowledges them or accepts their regime.

:class:`IncidentTracker` is a store stage of the pipeline: after a batch is stored, its
alarms join incidents (:mod:`.grouping`) and the incidents that changed are written.
Acknowledging marks an incident as handled by someone; accepting its regime as the
baseline closes it and starts its detector-keys afresh (:mod:`.baseline`). Each action is
kept with who and when.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from watchkeeper.collector.incidents import IncidentClosedError, IncidentNotFoundError
from watchkeeper.collector.incidents.baseline import BaselineResets
from watchkeeper.collector.incidents.grouping import (
    ACTIVE,
    WINDOW_S,
    Incident,
    IncidentGrouper,
    Member,
    member_of,
)
from watchkeeper.collector.pipeline import PreparedBatch
from watchkeeper.collector.store.incidents import IncidentStore

#: What a person may do to an active incident: action -> the state it leaves.
ACTIONS: Final = {"ack": "acknowledged", "accept-baseline": "accepted"}
DAY_MS = 86_400_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def to_row(incident: Incident, version: int) -> dict[str, Any]:
    """The stored row of an incident."""
    members = incident.ordered()
    return {
        "IncidentId": incident.incident_id, "ServiceName": incident.service,
        "Route": incident.route, "OpenedMs": incident.opened_ms,
        "LastAlarmMs": incident.last_alarm_ms, "State": incident.state,
        "StateBy": incident.state_by, "StateMs": incident.state_ms,
        "Detectors": [m.detector for m in members], "DetectorKeys": [m.key for m in members],
        "SpanIds": [m.span_id for m in members], "Effects": [_stored(m.effect_sd) for m in members],
        "Severities": [m.severity for m in members], "Messages": [m.message for m in members],
        "Version": version,
    }  # fmt: skip


def _stored(size: float) -> float | None:
    """NULL for a size that is unknown (NaN)."""
    return size if math.isfinite(size) else None


def _size(stored: Any) -> float:
    return math.nan if stored is None else float(stored)


def from_row(row: Mapping[str, Any]) -> Incident:
    """An incident from its stored row."""
    members = [
        Member(d, k, s, int(row["LastAlarmMs"]), _size(e), str(v), str(m))
        for d, k, s, e, v, m in zip(
            row["Detectors"], row["DetectorKeys"], row["SpanIds"], row["Effects"],
            row["Severities"], row["Messages"], strict=True,
        )
    ]  # fmt: skip
    return Incident(
        str(row["IncidentId"]), str(row["ServiceName"]), str(row["Route"]),
        int(row["OpenedMs"]), int(row["LastAlarmMs"]), str(row["State"]),
        str(row["StateBy"]), int(row["StateMs"]), members,
    )  # fmt: skip


class IncidentTracker:
    """The incidents of one collector: grown by its batches, acted on through the API."""

    def __init__(
        self,
        store: IncidentStore,
        resets: BaselineResets,
        window_s: float = WINDOW_S,
        away: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.store = store
        self.resets = resets
        self.window_s = window_s
        #: ``(detector, key) -> still away from its reference``; None: resolve on quiet.
        self.away = away
        self.grouper = IncidentGrouper(window_s)
        self._lock = threading.Lock()
        self._version = 0

    def _next_version(self) -> int:
        self._version = max(self._version + 1, time.time_ns())
        return self._version

    def resume(self) -> int:
        """Hold the stored incidents still active (after a restart); how many."""
        now = _now_ms()
        held = 0
        for row in self.store.since(now - DAY_MS):
            incident = self.count_away(from_row(row))
            if incident.status(now, self.window_s) in ACTIVE:
                self.grouper.resume(incident)
                held += 1
        return held

    def __call__(self, prepared: PreparedBatch) -> None:
        """A store stage: group the stored batch's alarms."""
        if prepared.batch.alarms:
            self.observe(prepared.batch.alarms)

    def observe(self, alarms: list[dict[str, Any]]) -> list[Incident]:
        """Let alarm rows join incidents; write and return the incidents that changed."""
        with self._lock:
            for incident in self.grouper.active.values():
                self.count_away(incident)  # a quiet incident still away takes new alarms
            changed = self.grouper.add(member_of(row) for row in alarms)
            self.store.save([to_row(i, self._next_version()) for i in changed])
        return changed

    def act(self, incident_id: str, action: str, actor: str, comment: str = "") -> Incident:
        """Acknowledge an active incident or accept its regime as the baseline."""
        state = ACTIONS.get(action)
        if state is None:
            raise IncidentNotFoundError(f"no action {action!r}: use {', '.join(ACTIONS)}")
        now = _now_ms()
        with self._lock:
            incident = self.count_away(self._find(incident_id))
            status = incident.status(now, self.window_s)
            if status not in ACTIVE:
                raise IncidentClosedError(f"incident {incident_id} is {status}")
            incident.state, incident.state_by, incident.state_ms = state, actor, now
            self.store.save([to_row(incident, self._next_version())])
            self.store.record_action(
                incident_id, actor=actor, action=action, at_ms=now, detail=comment[:2000]
            )
        if state == "accepted":
            self.resets.request(incident.detector_keys())
        return incident

    def _find(self, incident_id: str) -> Incident:
        for incident in self.grouper.active.values():
            if incident.incident_id == incident_id:
                return incident
        row = self.store.get(incident_id)
        if row is None:
            raise IncidentNotFoundError(f"no incident {incident_id!r}")
        return from_row(row)

    def listed(self, since_ms: int, state: str = "", limit: int = 200) -> list[dict[str, Any]]:
        """Incidents opened since ``since_ms`` as the API shows them, newest first."""
        now = _now_ms()
        out = [self.view(from_row(row), now) for row in self.store.since(since_ms, limit)]
        return [i for i in out if not state or i["state"] == state]

    def detail(self, incident_id: str) -> dict[str, Any]:
        """One incident with its alarms and every action on it."""
        row = self.store.get(incident_id)
        if row is None:
            raise IncidentNotFoundError(f"no incident {incident_id!r}")
        view = self.view(from_row(row), _now_ms())
        view["actions"] = [
            {"at_ms": int(a["AtMs"]), "actor": a["Actor"], "action": a["Action"],
             "comment": a["Detail"]}
            for a in self.store.actions(incident_id)
        ]  # fmt: skip
        return view

    def count_away(self, incident: Incident) -> Incident:
        """Set how many of the incident's detector-keys are still away; returns it."""
        if self.away is not None and incident.state in ACTIVE:
            away = self.away
            incident.away = sum(away(d, k) for d, k in incident.detector_keys())
        return incident

    def view(self, incident: Incident, now_ms: int) -> dict[str, Any]:
        """An incident as JSON data: its alarms biggest effect first."""
        self.count_away(incident)
        return {
            "id": incident.incident_id, "service": incident.service, "route": incident.route,
            "opened_ms": incident.opened_ms, "last_alarm_ms": incident.last_alarm_ms,
            "state": incident.status(now_ms, self.window_s), "state_by": incident.state_by,
            "keys_away": incident.away,
            "state_ms": incident.state_ms if incident.state_by else None,
            "detectors": list(dict.fromkeys(m.detector for m in incident.members)),
            "alarms": [
                {"detector": m.detector, "key": m.key, "span_id": m.span_id,
                 "effect_sd": m.effect_sd if math.isfinite(m.effect_sd) else None,
                 "severity": m.severity, "message": m.message}
                for m in incident.ordered()
            ],
        }  # fmt: skip
