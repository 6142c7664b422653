"""The overview, alarms and calls pages: sessions and roles as in the review UI."""

from __future__ import annotations

from tests.ui.conftest import SeededApp
from watchkeeper.collector.review.auth import csrf_token

_FORM = {"content-type": "application/x-www-form-urlencoded"}


def _log_in(app: SeededApp, who: str) -> None:
    response = app.client.post(
        "/login", content=f"token={app.tokens[who]}".encode(), headers=_FORM, follow_redirects=False
    )
    assert response.status_code == 303


def test_without_a_session_every_page_asks_to_log_in(seeded_app: SeededApp) -> None:
    """No session: 401 with the login form, which brings the user back to the page."""
    for path in ("/", "/ui/alarms", "/ui/calls", "/ui/calls/0123456789abcdef"):
        response = seeded_app.client.get(path + "?range=1h")
        assert response.status_code == 401, path
        assert "name='token'" in response.text
        assert f"value='{path}?range=1h'" in response.text


def test_viewer_sees_alarms_but_cannot_acknowledge(seeded_app: SeededApp) -> None:
    """A viewer's alarm page has no buttons, and posting the form anyway is 403."""
    client = seeded_app.client
    alarm = client.get("/api/alarms", headers=seeded_app.headers("vic")).json()[0]
    _log_in(seeded_app, "vic")
    page = client.get(f"/ui/alarms/{alarm['id']}")
    assert page.status_code == 200
    assert alarm["reason"] in page.text
    assert "Acknowledge</button>" not in page.text
    csrf = csrf_token(seeded_app.tokens["vic"])
    denied = client.post(
        f"/ui/alarms/{alarm['id']}/acknowledge", content=f"csrf={csrf}".encode(), headers=_FORM
    )
    assert denied.status_code == 403
    state = client.get(f"/api/alarms/{alarm['id']}", headers=seeded_app.headers("vic")).json()
    assert state["state"] == "open"


def test_reviewer_acknowledges_with_csrf_only(seeded_app: SeededApp) -> None:
    """A reviewer's acknowledge needs the session's CSRF token; with it, it is kept."""
    client = seeded_app.client
    alarm = client.get("/api/alarms", headers=seeded_app.headers("vic")).json()[0]
    _log_in(seeded_app, "ana")
    path = f"/ui/alarms/{alarm['id']}/acknowledge"
    assert client.post(path, content=b"csrf=forged", headers=_FORM).status_code == 403
    csrf = csrf_token(seeded_app.tokens["ana"])
    done = client.post(path, content=f"csrf={csrf}".encode(), headers=_FORM)
    assert done.status_code == 200  # redirected back to the alarm
    assert "acknowledged</span> by ana" in done.text


def test_bad_ranges_and_filters_are_one_line_errors(seeded_app: SeededApp) -> None:
    """A range that cannot be read says what to send instead."""
    _log_in(seeded_app, "vic")
    client = seeded_app.client
    wrong = client.get("/?range=2y")
    assert wrong.status_code == 422
    assert "range must be one of 1h, 6h, 24h, 7d, 30d" in wrong.text
    backwards = client.get("/ui/calls?from=2025-01-02&to=2025-01-01")
    assert backwards.status_code == 422
    assert "&#x27;to&#x27; must be after &#x27;from&#x27;" in backwards.text
    api = client.get("/api/calls?from=yesterday", headers=seeded_app.headers("vic"))
    assert api.status_code == 422
    assert "is not a time" in api.json()["detail"]
