"""The reviewers' web UI: log in, pick a queue, claim, label, skip, release, export.

Server-rendered HTML (``pages.py``) and plain form posts: it works without JavaScript
(the one script fills the login form from a ``#token=`` link). Sessions are the API token
in an HttpOnly, SameSite=Strict cookie; forms carry a CSRF token (see ``auth.py``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from watchkeeper.collector.evalset import FORMATS, SHAPES
from watchkeeper.collector.review import pages
from watchkeeper.collector.review.api import export_response
from watchkeeper.collector.review.auth import SESSION_COOKIE, Auth, UiAuthError, csrf_token
from watchkeeper.collector.review.queues import QUEUE_NAME_PATTERN
from watchkeeper.collector.review.tokens import NAME_PATTERN, Principal, Role, TokenRegistry
from watchkeeper.collector.review.workflow import (
    InvalidLabelError,
    ItemNotFoundError,
    ReviewError,
    ReviewWorkflow,
)

_SPAN = re.compile(r"^[0-9a-f]{16}$")
_SESSION_MAX_AGE_S = 12 * 3600
Handler = Callable[..., Awaitable[Response]]


def review_ui_router(  # noqa: PLR0915 - one nested function per route
    workflow: ReviewWorkflow, auth: Auth, registry: TokenRegistry
) -> APIRouter:
    """Routes ``/``, ``/login``, ``/logout`` and ``/ui/...``."""
    router = APIRouter(include_in_schema=False)

    def guarded(needed: Role, *, form: bool = False) -> Callable[[Handler], Handler]:
        """Authenticate (and for forms check CSRF), render auth and review errors."""

        def decorate(handler: Handler) -> Handler:
            @wraps(handler)
            async def run(request: Request, **kwargs: Any) -> Response:
                try:
                    me = auth.ui(request, needed)
                    data: dict[str, str] = {}
                    if form:
                        data = await _form(request)
                        auth.check_csrf(request, data.get("csrf", ""))
                    _check_path(kwargs)
                    response = await handler(request, me=me, form=data, **kwargs)
                except UiAuthError as exc:
                    if exc.status == 401:
                        response = _html(pages.login(_local(request.url.path)), 401)
                    else:
                        response = _html(pages.message("Forbidden", str(exc)), 403)
                except ReviewError as exc:
                    session = auth.ui_session(request)
                    response = _html(
                        pages.message("Not possible", str(exc), session, _csrf(request)),
                        exc.status,
                    )
                response.headers.update(pages.SECURITY_HEADERS)
                return response

            # FastAPI reads parameters from the signature: expose the handler's own, less
            # what this wrapper supplies (``me``, ``form``).
            signature = inspect.signature(handler)
            run.__signature__ = signature.replace(  # type: ignore[attr-defined]
                parameters=[p for n, p in signature.parameters.items() if n not in ("me", "form")]
            )
            return run

        return decorate

    @router.get("/ui/login.js")
    def login_js() -> Response:
        return Response(
            pages.LOGIN_JS, media_type="text/javascript", headers=pages.SECURITY_HEADERS
        )

    @router.get("/login")
    def login_page(request: Request, next: str = "/") -> Response:
        return _html(pages.login(_local(next)))

    @router.post("/login")
    async def login(request: Request) -> Response:
        data = await _form(request)
        token = data.get("token", "").strip()
        principal = auth.registry.authenticate(token)
        target = _local(data.get("next", "/"))
        if principal is None:
            auth.deny("invalid")
            return _html(pages.login(target, "That token is not valid (or was revoked)."), 401)
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

    @router.post("/logout")
    @guarded(Role.VIEWER, form=True)
    async def logout(request: Request, me: Principal, form: dict[str, str]) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.get("/")
    @guarded(Role.VIEWER)
    async def index(request: Request, me: Principal, form: dict[str, str]) -> Response:
        return _html(pages.index(workflow.summaries(), me, _csrf(request)))

    @router.get("/ui/queues/{queue}")
    @guarded(Role.VIEWER)
    async def queue_page(
        request: Request, me: Principal, form: dict[str, str], queue: str
    ) -> Response:
        workflow.queue(queue)
        summary = next(q for q in workflow.summaries() if q["name"] == queue)
        notice = "Nothing left for you to review here." if "empty" in request.query_params else ""
        return _html(
            pages.queue_page(
                summary,
                workflow.pending(queue, 100),
                workflow.agreement(queue),
                me,
                _csrf(request),
                notice=notice,
            )
        )

    @router.post("/ui/queues/{queue}/claim")
    @guarded(Role.REVIEWER, form=True)
    async def claim_next(
        request: Request, me: Principal, form: dict[str, str], queue: str
    ) -> Response:
        return _next_item(workflow, queue, me)

    @router.get("/ui/queues/{queue}/items/{span_id}")
    @guarded(Role.VIEWER)
    async def item_page(
        request: Request, me: Principal, form: dict[str, str], queue: str, span_id: str
    ) -> Response:
        return _item(workflow, request, me, queue, span_id)

    @router.post("/ui/queues/{queue}/items/{span_id}/claim")
    @guarded(Role.REVIEWER, form=True)
    async def claim(
        request: Request, me: Principal, form: dict[str, str], queue: str, span_id: str
    ) -> Response:
        workflow.claim(queue, span_id, me.name)
        return RedirectResponse(f"/ui/queues/{queue}/items/{span_id}", status_code=303)

    @router.post("/ui/queues/{queue}/items/{span_id}/label")
    @guarded(Role.REVIEWER, form=True)
    async def label(
        request: Request, me: Principal, form: dict[str, str], queue: str, span_id: str
    ) -> Response:
        scores: dict[str, object] = {}
        for name in workflow.config.rubric.dimensions:
            value = form.get(name, "")
            if value:
                scores[name] = int(value) if value.lstrip("-").isdigit() else value
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

    @router.post("/ui/queues/{queue}/items/{span_id}/skip")
    @guarded(Role.REVIEWER, form=True)
    async def skip(
        request: Request, me: Principal, form: dict[str, str], queue: str, span_id: str
    ) -> Response:
        workflow.skip(queue, span_id, me.name)
        return _next_item(workflow, queue, me)

    @router.post("/ui/queues/{queue}/items/{span_id}/release")
    @guarded(Role.REVIEWER, form=True)
    async def release(
        request: Request, me: Principal, form: dict[str, str], queue: str, span_id: str
    ) -> Response:
        workflow.release(queue, span_id, me.name)
        return RedirectResponse(f"/ui/queues/{queue}", status_code=303)

    @router.get("/ui/export")
    @guarded(Role.VIEWER)
    async def export(request: Request, me: Principal, form: dict[str, str]) -> Response:
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

    @router.get("/ui/tokens")
    @guarded(Role.ADMIN)
    async def tokens_page(request: Request, me: Principal, form: dict[str, str]) -> Response:
        return _html(pages.tokens_page(registry.list(), me, _csrf(request)))

    @router.post("/ui/tokens")
    @guarded(Role.ADMIN, form=True)
    async def create_token(request: Request, me: Principal, form: dict[str, str]) -> Response:
        name, role = form.get("name", ""), form.get("role", "")
        if not re.match(NAME_PATTERN, name) or role not in {r.value for r in Role}:
            raise ReviewError("a token needs a name (letters, digits, ._@-) and a role")
        secret, _ = registry.create(name, role)
        return _html(pages.tokens_page(registry.list(), me, _csrf(request), new=secret), 201)

    @router.post("/ui/tokens/{token_id}/revoke")
    @guarded(Role.ADMIN, form=True)
    async def revoke_token(
        request: Request, me: Principal, form: dict[str, str], token_id: str
    ) -> Response:
        registry.revoke(token_id)
        return RedirectResponse("/ui/tokens", status_code=303)

    return router


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
        queue, view, workflow.config.rubric, me, _csrf(request), error=error, lease_note=note
    )
    return _html(html, status)


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


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form's first value per field (bounded: forms here are small)."""
    body = await request.body()
    if len(body) > 512 * 1024:
        raise ReviewError("form too large")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _csrf(request: Request) -> str:
    token = request.cookies.get(SESSION_COOKIE, "")
    return csrf_token(token) if token else ""


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


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=pages.SECURITY_HEADERS)
