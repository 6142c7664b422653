"""The versions page (``/ui/versions``) and the experiment runs page (``/ui/experiments``).

Same sessions as the review and overview UI (``review/auth.py``): the API token in an
HttpOnly cookie, viewers and up; read-only pages with GET forms, so no CSRF token is
posted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from watchkeeper.collector.experiments.compare import DEFAULT_TOLERANCES, compare, worst_cases
from watchkeeper.collector.review import pages as review_pages
from watchkeeper.collector.review.auth import UiAuthError
from watchkeeper.collector.review.routes import Route, RouteTable, bound_endpoint
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.review.ui_responses import refusal_response, session_csrf
from watchkeeper.collector.store.experiments import case_results, runs
from watchkeeper.collector.store.versions import route_versions
from watchkeeper.collector.versions import pages
from watchkeeper.collector.versions.api import VersionsContext
from watchkeeper.collector.versions.live import compare_stored, pick_versions

ui = RouteTable()
FIELDS = ("route", "dimension", "baseline", "candidate", "score")


def versions_ui_router(ctx: VersionsContext) -> APIRouter:
    """Routes ``/ui/versions`` and ``/ui/experiments``."""
    return ui.router(lambda route: _endpoint(route, ctx), include_in_schema=False)


def _endpoint(route: Route, ctx: VersionsContext) -> Callable[..., Any]:
    """The handler behind the session check; refusals become pages."""
    needed = route.role or Role.VIEWER

    async def guarded(request: Request, **kwargs: Any) -> Response:
        csrf = session_csrf(request)
        try:
            me = ctx.auth.ui(request, needed)
            response = HTMLResponse(route.handler(ctx, request=request, me=me, csrf=csrf))
        except UiAuthError as exc:
            response = refusal_response(exc, quote(request.url.path, safe="/-_.%"))
        response.headers.update(review_pages.SECURITY_HEADERS)
        return response

    return bound_endpoint(route, guarded, supplied=("ctx", "me", "csrf"))


@ui.get("/ui/versions", Role.VIEWER)
def versions(ctx: VersionsContext, *, request: Request, me: Principal, csrf: str) -> str:
    """A route's versions and, when asked, the comparison of two of them."""
    query = {name: request.query_params.get(name, "").strip()[:512] for name in FIELDS}
    dimension = query["dimension"] if query["dimension"] in {"model", "prompt"} else "model"
    query["dimension"] = dimension
    if not query["route"]:
        return pages.versions_page(query, [], found=None, problem="", me=me, csrf=csrf)
    seen = route_versions(ctx.store, route=query["route"], dimension=dimension)
    try:
        baseline, candidate = pick_versions(
            seen, query["baseline"] or None, query["candidate"] or None
        )
        found = compare_stored(
            ctx.store,
            route=query["route"],
            baseline=baseline,
            candidate=candidate,
            score=query["score"] or "faithfulness_drift.faithfulness",
            dimension=dimension,
        )
    except ValueError as exc:
        return pages.versions_page(query, seen, found=None, problem=str(exc), me=me, csrf=csrf)
    return pages.versions_page(query, seen, found=found, problem="", me=me, csrf=csrf)


@ui.get("/ui/experiments", Role.VIEWER)
def experiments(ctx: VersionsContext, *, request: Request, me: Principal, csrf: str) -> str:
    """Stored experiment and red-team runs, newest first; two of them compared when the
    form names them."""
    baseline = request.query_params.get("baseline", "")[:64]
    candidate = request.query_params.get("candidate", "")[:64]
    comparison = ""
    if baseline and candidate:
        before = case_results(ctx.store, baseline)
        after = case_results(ctx.store, candidate)
        compared = compare(before, after, DEFAULT_TOLERANCES)
        worst = worst_cases(before, after, list(DEFAULT_TOLERANCES), limit=10)
        comparison = pages.run_comparison(compared, worst, 0.95)
    return pages.runs_page(runs(ctx.store, limit=200), comparison, me, csrf)
