"""Alarms of several detectors on one service and route are one incident, biggest effect
first; people acknowledge it or accept its regime as the new baseline (which starts the
detector-keys afresh), through the API with the review roles, audited."""

from __future__ import annotations

import doctest
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.ui.seed import KEY, ROUTE, SERVICE, demo_calls, seed
from watchkeeper.collector.incidents import grouping
from watchkeeper.collector.incidents.baseline import BaselineResets
from watchkeeper.collector.incidents.grouping import IncidentGrouper, alarm
from watchkeeper.collector.incidents.install import install_incidents
from watchkeeper.collector.incidents.tracker import IncidentTracker
from watchkeeper.collector.incidents.ui import incidents_page
from watchkeeper.collector.pipeline import Pipeline
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.review.tokens import Principal, Role, TokenRegistry
from watchkeeper.collector.server import build_app
from watchkeeper.collector.store.incidents import IncidentStore
from watchkeeper.collector.store.store import Store

ROLES = (("ana", "reviewer"), ("vic", "viewer"))


def test_doctests() -> None:
    """The module's example runs as written."""
    assert doctest.testmod(grouping).failed == 0


def test_alarms_group_by_route_and_window() -> None:
    """Alarms on one route within 30 minutes of the last are one incident, however long
    the chain; 30 quiet minutes resolve it and the next alarm opens another; another route
    has its own."""
    grouper = IncidentGrouper(window_s=1800)
    chain = [alarm("latency_drift", "s|/a|m", at * 60_000) for at in (0, 20, 40, 60)]
    (first,) = grouper.add(chain)
    assert (len(first.members), first.status(60 * 60_000 + 1_799_999)) == (4, "open")
    assert first.status(90 * 60_000) == "resolved"
    (later,) = grouper.add([alarm("error_rate_drift", "s|/a|m", 91 * 60_000)])
    (other,) = grouper.add([alarm("error_rate_drift", "s|/b|m", 91 * 60_000)])
    assert len({first.incident_id, later.incident_id, other.incident_id}) == 3


@dataclass
class IncidentApp:
    """The app over the demo's traffic and planted drift, with incidents installed."""

    client: TestClient
    app: FastAPI
    pipeline: Pipeline
    tracker: IncidentTracker
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        """Authorization header of the token named ``who``."""
        return {"authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def incident_app(store: Store) -> Iterator[IncidentApp]:
    """600 demo calls, drifted from the 300th, through a pipeline whose alarms group."""
    pipeline = Pipeline(store, reservoir=ReviewReservoir(size=20, window_s=3600))
    app = build_app(pipeline)
    tracker = install_incidents(app, pipeline)
    seed(pipeline, demo_calls())
    registry = TokenRegistry(store)
    tokens = {name: registry.create(name, role)[0] for name, role in ROLES}
    with TestClient(app) as client:
        yield IncidentApp(client, app, pipeline, tracker, tokens)


def test_the_drift_is_one_incident_biggest_effect_first(incident_app: IncidentApp) -> None:
    """The planted drift trips several detectors on the demo's route: one incident lists
    them all, ordered by the size of their change."""
    got = incident_app.client.get("/api/incidents", headers=incident_app.headers("vic"))
    assert got.status_code == 200
    (incident,) = got.json()["incidents"]
    assert (incident["service"], incident["route"], incident["state"]) == (SERVICE, ROUTE, "open")
    assert len(incident["detectors"]) >= 2
    effects = [abs(a["effect_sd"]) for a in incident["alarms"]]
    assert effects == sorted(effects, reverse=True)
    assert {a["key"] for a in incident["alarms"]} == {KEY}


def test_acting_needs_the_reviewer_role_and_is_audited(incident_app: IncidentApp) -> None:
    """A viewer may not acknowledge (403), nor may anyone without a token (401); a
    reviewer's acknowledgement is kept with who and the comment; an unknown id is 404."""
    client, app = incident_app.client, incident_app
    (incident,) = client.get("/api/incidents", headers=app.headers("vic")).json()["incidents"]
    url = f"/api/incidents/{incident['id']}"
    assert client.post(f"{url}/ack").status_code == 401
    assert client.post(f"{url}/ack", headers=app.headers("vic")).status_code == 403
    done = client.post(f"{url}/ack", headers=app.headers("ana"), json={"comment": "on it"})
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["state_by"]) == ("acknowledged", "ana")
    detail = client.get(url, headers=app.headers("vic")).json()
    assert [(a["actor"], a["action"], a["comment"]) for a in detail["actions"]] == [
        ("ana", "ack", "on it")
    ]
    missing = client.post("/api/incidents/0123456789abcdef/ack", headers=app.headers("ana"))
    assert missing.status_code == 404


def test_accepting_the_baseline_resets_the_detector_keys(incident_app: IncidentApp) -> None:
    """Accepting closes the incident (a second action is 409) and, before the next batch
    is scored, replaces each alarmed detector's instance on the key with a fresh one;
    detectors that did not alarm keep theirs."""
    client, app = incident_app.client, incident_app
    (incident,) = client.get("/api/incidents", headers=app.headers("vic")).json()["incidents"]
    alarmed = set(incident["detectors"])
    before = {k.prototype.name: k.get(KEY) for k in app.pipeline.detect.keyed}
    url = f"/api/incidents/{incident['id']}"
    done = client.post(f"{url}/accept-baseline", headers=app.headers("ana"))
    assert done.json()["state"] == "accepted"
    assert client.post(f"{url}/ack", headers=app.headers("ana")).status_code == 409
    seed(app.pipeline, demo_calls(20, drift_after=0, seed=8))
    after = {k.prototype.name: k.get(KEY) for k in app.pipeline.detect.keyed}
    assert {name for name in before if after[name] is not before[name]} == alarmed
    assert app.tracker.resets.applied == len(alarmed)


def test_a_restarted_collector_holds_its_open_incidents(incident_app: IncidentApp) -> None:
    """A new tracker over the same store resumes the open incident, so the next alarm on
    the route joins it instead of opening another."""
    restarted = IncidentTracker(incident_app.tracker.store, incident_app.tracker.resets)
    assert restarted.resume() == 1
    (held,) = restarted.grouper.active.values()
    assert (held.service, held.route) == (SERVICE, ROUTE)


def test_an_incident_stays_open_while_its_keys_are_away(store: Store) -> None:
    """Thirty quiet minutes resolve an incident only once no detector-key of it is still
    away from its reference; until then a later alarm joins it."""
    away = {"latency_drift": True}
    tracker = IncidentTracker(
        IncidentStore(store), BaselineResets(lambda: Pipeline(store, detectors=[]).detect),
        away=lambda detector, key: away.get(detector, False),
    )  # fmt: skip
    start = time.time_ns() // 1_000_000 - 3 * 3_600_000
    (incident,) = tracker.observe([_row("latency_drift", start), _row("error_rate_drift", start)])
    (listed,) = tracker.listed(start - 1)
    assert (listed["state"], listed["keys_away"]) == ("open", 1)
    (joined,) = tracker.observe([_row("token_usage_drift", start + 3_600_000)])
    assert joined.incident_id == incident.incident_id
    away["latency_drift"] = False
    (listed,) = tracker.listed(start - 1)
    assert (listed["state"], listed["keys_away"]) == ("resolved", 0)


def _row(detector: str, at_ms: int) -> dict[str, object]:
    return {"Timestamp": f"{at_ms // 1000}.{at_ms % 1000:03d}000000", "Detector": detector,
            "DetectorKey": KEY, "SpanId": f"{at_ms:016x}", "Score": 9.0, "Message": "",
            "effect_sd": 3.0, "severity": "page"}  # fmt: skip


def test_an_alarm_of_unknown_size_is_listed_without_one(store: Store) -> None:
    """An alarm whose size in SD is NaN (a step between two constants) is listed after the
    sized ones with no size (None in the API, NULL in the stored incident), never a
    made-up one; the page says "n/a" for it."""
    tracker = IncidentTracker(
        IncidentStore(store), BaselineResets(lambda: Pipeline(store, detectors=[]).detect)
    )
    start = time.time_ns() // 1_000_000 - 600_000
    unknown = {**_row("consistency_drift", start), "effect_sd": None}
    tracker.observe([unknown, _row("latency_drift", start + 1)])
    (listed,) = tracker.listed(start - 1)
    assert [(a["detector"], a["effect_sd"]) for a in listed["alarms"]] == [
        ("latency_drift", 3.0),
        ("consistency_drift", None),
    ]
    (stored,) = store.backend.select(f"SELECT Effects FROM {store.database}.incidents FINAL")
    assert stored["Effects"] == [3.0, None]
    viewer = Principal("t1", "ann", Role.VIEWER)
    assert "consistency_drift</a> n/a sd" in incidents_page([listed], viewer, "csrf")
