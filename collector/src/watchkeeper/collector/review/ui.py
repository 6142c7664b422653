"""The reviewers' web UI: log in, pick a queue, claim, label, skip, release, export.

Server-rendered HTML (``pages.py``) and plain form posts: it works without JavaScript
(the one script fills the login form from a ``#token=`` link). Sessions are the API token
in an HttpOnly, SameSite=Strict cookie; forms carry a CSRF token (see ``auth.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from watchkeeper.collector.evalset import FORMATS, SHAPES
from watchkeeper.collector.review import pages
from watchkeeper.collector.review.api import export_response
from watchkeeper.collector.review.auth import SESSION_COOKIE, Auth, UiAuthError
from watchkeeper.collector.review.queues import QUEUE_NAME_PATTERN
from watchkeeper.collector.review.routes import ReviewContext, Route, RouteTable, bound_endpoint
from watchkeeper.collector.review.tokens import NAME_PATTERN, Principal, Role, TokenRegistry
from watchkeeper.collector.review.ui_responses import html_response, refusal_response, session_csrf
from watchkeeper.collector.review.workflow import (
    InvalidLabelError,
    ItemNotFoundError,
    ReviewError,
    ReviewWorkflow,
)
from watchkeeper.collector.traces.review_inline import review_inline

_SPAN = re.compile(r"^[0-9a-f]{16}$")
_SESSION_MAX_AGE_S = 12 * 3600
_INTEGER = re.compile(r"-?[0-9]{1,9}")
#: Forms here are a token, or a label with a comment and a corrected answer.
MAX_FORM_BYTES = 512 * 1024

ui = RouteTable()


def review_ui_router(workflow: ReviewWorkflow, auth: Auth, registry: TokenRegistry) -> APIRouter:
    """Routes ``/``, ``/login``, ``/logout`` and ``/ui/...`` for one app."""
    review = ReviewContext(workflow, auth, registry)
    return ui.router(lambda route: _endpoint(route, review), include_in_schema=False)


def _endpoint(route: Route, review: ReviewContext) -> Callable[..., Any]:
    """The route's handler, given the context; with a role, also the session's principal
    and the posted form, after authentication (and for posts the CSRF check), with
    authentication and review errors rendered as pages."""
    if route.role is None:

        async def public(**kwargs: Any) -> Response:
            response: Response = await route.handler(review, **kwargs)
            return response

        return bound_endpoint(route, public, supplied=("review",))
    needed, is_form = route.role, route.method == "POST"

    async def guarded(request: Request, **kwargs: Any) -> Response:
        auth = review.auth
        try:
            me = auth.ui(request, needed)
            data: dict[str, str] = {}
            if is_form:
                data = await read_form(request)
                auth.check_csrf(request, data.get("csrf", ""))
            _check_path(kwargs)
            response: Response = await route.handler(
                review, request=request, me=me, form=data, **kwargs
            )
        except UiAuthError as exc:
            response = refusal_response(exc, _local(request.url.path))
        except ReviewError as exc:
            session = auth.ui_session(request)
            response = html_response(
                pages.message("Not possible", str(exc), session, session_csrf(request)), exc.status
            )
        response.headers.update(pages.SECURITY_HEADERS)
        return response

    return bound_endpoint(route, guarded, supplied=("review", "me", "form"))


@ui.get("/ui/login.js")
async def login_js(review: ReviewContext) -> Response:
    """The one script: fills the login form from a ``#token=`` link."""
    return Response(pages.LOGIN_JS, media_type="text/javascript", headers=pages.SECURITY_HEADERS)


@ui.get("/login")
async def login_page(review: ReviewContext, request: Request, next: str = "/") -> Response:
    """The login form."""
    return html_response(pages.login(_local(next)))


@ui.post("/login")
async def login(review: ReviewContext, request: Request) -> Response:
    """Check the posted token and keep it as the session cookie."""
    if not _same_origin(request):
        review.auth.deny("csrf")
        return html_response(
            pages.message("Forbidden", "Log in from this site's own login page."), 403
        )
    try:
        data = await read_form(request)
    except FormTooLargeError as exc:
        return html_response(pages.login("/", str(exc)), exc.status)
    token = data.get("token", "").strip()
    principal = review.auth.registry.authenticate(token)
    target = _local(data.get("next", "/"))
    if principal is None:
        review.auth.deny("invalid")
        return html_response(pages.login(target, "That token is not valid (or was revoked)."), 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=_SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )
    return response


@ui.post("/logout", Role.VIEWER)
async def logout(
    review: ReviewContext, *, request: Request, me: Principal, form: dict[str, str]
) -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@ui.get("/ui/queues", Role.VIEWER)
async def index(
    review: ReviewContext, *, request: Request, me: Principal, form: dict[str, str]
) -> Response:
    """Every queue."""
    return html_response(pages.index(review.workflow.summaries(), me, session_csrf(request)))


@ui.get("/ui/queues/{queue}", Role.VIEWER)
async def queue_page(
    review: ReviewContext, *, request: Request, me: Principal, form: dict[str, str], queue: str
) -> Response:
    """One queue: its items waiting and its agreement."""
    workflow = review.workflow
    workflow.queue(queue)
    summary = next(q for q in workflow.summaries() if q["name"] == queue)
    notice = "Nothing left for you to review here." if "empty" in request.query_params else ""
    return html_response(
        pages.queue_page(
            summary,
            workflow.pending(queue, 100),
            workflow.agreement(queue),
            me,
            session_csrf(request),
            notice=notice,
            # Sections other components add (judges: ``judge/start.py``), rendered now.
            panels=[panel() for panel in getattr(request.app.state, "queue_panels", ())],
        )
    )


@ui.post("/ui/queues/{queue}/claim", Role.REVIEWER)
async def claim_next(
    review: ReviewContext, *, request: Request, me: Principal, form: dict[str, str], queue: str
) -> Response:
    """Claim the next item and go to it."""
    return _next_item(review.workflow, queue, me)


@ui.get("/ui/queues/{queue}/items/{span_id}", Role.VIEWER)
async def item_page(
    review: ReviewContext,
    *,
    request: Request,
    me: Principal,
    form: dict[str, str],
    queue: str,
    span_id: str,
) -> Response:
    """One item with its label form."""
    return _item(review.workflow, request, me, queue, span_id)


@ui.post("/ui/queues/{queue}/items/{span_id}/claim", Role.REVIEWER)
async def claim(
    review: ReviewContext,
    *,
    request: Request,
    me: Principal,
    form: dict[str, str],
    queue: str,
    span_id: str,
) -> Response:
    """Claim one item."""
    review.workflow.claim(queue, span_id, me.name)
    return RedirectResponse(f"/ui/queues/{queue}/items/{span_id}", status_code=303)


@ui.post("/ui/queues/{queue}/items/{span_id}/label", Role.REVIEWER)
async def label(
    review: ReviewContext,
    *,
    request: Request,
    me: Principal,
    form: dict[str, str],
    queue: str,
    span_id: str,
) -> Response:
    """Label one item and go to the next."""
    workflow = review.workflow
    scores: dict[str, object] = {}
    for name in workflow.config.rubric.dimensions:
        value = form.get(name, "")
        if value:
            # ASCII digits only: "²" passes str.isdigit() but not int(); the rubric refuses it.
            scores[name] = int(value) if _INTEGER.fullmatch(value) else value
    try:
        workflow.label(
            queue,
            span_id,
            me.name,
            verdict=form.get("verdict", ""),
            scores=scores,
            comment=form.get("comment", ""),
            corrected_answer=form.get("corrected_answer", ""),
        )
    except InvalidLabelError as exc:
        return _item(workflow, request, me, queue, span_id, error=str(exc), status=422)
    return _next_item(workflow, queue, me)


@ui.post("/ui/queues/{queue}/items/{span_id}/skip", Role.REVIEWER)
async def skip(
    review: ReviewContext,
    *,
    request: Request,
    me: Principal,
    form: dict[str, str],
    queue: str,
    span_id: str,
) -> Response:
    """Skip one item and go to the next."""
    review.workflow.skip(queue, span_id, me.name)
    return _next_item(review.workflow, queue, me)


@ui.post("/ui/queues/{queue}/items/{span_id}/release", Role.REVIEWER)
async def release(
    review: ReviewContext,
    *,
    request: Request,
    me: Principal,
    form: dict[str, str],
    queue: str,
    span_id: str,
) -> Response:
    """Give one item back."""
    review.workflow.release(queue, span_id, me.name)
    return RedirectResponse(f"/ui/queues/{queue}", status_code=303)


@ui.get("/ui/export", Role.VIEWER)
async def export(
    review: ReviewContext, *, request: Request, me: Principal, form: dict[str, str]
) -> Response:
    """An evalset file of the queues, period, format and shape asked for."""
    workflow = review.workflow
    params = request.query_params
    queues = params.getlist("queue")
    fmt = params.get("format", "jsonl")
    shape = params.get("shape", "watchkeeper")
    if fmt not in FORMATS or shape not in SHAPES:
        raise ReviewError(
            f"format must be one of {', '.join(FORMATS)}; shape one of {', '.join(SHAPES)}"
        )
    for name in queues:
        workflow.queue(name)
    return export_response(
        workflow,
        queues,
        since=params.get("since"),
        until=params.get("until"),
        fmt=fmt,
        shape=shape,
    )


@ui.get("/ui/tokens", Role.ADMIN)
async def tokens_page(
    review: ReviewContext, *, request: Request, me: Principal, form: dict[str, str]
) -> Response:
    """Every token, and a form to create one."""
    return html_response(pages.tokens_page(review.registry.list(), me, session_csrf(request)))


@ui.post("/ui/tokens", Role.ADMIN)
async def create_token(
    review: ReviewContext, *, request: Request, me: Principal, form: dict[str, str]
) -> Response:
    """Create a token and show its secret once."""
    registry = review.registry
    name, role = form.get("name", ""), form.get("role", "")
    if not re.match(NAME_PATTERN, name) or role not in {r.value for r in Role}:
        raise ReviewError("a token needs a name (letters, digits, ._@-) and a role")
    secret, _ = registry.create(name, role)
    return html_response(
        pages.tokens_page(registry.list(), me, session_csrf(request), new=secret), 201
    )


@ui.post("/ui/tokens/{token_id}/revoke", Role.ADMIN)
async def revoke_token(
    review: ReviewContext, *, request: Request, me: Principal, form: dict[str, str], token_id: str
) -> Response:
    """Revoke a token."""
    review.registry.revoke(token_id)
    return RedirectResponse("/ui/tokens", status_code=303)


def _next_item(workflow: ReviewWorkflow, queue: str, me: Principal) -> Response:
    claim = workflow.claim_next(queue, me.name)
    if claim is None:
        return RedirectResponse(f"/ui/queues/{queue}?empty=1", status_code=303)
    return RedirectResponse(f"/ui/queues/{queue}/items/{claim.span_id}", status_code=303)


def _item(
    workflow: ReviewWorkflow,
    request: Request,
    me: Principal,
    queue: str,
    span_id: str,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    view = workflow.item(queue, span_id, me.name)
    until = view["my_claim_until_ms"]
    note = ""
    if until is not None:
        when = datetime.fromtimestamp(until / 1000, tz=UTC).strftime("%H:%M:%S UTC")
        note = f"Reserved for you until {when}."
    html = pages.item_page(
        queue,
        view,
        workflow.config.rubric,
        me,
        session_csrf(request),
        error=error,
        lease_note=note,
        inline=review_inline(workflow.store, view["item"]),
    )
    return html_response(html, status)


def _check_path(params: dict[str, Any]) -> None:
    """Path parameters are checked before any lookup: queue names and span ids only."""
    queue = params.get("queue")
    if queue is not None and not re.match(QUEUE_NAME_PATTERN, str(queue)):
        raise ItemNotFoundError(f"no queue {queue!r}")
    span = params.get("span_id")
    if span is not None and not _SPAN.match(str(span)):
        raise ItemNotFoundError(f"{span!r} is not a span id (16 hex digits)")
    token_id = params.get("token_id")
    if token_id is not None and not re.fullmatch(r"[0-9a-f]{12}", str(token_id)):
        raise ItemNotFoundError(f"{token_id!r} is not a token id")


class FormTooLargeError(ReviewError):
    """A posted form beyond ``MAX_FORM_BYTES``."""

    status = 413


async def read_form(request: Request) -> dict[str, str]:
    """An urlencoded form's first value per field, read up to ``MAX_FORM_BYTES``."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLargeError(f"form over {MAX_FORM_BYTES // 1024} KiB: send less text")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _same_origin(request: Request) -> bool:
    """Whether a request came from a page of this site (or from no page at all).

    A foreign site's page posting the login form would log the victim in as the attacker
    (login CSRF). Browsers say where a request comes from in ``Sec-Fetch-Site``; older ones
    only in ``Origin``, which our ``Referrer-Policy: no-referrer`` turns into ``null`` even
    on this site's own pages, so ``null`` passes there.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def _local(path: str) -> str:
    """A same-site path to go to after login; anything else becomes ``/``."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return quote(path, safe="/?=&-_.")


def _https(request: Request) -> bool:
    return (
        request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").lower() == "https"
    )
