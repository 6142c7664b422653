"""``/ui/incidents``: the incidents page, with acknowledge and accept-as-baseline buttons.

Same sessions as the other UI pages (``review/auth.py``): the API token in an HttpOnly
cookie and a CSRF token on every form. Viewers see the incidents; reviewers act on them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from watchkeeper.collector.incidents import IncidentClosedError, IncidentNotFoundError
from watchkeeper.collector.incidents.grouping import ACTIVE
from watchkeeper.collector.incidents.tracker import ACTIONS, IncidentTracker
from watchkeeper.collector.review import pages
from watchkeeper.collector.review.auth import SESSION_COOKIE, Auth, UiAuthError, csrf_token
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.review.ui import read_form

PATH = "/ui/incidents"
WEEK_MS = 7 * 86_400_000
_BUTTONS = {"ack": "acknowledge", "accept-baseline": "accept as new baseline"}


def incidents_ui_router(tracker: IncidentTracker, auth: Auth) -> APIRouter:
    """``GET /ui/incidents[/{id}]`` and ``POST /ui/incidents/{id}/{action}``."""
    router = APIRouter(include_in_schema=False)

    @router.get(PATH)
    def incidents(request: Request) -> Response:
        try:
            me = auth.ui(request, Role.VIEWER)
        except UiAuthError as exc:
            return _refused(request, exc)
        since = time.time_ns() // 1_000_000 - WEEK_MS
        # A page's link (the alert's incidents_path) names its detector, not the route
        # (alert labels stay bounded): the incident of that detector still active opens
        # at once; with several routes active, those first, then the rest of the week.
        detector = request.query_params.get("detector", "")
        listed = [i for i in tracker.listed(since) if not detector or detector in i["detectors"]]
        active = [i for i in listed if i["state"] in ACTIVE]
        if detector and len(active) == 1:
            return RedirectResponse(f"{PATH}/{active[0]['id']}", status_code=303)
        if detector:
            listed = active + [i for i in listed if i["state"] not in ACTIVE]
        return _html(incidents_page(listed, me, _csrf(request)))

    @router.get(PATH + "/{incident_id}")
    def incident(request: Request, incident_id: str) -> Response:
        try:
            me = auth.ui(request, Role.VIEWER)
            found = tracker.detail(incident_id)
        except UiAuthError as exc:
            return _refused(request, exc)
        except IncidentNotFoundError as exc:
            session = auth.ui_session(request)
            return _html(pages.message("Not found", str(exc), session, _csrf(request)), 404)
        return _html(incidents_page([found], me, _csrf(request)))

    @router.post(PATH + "/{incident_id}/{action}")
    async def act(request: Request, incident_id: str, action: str) -> Response:
        try:
            me = auth.ui(request, Role.REVIEWER)
            form = await read_form(request)
            auth.check_csrf(request, form.get("csrf", ""))
            tracker.act(incident_id, action, me.name, form.get("comment", ""))
        except UiAuthError as exc:
            return _refused(request, exc)
        except (IncidentNotFoundError, IncidentClosedError) as exc:
            status = 404 if isinstance(exc, IncidentNotFoundError) else 409
            session = auth.ui_session(request)
            return _html(pages.message("Not possible", str(exc), session, _csrf(request)), status)
        return RedirectResponse(PATH, status_code=303)

    return router


def incidents_page(incidents: Sequence[Mapping[str, Any]], me: Principal, csrf: str) -> str:
    """The incidents of the last week, newest first."""
    if not incidents:
        return pages.page("Incidents", "<p>No incidents in the last week.</p>", me, csrf)
    rows = "".join(_row(incident, me, csrf) for incident in incidents)
    body = (
        "<p>Alarms of several detectors on one service and route within 30 minutes are one "
        "incident, its alarms listed by the size of their change (standard deviations), "
        "biggest first.</p><table id='incidents'><tr><th>opened (UTC)</th><th>service</th>"
        "<th>route</th><th>state</th><th>alarms</th><th></th></tr>"
        f"{rows}</table>"
    )
    return pages.page("Incidents", body, me, csrf)


def _row(incident: Mapping[str, Any], me: Principal, csrf: str) -> str:
    e = pages.e
    opened = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(incident["opened_ms"] / 1000))
    alarms = "<br>".join(_alarm(a) for a in incident["alarms"][:20])
    state = e(incident["state"])
    if incident["state_by"]:
        state += f" by {e(incident['state_by'])}"
    buttons = ""
    if incident["state"] in ACTIVE and me.allows(Role.REVIEWER):
        buttons = "".join(
            f"<form class='inline' method='post' action='{PATH}/{e(incident['id'])}/{action}'>"
            f"<input type='hidden' name='csrf' value='{e(csrf)}'>"
            f"<button type='submit' name='do' value='{action}'>{_BUTTONS[action]}</button></form>"
            for action in ACTIONS
            if not (action == "ack" and incident["state"] == "acknowledged")
        )
    return (
        f"<tr id='incident-{e(incident['id'])}'><td>{opened}</td><td>{e(incident['service'])}"
        f"</td><td>{e(incident['route'])}</td><td class='state'>{state}</td><td>{alarms}</td>"
        f"<td>{buttons}</td></tr>"
    )


def _alarm(alarm: Mapping[str, Any]) -> str:
    e = pages.e
    link = f"<a href='/ui/alarms/{e(alarm['detector'])}/{e(alarm['span_id'])}'>"
    effect = alarm["effect_sd"]
    size = " n/a sd" if effect is None else f" {effect:+.1f} sd"
    return f"{link}{e(alarm['detector'])}</a>{size}"


def _refused(request: Request, exc: UiAuthError) -> Response:
    if exc.status == 401:
        return _html(pages.login(request.url.path), 401)
    return _html(pages.message("Forbidden", str(exc)), 403)


def _csrf(request: Request) -> str:
    token = request.cookies.get(SESSION_COOKIE, "")
    return csrf_token(token) if token else ""


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=pages.SECURITY_HEADERS)
