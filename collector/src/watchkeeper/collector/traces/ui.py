"""The trace and session pages: ``/ui/traces/{trace_id}`` and ``/ui/sessions/{session_id}``.

Same sessions as the review and overview UI (``review/auth.py``): the API token in an
HttpOnly cookie, viewers and up; no forms (read-only pages), so no CSRF token is posted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from watchkeeper.collector.review import pages as review_pages
from watchkeeper.collector.review.auth import UiAuthError
from watchkeeper.collector.review.routes import Route, RouteTable, bound_endpoint
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.review.ui_responses import html_response, refusal_response, session_csrf
from watchkeeper.collector.review.workflow import ItemNotFoundError, ReviewError
from watchkeeper.collector.traces import pages
from watchkeeper.collector.traces.api import SESSION_PATTERN, TRACE_PATTERN, TracesContext

ui = RouteTable()


def traces_ui_router(ctx: TracesContext) -> APIRouter:
    """Routes ``/ui/traces/...`` and ``/ui/sessions/...``."""
    return ui.router(lambda route: _endpoint(route, ctx), include_in_schema=False)


def _endpoint(route: Route, ctx: TracesContext) -> Callable[..., Any]:
    """The handler behind the session check; refusals and errors become pages."""
    needed = route.role or Role.VIEWER

    async def guarded(request: Request, **kwargs: Any) -> Response:
        csrf = session_csrf(request)
        try:
            me = ctx.auth.ui(request, needed)
            return html_response(route.handler(ctx, request=request, me=me, csrf=csrf, **kwargs))
        except UiAuthError as exc:
            return refusal_response(exc, quote(request.url.path, safe="/-_.%"))
        except ReviewError as exc:
            session = ctx.auth.ui_session(request)
            text = review_pages.message("Not possible", str(exc), session, csrf)
            return html_response(text, exc.status)

    return bound_endpoint(route, guarded, supplied=("ctx", "me", "csrf"))


@ui.get("/ui/traces/{trace_id}", Role.VIEWER)
def trace(ctx: TracesContext, *, request: Request, me: Principal, csrf: str, trace_id: str) -> str:
    """One trace as a tree with its waterfall."""
    if not re.match(TRACE_PATTERN, trace_id):
        raise ItemNotFoundError(f"{trace_id!r} is not a trace id (32 hex digits)")
    return pages.trace_page(ctx.views.trace(trace_id), me, csrf)


@ui.get("/ui/sessions/{session_id}", Role.VIEWER)
def session(
    ctx: TracesContext, *, request: Request, me: Principal, csrf: str, session_id: str
) -> str:
    """One conversation as its turns."""
    if not re.match(SESSION_PATTERN, session_id):
        raise ItemNotFoundError("not a session id")
    return pages.session_page(ctx.views.session(session_id), me, csrf)
