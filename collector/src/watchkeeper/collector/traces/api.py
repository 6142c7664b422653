"""``/api/traces/{trace_id}`` and ``/api/sessions/{session_id}``: a trace's tree and a
conversation's turns, as JSON.

Same authentication and roles as every review and overview route: a bearer token with
the viewer role. Handlers are module-level functions in the ``api`` route table;
:func:`traces_router` binds it to one app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path

from watchkeeper.collector.review.auth import Auth
from watchkeeper.collector.review.routes import RouteTable, api_endpoints
from watchkeeper.collector.review.tokens import Principal, Role
from watchkeeper.collector.traces.views import TraceViews

TRACE_PATTERN = r"^[0-9a-f]{32}$"
#: Session ids are the application's own: any text without control characters.
SESSION_PATTERN = r"^[^\x00-\x1f\x7f]{1,256}$"

TraceId = Annotated[str, Path(pattern=TRACE_PATTERN, description="32 hex digits")]
SessionId = Annotated[
    str, Path(pattern=SESSION_PATTERN, description="gen_ai.conversation.id or session.id")
]


@dataclass(frozen=True)
class TracesContext:
    """What one app's trace and session routes work on."""

    views: TraceViews
    auth: Auth


api = RouteTable()


def traces_router(views: TraceViews, auth: Auth) -> APIRouter:
    """The traces and sessions API of one app."""
    ctx = TracesContext(views, auth)
    return api.router(api_endpoints(ctx, auth, "ctx"), prefix="/api", tags=["traces"])


@api.get("/traces/{trace_id}", Role.VIEWER)
def trace(ctx: TracesContext, trace_id: TraceId, me: Principal) -> dict[str, Any]:
    """The trace as a tree: every stored span nested under its parent, in start order,
    with its kind, timings (``offset_ms`` from the trace's start), inputs and outputs,
    documents and their scores, and the scores and alarms of the LLM calls on their spans.
    ``partial`` is true when a parent (or the root) is missing; such spans are at the top."""
    return ctx.views.trace(trace_id)


@api.get("/sessions/{session_id}", Role.VIEWER)
def session(ctx: TracesContext, session_id: SessionId, me: Principal) -> dict[str, Any]:
    """The conversation: one turn per trace in time order, each with its trace id, the
    question and answer, its span kinds and errors."""
    return ctx.views.session(session_id)


__all__ = ["TracesContext", "api", "traces_router"]
