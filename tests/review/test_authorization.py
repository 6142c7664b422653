"""Every review route checks its token: none or a bad one -> 401, a role too low -> 403."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.review.conftest import ReviewApp
from tests.review.support import call_payload
from watchkeeper.collector.review.auth import SESSION_COOKIE, csrf_token
from watchkeeper.collector.review.tokens import TokenRegistry

SPAN = "0123456789abcdef"
TOKEN_ID = "0123456789ab"
#: (method, path, least role) for every review API route.
API_ROUTES = [
    ("GET", "/api/whoami", "viewer"),
    ("GET", "/api/rubric", "viewer"),
    ("GET", "/api/queues", "viewer"),
    ("GET", "/api/queues/{queue}/items", "viewer"),
    ("GET", "/api/queues/{queue}/items/{span_id}", "viewer"),
    ("POST", "/api/queues/{queue}/claim", "reviewer"),
    ("POST", "/api/queues/{queue}/items/{span_id}/claim", "reviewer"),
    ("POST", "/api/queues/{queue}/items/{span_id}/release", "reviewer"),
    ("POST", "/api/queues/{queue}/items/{span_id}/skip", "reviewer"),
    ("POST", "/api/queues/{queue}/items/{span_id}/label", "reviewer"),
    ("GET", "/api/queues/{queue}/labels", "viewer"),
    ("GET", "/api/queues/{queue}/agreement", "viewer"),
    ("GET", "/api/calibration", "viewer"),
    ("GET", "/api/evalset", "viewer"),
    ("GET", "/api/tokens", "admin"),
    ("POST", "/api/tokens", "admin"),
    ("DELETE", "/api/tokens/{token_id}", "admin"),
    ("GET", "/api/overview", "viewer"),
    ("GET", "/api/alarms", "viewer"),
    ("GET", "/api/alarms/{detector}/{span_id}", "viewer"),
    ("POST", "/api/alarms/{detector}/{span_id}/actions", "reviewer"),
    ("GET", "/api/calls", "viewer"),
    ("GET", "/api/calls/{span_id}", "viewer"),
    ("POST", "/api/calls/{span_id}/review", "reviewer"),
    ("GET", "/api/traces/{trace_id}", "viewer"),
    ("GET", "/api/sessions/{session_id}", "viewer"),
]
#: (method, path, least role) for every UI route behind a login.
UI_ROUTES = [
    ("GET", "/", "viewer"),
    ("POST", "/logout", "viewer"),
    ("GET", "/ui/queues", "viewer"),
    ("GET", "/ui/alarms", "viewer"),
    ("GET", "/ui/alarms/{detector}/{span_id}", "viewer"),
    ("POST", "/ui/alarms/{detector}/{span_id}/{action}", "reviewer"),
    ("GET", "/ui/calls", "viewer"),
    ("GET", "/ui/calls/{span_id}", "viewer"),
    ("POST", "/ui/calls/{span_id}/review", "reviewer"),
    ("GET", "/ui/traces/{trace_id}", "viewer"),
    ("GET", "/ui/sessions/{session_id}", "viewer"),
    ("GET", "/ui/queues/{queue}", "viewer"),
    ("POST", "/ui/queues/{queue}/claim", "reviewer"),
    ("GET", "/ui/queues/{queue}/items/{span_id}", "viewer"),
    ("POST", "/ui/queues/{queue}/items/{span_id}/claim", "reviewer"),
    ("POST", "/ui/queues/{queue}/items/{span_id}/label", "reviewer"),
    ("POST", "/ui/queues/{queue}/items/{span_id}/skip", "reviewer"),
    ("POST", "/ui/queues/{queue}/items/{span_id}/release", "reviewer"),
    ("GET", "/ui/export", "viewer"),
    ("GET", "/ui/tokens", "admin"),
    ("POST", "/ui/tokens", "admin"),
    ("POST", "/ui/tokens/{token_id}/revoke", "admin"),
]
#: Routes that need no review token, and why.
PUBLIC = {
    ("POST", "/v1/traces"),  # machine ingest (OTLP), protected at the network level
    ("GET", "/metrics"),  # Prometheus scrape
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/ui/login.js"),
    ("GET", "/ui/static/{name}"),  # the charting library and the overview's script
}
ROLES = ["viewer", "reviewer", "admin"]
WHO = {"viewer": "vic", "reviewer": "ana", "admin": "root"}
BODIES = {
    "/api/queues/{queue}/items/{span_id}/label": {"verdict": "pass"},
    "/api/tokens": {"name": "new", "role": "viewer"},
    "/api/alarms/{detector}/{span_id}/actions": {"action": "acknowledge"},
    "/api/calls/{span_id}/review": {"queue": "random"},
}


def _url(path: str) -> str:
    return path.format(
        queue="random",
        span_id=SPAN,
        token_id=TOKEN_ID,
        detector="input_length_drift",
        action="acknowledge",
        name="overview.js",
        trace_id="0" * 32,
        session_id="session-1",
    )


def _ours(path: str) -> bool:
    """Routes of the review API and UI (other teams' /api/alerts routes are theirs)."""
    return (path.startswith(("/api", "/ui")) or path in ("/", "/logout", "/login")) and not (
        path.startswith("/api/alerts")
    )


def _routes(routes: list[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, looking into included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                yield method, route.path


def test_every_review_route_has_an_authorization_case(review_app: ReviewApp) -> None:
    """The tables above list every review route of the app: a new route fails this test
    until its role is written down (and so tested below)."""
    app = review_app.client.app
    routes = {(m, p) for m, p in _routes(app.routes) if _ours(p)}  # type: ignore[attr-defined]
    listed = {(m, p) for m, p, _ in API_ROUTES + UI_ROUTES} | {
        (m, p) for m, p in PUBLIC if _ours(p)
    }
    assert routes == listed


@pytest.mark.parametrize(("method", "path", "least"), API_ROUTES)
def test_api_route_without_or_with_a_bad_token_is_401(
    review_app: ReviewApp, method: str, path: str, least: str
) -> None:
    """No token and a wrong token are both refused with 401 and a WWW-Authenticate header."""
    client = review_app.client
    body = BODIES.get(path)
    for headers in ({}, {"authorization": "Bearer wk_not-a-real-token-at-all-0000000000"}):
        response = client.request(method, _url(path), json=body, headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "least"), API_ROUTES)
def test_api_route_admits_exactly_the_roles_it_needs(
    review_app: ReviewApp, method: str, path: str, least: str
) -> None:
    """Roles below the route's role get 403; the role itself and higher ones get past
    authorization (whatever the route then answers)."""
    body = BODIES.get(path)
    for role in ROLES:
        response = review_app.client.request(
            method, _url(path), json=body, headers=review_app.headers(WHO[role])
        )
        if ROLES.index(role) < ROLES.index(least):
            assert response.status_code == 403, (role, response.text)
            assert least in response.json()["detail"]
        else:
            assert response.status_code not in (401, 403), (role, response.text)


def _login(review_app: ReviewApp, who: str) -> str:
    token = review_app.tokens[who]
    review_app.client.cookies.set(SESSION_COOKIE, token)
    return csrf_token(token)


@pytest.mark.parametrize(("method", "path", "least"), UI_ROUTES)
def test_ui_route_without_a_session_is_401_with_a_login_form(
    review_app: ReviewApp, method: str, path: str, least: str
) -> None:
    """Without a session cookie (or with a bad one) every UI page answers 401 with the
    login form."""
    client = review_app.client
    for cookie in (None, "wk_bogus-session-token-000000000000000000000"):
        client.cookies.clear()
        if cookie:
            client.cookies.set(SESSION_COOKIE, cookie)
        response = client.request(
            method, _url(path), content=b"csrf=x", follow_redirects=False, headers=_FORM
        )
        assert response.status_code == 401
        assert "name='token'" in response.text


@pytest.mark.parametrize(("method", "path", "least"), UI_ROUTES)
def test_ui_route_admits_exactly_the_roles_it_needs(
    review_app: ReviewApp, method: str, path: str, least: str
) -> None:
    """UI roles work as in the API: below the route's role 403, otherwise past the check."""
    for role in ROLES:
        csrf = _login(review_app, WHO[role])
        response = review_app.client.request(
            method,
            _url(path),
            content=f"csrf={csrf}&name=new&role=viewer".encode(),
            headers=_FORM,
            follow_redirects=False,
        )
        if ROLES.index(role) < ROLES.index(least):
            assert response.status_code == 403, (role, response.text)
        else:
            assert response.status_code not in (401, 403), (role, response.text)


@pytest.mark.parametrize(("method", "path", "least"), [r for r in UI_ROUTES if r[0] == "POST"])
def test_ui_forms_need_the_sessions_csrf_token(
    review_app: ReviewApp, method: str, path: str, least: str
) -> None:
    """A form post without the session's CSRF token is refused, even for an admin."""
    _login(review_app, "root")
    for body in (b"", b"csrf=" + b"0" * 64, f"csrf={csrf_token('wk_other')}".encode()):
        response = review_app.client.post(
            _url(path), content=body, headers=_FORM, follow_redirects=False
        )
        assert response.status_code == 403
        assert "another site" in response.text


def test_public_routes_need_no_token(review_app: ReviewApp) -> None:
    """OTLP ingest, /metrics, /healthz and the login page work without any token."""
    client = review_app.client
    assert client.get("/metrics").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/login").status_code == 200
    payload, _ = call_payload(["is ingest open?"])
    ingest = client.post(
        "/v1/traces", content=payload, headers={"content-type": "application/x-protobuf"}
    )
    assert ingest.status_code == 200


def test_openapi_describes_the_bearer_scheme_on_review_routes(review_app: ReviewApp) -> None:
    """The OpenAPI document declares bearer auth and attaches it to every review route."""
    spec = review_app.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    for method, path, _ in API_ROUTES:
        operation = spec["paths"][path][method.lower()]
        assert operation["security"] == [{"token": []}], path


def test_a_revoked_token_stops_working(review_app: ReviewApp) -> None:
    """Revoking through the API makes the token fail at once."""
    client = review_app.client
    created = client.post(
        "/api/tokens", json={"name": "temp", "role": "viewer"}, headers=review_app.headers("root")
    ).json()
    headers = {"authorization": f"Bearer {created['token']}"}
    assert client.get("/api/whoami", headers=headers).json()["name"] == "temp"
    revoked = client.delete(
        f"/api/tokens/{created['token_id']}", headers=review_app.headers("root")
    )
    assert revoked.status_code == 200
    assert client.get("/api/whoami", headers=headers).status_code == 401


def test_tokens_are_stored_as_hashes_only(review_app: ReviewApp) -> None:
    """The store holds SHA-256 digests, never a token itself; listings show no secret."""
    rows = review_app.store.tokens()
    stored = " ".join(str(value) for row in rows for value in row.values())
    for token in review_app.tokens.values():
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored
    listing = review_app.client.get("/api/tokens", headers=review_app.headers("root")).json()
    assert all(
        set(entry) == {"token_id", "name", "role", "created_at_ms", "revoked"} for entry in listing
    )


def test_a_token_created_elsewhere_is_accepted_without_waiting(review_app: ReviewApp) -> None:
    """A token another process just created (e.g. the CLI) works on the first request."""
    review_app.client.get("/api/whoami", headers=review_app.headers("vic"))  # warm the cache
    token, _ = TokenRegistry(review_app.store).create("late", "viewer")
    response = review_app.client.get("/api/whoami", headers={"authorization": f"Bearer {token}"})
    assert response.json()["name"] == "late"


def test_login_sets_a_strict_http_only_cookie(review_app: ReviewApp) -> None:
    """Logging in sets the session cookie HttpOnly and SameSite=Strict and goes to a local
    page only; a bad token is a 401 with the form again."""
    client = review_app.client
    response = client.post(
        "/login",
        content=f"token={review_app.tokens['ana']}&next=//evil.example/".encode(),
        headers=_FORM,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    bad = client.post("/login", content=b"token=wk_wrong", headers=_FORM)
    assert bad.status_code == 401
    page = client.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_the_api_ignores_the_ui_cookie(review_app: ReviewApp) -> None:
    """A logged-in browser's cookie does not authorize API calls (no cross-site API use)."""
    _login(review_app, "root")
    assert review_app.client.get("/api/whoami").status_code == 401


_FORM = {"content-type": "application/x-www-form-urlencoded"}
