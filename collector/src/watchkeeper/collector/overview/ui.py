"""The overview (the UI's home, ``/``), alarms and calls pages, and the UI's static files.

Same sessions as the review UI (``review/auth.py``): the API token in an HttpOnly cookie,
a CSRF token on every form; viewers see everything, reviewers also acknowledge and
resolve alarms and send calls to review. Handlers are module-level functions in the
``ui`` route table; :func:`monitor_ui_router` binds it to one app.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from importlib import resources
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from watchkeeper.collector.overview import pages
from watchkeeper.collector.overview.api import DETECTOR_PATTERN, SPAN_PATTERN, MonitorContext
from watchkeeper.collector.overview.monitor import ALARM_ACTIONS, Monitor
from watchkeeper.collector.overview.ranges import RangeError, TimeRange
from watchkeeper.collector.review import pages as review_pages
from watchkeeper.collector.review.auth import Auth, UiAuthError
from watchkeeper.collector.review.routes import Route, RouteTable, bound_endpoint
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.review.ui import read_form
from watchkeeper.collector.review.ui_responses import html_response, refusal_response, session_csrf
from watchkeeper.collector.review.workflow import ItemNotFoundError, ReviewError
from watchkeeper.collector.store.monitoring import REVIEW_STATES, CallSearch, KeyFilter

#: The files under ``/ui/static/``: name -> media type. Nothing else is served there.
STATIC_FILES: Final = {
    "uPlot.iife.min.js": "text/javascript",
    "overview.js": "text/javascript",
    "LICENSE.uPlot": "text/plain",
}
_STATIC = resources.files("watchkeeper.collector.overview") / "static"
_PATH_CHECKS: Final = {"detector": DETECTOR_PATTERN, "span_id": SPAN_PATTERN}

ui = RouteTable()


def monitor_ui_router(monitor: Monitor, auth: Auth) -> APIRouter:
    """Routes ``/``, ``/ui/alarms...``, ``/ui/calls...`` and ``/ui/static/...``."""
    ctx = MonitorContext(monitor, auth)
    return ui.router(lambda route: _endpoint(route, ctx), include_in_schema=False)


def _endpoint(route: Route, ctx: MonitorContext) -> Callable[..., Any]:
    """The handler behind the session check (and for posts the CSRF check); refusals and
    review errors become pages."""
    if route.role is None:

        async def public(**kwargs: Any) -> Response:
            response: Response = await route.handler(ctx, **kwargs)
            return response

        return bound_endpoint(route, public, supplied=("ctx",))
    needed, is_form = route.role, route.method == "POST"

    async def guarded(request: Request, **kwargs: Any) -> Response:
        auth = ctx.auth
        try:
            me = auth.ui(request, needed)
            form: dict[str, str] = {}
            if is_form:
                form = await read_form(request)
                auth.check_csrf(request, form.get("csrf", ""))
            for name, pattern in _PATH_CHECKS.items():
                if name in kwargs and not re.match(pattern, str(kwargs[name])):
                    raise ItemNotFoundError(f"{kwargs[name]!r} is not a valid {name}")
            response: Response = await route.handler(
                ctx, request=request, me=me, form=form, **kwargs
            )
        except UiAuthError as exc:
            target = quote(request.url.path + _query(request), safe="/?=&-_.%")
            response = refusal_response(exc, target)
        except (ReviewError, RangeError) as exc:
            status = exc.status if isinstance(exc, ReviewError) else 422
            session = auth.ui_session(request)
            response = html_response(
                review_pages.message("Not possible", str(exc), session, session_csrf(request)),
                status,
            )
        response.headers.update(review_pages.SECURITY_HEADERS)
        return response

    return bound_endpoint(route, guarded, supplied=("ctx", "me", "form"))


@ui.get("/ui/static/{name}")
async def static_file(ctx: MonitorContext, name: str) -> Response:
    """The charting library and the overview's script (see ``static/README.md``)."""
    media = STATIC_FILES.get(name)
    if media is None:
        return Response("no such file", status_code=404, media_type="text/plain")
    headers = dict(review_pages.SECURITY_HEADERS) | {"Cache-Control": "public, max-age=3600"}
    return Response((_STATIC / name).read_bytes(), media_type=media, headers=headers)


@ui.get("/", Role.VIEWER)
async def overview(
    ctx: MonitorContext, *, request: Request, me: Principal, form: dict[str, str]
) -> Response:
    """Traffic, errors, latency, cost and every score over time, per key, with alarms."""
    data = ctx.monitor.overview(_range(request), _keys(request))
    return html_response(pages.overview_page(data, me, session_csrf(request)))


@ui.get("/ui/alarms", Role.VIEWER)
async def alarms(
    ctx: MonitorContext, *, request: Request, me: Principal, form: dict[str, str]
) -> Response:
    """Every alarm of a range (default: the last day)."""
    params = request.query_params
    span = _range(request, default="24h")
    keys = _keys(request)
    detector = params.get("detector", "").strip()
    state = params.get("state", "")
    if detector and not re.match(DETECTOR_PATTERN, detector):
        raise ItemNotFoundError(f"{detector!r} is not a detector name")
    if state not in ("", "open", "acknowledged", "resolved"):
        raise ItemNotFoundError("state must be open, acknowledged or resolved")
    found = ctx.monitor.alarms(span, keys, detector=detector, state=state, limit=500)
    seen = ctx.monitor.reads.keys_seen(span.from_s, span.to_s, span.step_s)
    data = _page_data(span, keys) | {"detector": detector, "state": state}
    return html_response(pages.alarms_page(data, found, _choices(seen), me, session_csrf(request)))


@ui.get("/ui/alarms/{detector}/{span_id}", Role.VIEWER)
async def alarm(
    ctx: MonitorContext,
    *,
    request: Request,
    me: Principal,
    form: dict[str, str],
    detector: str,
    span_id: str,
) -> Response:
    """One alarm and the calls behind it."""
    return html_response(
        pages.alarm_page(ctx.monitor.alarm(detector, span_id), me, session_csrf(request))
    )


@ui.post("/ui/alarms/{detector}/{span_id}/{action}", Role.REVIEWER)
async def act_on_alarm(
    ctx: MonitorContext,
    *,
    request: Request,
    me: Principal,
    form: dict[str, str],
    detector: str,
    span_id: str,
    action: str,
) -> Response:
    """Acknowledge, resolve or reopen an alarm, then show it again."""
    if action not in ALARM_ACTIONS:
        raise ItemNotFoundError(f"no action {action!r}: use {', '.join(ALARM_ACTIONS)}")
    ctx.monitor.act_on_alarm(detector, span_id, action, me.name, form.get("comment", "")[:2000])
    return RedirectResponse(f"/ui/alarms/{detector}/{span_id}", status_code=303)


@ui.get("/ui/calls", Role.VIEWER)
async def calls(
    ctx: MonitorContext, *, request: Request, me: Principal, form: dict[str, str]
) -> Response:
    """The calls explorer."""
    params = request.query_params
    span, keys = _range(request), _keys(request)
    score = params.get("score", "").strip()
    if score and not re.fullmatch(r"[a-z0-9_]{1,64}\.[a-z0-9_.]{1,64}", score):
        raise ItemNotFoundError(f"{score!r} is not a score name (<detector>.<score>)")
    review = params.get("review", "")
    if review and review not in REVIEW_STATES:
        raise ItemNotFoundError(f"review must be one of {', '.join(REVIEW_STATES)}")
    search = CallSearch(
        errors=bool(params.get("errors")),
        score=score,
        score_min=_float(params.get("score_min"), -math.inf),
        score_max=_float(params.get("score_max"), math.inf),
        text=params.get("text", "")[:200],
        review=review,
    )
    found = ctx.monitor.calls(span, keys, search)
    seen = ctx.monitor.reads.keys_seen(span.from_s, span.to_s, span.step_s)
    shown = {
        "score": score,
        "score_min": params.get("score_min", ""),
        "score_max": params.get("score_max", ""),
        "text": search.text,
        "review": review,
        "errors": search.errors,
    }
    data = _page_data(span, keys) | {"search": shown}
    return html_response(pages.calls_page(data, found, _choices(seen), me, session_csrf(request)))


@ui.get("/ui/calls/{span_id}", Role.VIEWER)
async def call(
    ctx: MonitorContext, *, request: Request, me: Principal, form: dict[str, str], span_id: str
) -> Response:
    """One call in full."""
    at = _at(request.query_params.get("at"))
    notice = (
        f"Sent to review queue {request.query_params['sent']}."
        if "sent" in request.query_params
        else ""
    )
    queues = ctx.monitor.workflow.config.queue_names
    view = ctx.monitor.call(span_id, at)
    return html_response(pages.call_page(view, queues, me, session_csrf(request), notice=notice))


@ui.post("/ui/calls/{span_id}/review", Role.REVIEWER)
async def send_to_review(
    ctx: MonitorContext, *, request: Request, me: Principal, form: dict[str, str], span_id: str
) -> Response:
    """Send a call to a review queue, then show it again."""
    queue = form.get("queue", "")
    at = _at(form.get("at"))
    ctx.monitor.send_to_review(span_id, queue, me.name, at)
    where = f"?at={at}&sent={quote(queue)}" if at is not None else f"?sent={quote(queue)}"
    return RedirectResponse(f"/ui/calls/{span_id}{where}", status_code=303)


def _range(request: Request, default: str | None = None) -> TimeRange:
    params = request.query_params
    preset = params.get("range") or None
    start, end = params.get("from") or None, params.get("to") or None
    if preset is None and start is None:
        preset = default
    return TimeRange.parse(preset, start=start, end=end)


def _keys(request: Request) -> KeyFilter:
    params = request.query_params
    return KeyFilter(
        params.get("service", "")[:200],
        params.get("route", "")[:200],
        params.get("model", "")[:200],
    )


def _page_data(span: TimeRange, keys: KeyFilter) -> dict[str, Any]:
    return {
        "range": {
            "from_s": span.from_s,
            "to_s": span.to_s,
            "step_s": span.step_s,
            "preset": span.preset,
            "label": span.label,
        },
        "filters": keys.params(),
    }


def _choices(seen: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {
        plural: sorted({str(row[column]) for row in seen})
        for plural, column in (
            ("services", "ServiceName"),
            ("routes", "Route"),
            ("models", "Model"),
        )
    }


def _float(text: str | None, default: float) -> float:
    if text is None or text.strip() == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise ItemNotFoundError(f"{text!r} is not a number") from None
    if math.isnan(value):
        raise ItemNotFoundError("a score bound must be a number")
    return value


def _at(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) <= 20 else None


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""
