"""``session()``: the conversation and the end user every call inside it belongs to.

A conversation is a run of traces (turns) sharing a session id; the collector puts them
together as one session and watches conversation signals over them (an equivalent
question asked again, turns to resolution, abandonment). The ids ride in the
OpenTelemetry context, so every observed call inside the block records them, nested
calls, asyncio tasks and threads that copy the context included::

    with session(session_id=chat.id, user_id=request.user.id):
        reply = agent(question)

Calls record ``gen_ai.conversation.id`` and ``session.id`` (the same id: the first is the
GenAI convention's, the second OpenInference's) and ``user.id``. The ids also go into
W3C baggage (``session.id``, ``user.id``), so the observed calls of services this one
calls (through OpenTelemetry-instrumented clients) join the session.
``configure(session_id=..., user_id=...)`` sets process-wide defaults;
``current_call().set_user()`` / ``.set_conversation()`` win over both.

>>> from watchkeeper.sdk import configure, session
>>> configure("none")
>>> with session(session_id="chat-7", user_id="u-42"):
...     with session(user_id="u-43"):  # an inner block keeps the outer's session id
...         inner = session_attributes()
>>> inner == {"gen_ai.conversation.id": "chat-7", "session.id": "chat-7", "user.id": "u-43"}
True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Final

from opentelemetry import baggage
from opentelemetry.context import Context

from watchkeeper.sdk.call_context import SESSION_KEY, attach_context, get_context, reset_context
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.settings import BAGGAGE_SESSION, BAGGAGE_USER, session_attributes_of

_NONE: Final[Mapping[str, str]] = {}


def session_attributes() -> Mapping[str, str]:
    """The session and user attributes current in this context (empty outside a session)."""
    found = get_context().get(SESSION_KEY)
    return found if isinstance(found, Mapping) else _NONE


@contextmanager
def session(session_id: str | None = None, *, user_id: str | None = None) -> Iterator[None]:
    """Every observed call inside the block belongs to this session and user.

    Either id may be omitted; an enclosing block's value is kept for it. Never raises
    into the app (a failure to record is logged and counted, the block runs anyway).
    """
    token = None
    try:
        merged = {**session_attributes(), **session_attributes_of(session_id, user_id)}
        context = Context({**get_context(), SESSION_KEY: merged})
        # As W3C baggage too: instrumented HTTP clients carry it to the services they
        # call, whose observed calls join the session.
        if session_id:
            context = baggage.set_baggage(BAGGAGE_SESSION, str(session_id), context)
        if user_id:
            context = baggage.set_baggage(BAGGAGE_USER, str(user_id), context)
        token = attach_context(context)
    except Exception:  # the app's block must run regardless
        handle_internal_error("session (start)")
    try:
        yield
    finally:
        if token is not None:
            try:
                reset_context(token)
            except Exception:  # a token from another context (a generator moved across)
                handle_internal_error("session (end)")
