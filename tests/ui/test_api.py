"""/api/overview, /api/alarms and /api/calls over seeded traffic with a planted drift."""

from __future__ import annotations

from statistics import mean

from tests.ui.conftest import SeededApp
from tests.ui.seed import KEY
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.store import WriteBatch


def _consistency(overview: dict) -> list[tuple[int, float]]:  # type: ignore[type-arg]
    score = next(s for s in overview["scores"] if s["name"] == "consistency_drift.consistency")
    values = score["series"][KEY]
    return [(t, v) for t, v in zip(overview["times"], values, strict=True) if v is not None]


def test_overview_shows_traffic_and_the_score_falling_after_the_drift(
    seeded_app: SeededApp,
) -> None:
    """The overview counts every call once, with its errors, and the consistency score
    is lower after the drift than before, with the consistency alarm in the range."""
    response = seeded_app.client.get("/api/overview?range=6h", headers=seeded_app.headers("vic"))
    assert response.status_code == 200, response.text
    overview = response.json()
    (row,) = overview["keys"]
    assert row["key"] == KEY
    assert row["stored"] == 600
    assert row["errors"] == sum(c.status_code == "ERROR" for c in seeded_app.seeded.calls)
    assert row["latency_p95_ms"] > row["latency_p50_ms"] > 0
    drift_s = seeded_app.seeded.drift_starts_ns // 1_000_000_000
    points = _consistency(overview)
    before = [v for t, v in points if t < drift_s - 600]
    after = [v for t, v in points if t > drift_s + 900]
    assert before
    assert after
    assert mean(after) < mean(before) - 0.2
    detectors = {a["detector"] for a in overview["alarms"]}
    assert "consistency_drift" in detectors
    assert overview["choices"]["services"] == ["lumen-support-bot"]


def test_alarm_lists_the_flagged_call_first_then_the_worst_around_it(
    seeded_app: SeededApp,
) -> None:
    """An alarm carries its reason in words; its page lists the flagged call, then calls
    of the same key ordered worst first by the alarm's score."""
    client, headers = seeded_app.client, seeded_app.headers("vic")
    alarms = client.get("/api/alarms", headers=headers).json()
    alarm = next(a for a in alarms if a["detector"] == "consistency_drift")
    assert alarm["reason"].startswith("answers to equivalent inputs became less consistent")
    assert alarm["state"] == "open"
    detail = client.get(f"/api/alarms/{alarm['id']}", headers=headers).json()
    assert detail["flagged_call"]["span_id"] == alarm["span_id"]
    assert detail["score_name"] == "consistency_drift.consistency"
    values = [c["scores"]["consistency_drift.consistency"] for c in detail["calls_around"]]
    assert values == sorted(values)  # lower is worse for consistency
    assert 0 < len(values) <= 20


def test_acknowledge_and_resolve_are_kept_with_who_and_when(seeded_app: SeededApp) -> None:
    """A reviewer acknowledges then resolves an alarm; its state follows, and both
    actions stay in its history with the reviewer's name."""
    client = seeded_app.client
    alarm = client.get("/api/alarms", headers=seeded_app.headers("vic")).json()[0]
    path = f"/api/alarms/{alarm['id']}/actions"
    for action in ("acknowledge", "resolve"):
        response = client.post(
            path, json={"action": action, "comment": "looking"}, headers=seeded_app.headers("ana")
        )
        assert response.status_code == 201, response.text
    detail = client.get(f"/api/alarms/{alarm['id']}", headers=seeded_app.headers("vic")).json()
    assert detail["state"] == "resolved"
    assert detail["state_by"] == "ana"
    assert [(a["action"], a["by"]) for a in detail["actions"]] == [
        ("acknowledged", "ana"),
        ("resolved", "ana"),
    ]
    resolved = client.get("/api/alarms?state=resolved", headers=seeded_app.headers("vic")).json()
    assert [a["id"] for a in resolved] == [alarm["id"]]


def test_viewer_cannot_acknowledge_and_no_token_is_401(seeded_app: SeededApp) -> None:
    """Acting on an alarm needs the reviewer role; every route needs a token."""
    client = seeded_app.client
    alarm = client.get("/api/alarms", headers=seeded_app.headers("vic")).json()[0]
    path = f"/api/alarms/{alarm['id']}/actions"
    denied = client.post(path, json={"action": "acknowledge"}, headers=seeded_app.headers("vic"))
    assert denied.status_code == 403
    for route in ("/api/overview", "/api/alarms", "/api/calls", f"/api/alarms/{alarm['id']}"):
        assert client.get(route).status_code == 401


def test_calls_search_by_text_score_errors_and_review_state(seeded_app: SeededApp) -> None:
    """The calls explorer's filters narrow the calls as asked."""
    client, headers = seeded_app.client, seeded_app.headers("vic")
    logs = client.get("/api/calls?range=6h&text=here%20is%20my%20log", headers=headers).json()
    assert logs
    assert all("here is my log" in c["input"].lower() for c in logs)
    low = client.get(
        "/api/calls?range=6h&score=consistency_drift.consistency&score_max=0.2", headers=headers
    ).json()
    assert low
    assert all(c["scores"]["consistency_drift.consistency"] <= 0.2 for c in low)
    errors = client.get("/api/calls?range=6h&errors=true&limit=500", headers=headers).json()
    assert len(errors) == sum(c.status_code == "ERROR" for c in seeded_app.seeded.calls)
    assert {c["status"] for c in errors} == {"ERROR"}
    queued = client.get("/api/calls?range=6h&review=in_review&limit=500", headers=headers).json()
    assert queued
    assert len(queued) < 600


def test_send_a_call_to_review_by_hand(seeded_app: SeededApp) -> None:
    """A reviewer sends a call to a queue; it waits there with reason "manual" and the
    call's page says so."""
    client = seeded_app.client
    call = client.get(
        "/api/calls?range=6h&review=not_reviewed&text=sync", headers=seeded_app.headers("vic")
    ).json()[0]
    sent = client.post(
        f"/api/calls/{call['span_id']}/review",
        json={"queue": "random"},
        headers=seeded_app.headers("ana"),
    )
    assert sent.status_code == 201, sent.text
    items = client.get("/api/queues/random/items?limit=500", headers=seeded_app.headers("vic"))
    mine = [i for i in items.json() if i["span_id"] == call["span_id"]]
    assert [i["reason"] for i in mine] == ["manual"]
    view = client.get(f"/api/calls/{call['span_id']}", headers=seeded_app.headers("vic")).json()
    assert [r["queue"] for r in view["review"]] == ["random"]
    assert view["actions"][0]["by"] == "ana"
    assert view["input"] == call["input"]


def test_the_routes_are_in_the_openapi_document_with_bearer_auth(seeded_app: SeededApp) -> None:
    """Every overview, alarms and calls route is documented and asks for the token."""
    spec = seeded_app.client.get("/openapi.json").json()
    ours = {
        path: methods
        for path, methods in spec["paths"].items()
        if path.startswith(("/api/overview", "/api/alarms", "/api/calls"))
    }
    assert len(ours) == 7
    for methods in ours.values():
        for operation in methods.values():
            assert operation["security"] == [{"token": []}]
            assert operation["tags"] == ["monitoring"]


def test_a_new_prompt_version_is_a_deploy_annotation(seeded_app: SeededApp) -> None:
    """Calls of a service and route with a prompt version not seen before mark a deploy
    on the overview, at the first such call."""
    first = seeded_app.seeded.calls[-1]
    later = [
        CallRecord(
            trace_id=f"{i:032x}",
            span_id=f"{i:016x}",
            timestamp_ns=first.timestamp_ns + (i + 1) * 1_000_000_000,
            duration_ns=300_000_000,
            service_name=first.service_name,
            route=first.route,
            request_model=first.request_model,
            attributes={"watchkeeper.prompt.version": "v2"},
        )
        for i in range(3)
    ]
    seeded_app.store.write(WriteBatch(calls=later))
    overview = seeded_app.client.get("/api/overview", headers=seeded_app.headers("vic")).json()
    assert overview["annotations"] == [
        {
            "time_s": later[0].timestamp_ns // 1_000_000_000,
            "text": "lumen-support-bot support/answer: prompt version v2",
        }
    ]
