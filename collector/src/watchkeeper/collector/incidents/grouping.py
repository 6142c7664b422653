"""What an incident is, and how alarms join one.

An alarm joins the incident of its service and route when that incident is still active
(its last alarm within ``window_s``, not accepted); otherwise it opens a new one. So one
change that trips five detectors on a route is one incident with five alarms, listed by
the size of their effect (standard deviations of the change, biggest first). An incident
is active until ``window_s`` pass without an alarm and no detector of its keys is still
away from its reference (:attr:`Incident.away`), or until someone accepts its regime as
the baseline; acknowledging keeps it active but says someone is on it.

>>> grouper = IncidentGrouper(window_s=1800)
>>> rows = [alarm("latency_drift", "shop|/chat|gpt", 1_000, effect_sd=2.0),
...         alarm("refusal_rate_drift", "shop|/chat|gpt", 61_000, effect_sd=6.5),
...         alarm("latency_drift", "shop|/faq|gpt", 62_000, effect_sd=1.0)]
>>> [(i.route, [m.detector for m in i.ordered()]) for i in grouper.add(rows)]
[('/chat', ['refusal_rate_drift', 'latency_drift']), ('/faq', ['latency_drift'])]
>>> grouper.add([alarm("error_rate_drift", "shop|/chat|gpt", 3_000_000)])[0].opened_ms
3000000
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Alarms within this many seconds of an incident's last one join it.
WINDOW_S = 1800.0
#: Alarms kept per incident (the biggest effects); the rest are counted.
MAX_MEMBERS = 200
ACTIVE = ("open", "acknowledged")


@dataclass(frozen=True)
class Member:
    """One alarm of an incident."""

    detector: str
    key: str
    span_id: str
    at_ms: int
    #: The change in standard deviations (0 when the alarm has no size; NaN when it has one
    #: but no spread to measure it in: a step between two constant levels).
    effect_sd: float
    severity: str
    message: str


def alarm(
    detector: str, key: str, at_ms: int, *, effect_sd: float = 0.0, span_id: str = ""
) -> Member:
    """A member from its parts (tests, examples)."""
    return Member(detector, key, span_id or f"{at_ms:016x}", at_ms, effect_sd, "page", "")


def member_of(row: Mapping[str, Any]) -> Member:
    """A member from an alarm row as the pipeline stores it."""
    stamp = str(row["Timestamp"])
    seconds, _, fraction = stamp.partition(".")
    at_ms = int(seconds) * 1000 + int((fraction + "000")[:3]) if seconds.isdigit() else 0
    stored = row.get("effect_sd", 0.0)
    effect = math.nan if stored is None else float(stored)
    return Member(
        detector=str(row["Detector"]),
        key=str(row["DetectorKey"]),
        span_id=str(row["SpanId"]),
        at_ms=at_ms,
        effect_sd=effect if math.isfinite(effect) else math.nan,
        severity=str(row.get("severity") or "page"),
        message=str(row.get("Message", "")),
    )


def service_route(key: str) -> tuple[str, str]:
    """``(service, route)`` of a detector key ``service|route|model``."""
    parts = key.split("|")
    return parts[0], parts[1] if len(parts) > 1 else ""


@dataclass
class Incident:
    """Alarms on one service and route close in time."""

    incident_id: str
    service: str
    route: str
    opened_ms: int
    last_alarm_ms: int
    state: str = "open"
    state_by: str = ""
    state_ms: int = 0
    members: list[Member] = field(default_factory=list)
    #: Detector-keys of this incident still away from their reference (when known).
    away: int = 0

    def ordered(self) -> list[Member]:
        """The alarms, biggest effect first, those of unknown size after (then earliest)."""
        return sorted(self.members, key=_by_size)

    def detector_keys(self) -> list[tuple[str, str]]:
        """``(detector, key)`` pairs of its alarms, each once."""
        return list(dict.fromkeys((m.detector, m.key) for m in self.members))

    def status(self, now_ms: int, window_s: float = WINDOW_S) -> str:
        """``open``/``acknowledged`` while active, then ``resolved``; or ``accepted``."""
        quiet = now_ms - self.last_alarm_ms >= window_s * 1000
        if self.state in ACTIVE and quiet and self.away == 0:
            return "resolved"
        return self.state

    def add(self, member: Member) -> None:
        """Add an alarm, keeping the biggest effects when there are too many."""
        self.members.append(member)
        self.last_alarm_ms = max(self.last_alarm_ms, member.at_ms)
        if len(self.members) > MAX_MEMBERS:
            self.members = self.ordered()[:MAX_MEMBERS]


def incident_id(service: str, route: str, opened_ms: int) -> str:
    """A short stable id from what opened the incident."""
    digest = hashlib.sha256(f"{service}\x00{route}\x00{opened_ms}".encode()).hexdigest()
    return digest[:16]


class IncidentGrouper:
    """The active incident of each service and route, grown by alarms."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self.active: dict[tuple[str, str], Incident] = {}

    def add(self, members: Iterable[Member]) -> list[Incident]:
        """Group alarms (in time order) into incidents; returns those that changed."""
        changed: dict[str, Incident] = {}
        for member in sorted(members, key=lambda m: m.at_ms):
            where = service_route(member.key)
            incident = self.active.get(where)
            if incident is None or incident.status(member.at_ms, self.window_s) not in ACTIVE:
                opened = member.at_ms
                incident = Incident(incident_id(*where, opened), *where, opened, opened)
                self.active[where] = incident
            incident.add(member)
            changed[incident.incident_id] = incident
        return list(changed.values())

    def resume(self, incident: Incident) -> None:
        """Hold a stored incident as active again (at start)."""
        where = (incident.service, incident.route)
        held = self.active.get(where)
        if held is None or held.opened_ms < incident.opened_ms:
            self.active[where] = incident


def _by_size(member: Member) -> tuple[float, int]:
    size = abs(member.effect_sd)
    return (-size if math.isfinite(size) else 0.0, member.at_ms)
