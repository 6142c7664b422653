"""Session and user ids: session(...) blocks, configure() defaults, per-call setters."""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

import pytest

from watchkeeper.sdk import attributes, configure, current_call, observe, session, testing


@observe(model="m")
def ask(question: str) -> str:
    return "ok"


@observe(kind="agent", name="helper")
def helper(question: str) -> str:
    return ask(question)


def _ids() -> list[tuple[object, object, object]]:
    return [
        (
            dict(span.attributes or {}).get(attributes.CONVERSATION_ID),
            dict(span.attributes or {}).get(attributes.SESSION_ID),
            dict(span.attributes or {}).get(attributes.USER_ID),
        )
        for span in testing.finished_spans()
    ]


def test_every_call_in_a_session_block_carries_its_ids() -> None:
    """Calls inside the block, nested ones included, carry gen_ai.conversation.id,
    session.id and user.id; calls after it carry none."""
    with session(session_id="chat-1", user_id="u-1"):
        helper("hi")
    ask("after")
    assert _ids() == [("chat-1", "chat-1", "u-1")] * 2 + [(None, None, None)]


def test_an_inner_block_keeps_the_outer_session_and_changes_the_user() -> None:
    """session(user_id=...) inside session(session_id=...) keeps the session id."""
    with session(session_id="chat-2", user_id="u-1"), session(user_id="u-2"):
        ask("q")
    assert _ids() == [("chat-2", "chat-2", "u-2")]


def test_the_session_reaches_asyncio_tasks_and_copied_thread_contexts() -> None:
    """The ids ride in the context: tasks created inside the block and threads running
    in a copy of its context record them."""

    async def turn() -> None:
        await asyncio.gather(asyncio.to_thread(ask, "a"), asyncio.create_task(_ask_async()))

    async def _ask_async() -> str:
        return ask("b")

    with session(session_id="chat-3"):
        asyncio.run(turn())
        context = contextvars.copy_context()
        with ThreadPoolExecutor(1) as pool:
            pool.submit(context.run, ask, "c").result()
    assert _ids() == [("chat-3", "chat-3", None)] * 3


def test_configure_defaults_and_per_call_setters() -> None:
    """configure(session_id=, user_id=) stamps every call; a session block wins over it,
    and current_call().set_user / set_session win over both."""
    configure("memory", session_id="batch-9", user_id="svc")

    @observe(model="m")
    def personal(question: str) -> str:
        current_call().set_user("u-7")
        current_call().set_session("chat-7")
        return "ok"

    ask("q")
    with session(session_id="chat-4"):
        ask("q")
        personal("q")
    assert _ids() == [
        ("batch-9", "batch-9", "svc"),
        ("chat-4", "chat-4", "svc"),
        ("chat-7", "chat-7", "u-7"),
    ]


def test_a_session_block_is_cheap_to_leave_and_restores_the_context() -> None:
    """Leaving the block (also by an exception) restores the caller's context."""
    with pytest.raises(KeyError), session(session_id="chat-5"):
        raise KeyError("app error")
    ask("q")
    assert _ids() == [(None, None, None)]


def test_the_session_reaches_another_service_as_w3c_baggage() -> None:
    """Headers injected inside a session block (what an instrumented HTTP client sends)
    carry the ids as W3C baggage; a service extracting them records its calls in the same
    session, for the same user."""
    from opentelemetry import context as otel_context
    from opentelemetry.baggage.propagation import W3CBaggagePropagator

    headers: dict[str, str] = {}
    with session(session_id="chat-6", user_id="u-6"):
        W3CBaggagePropagator().inject(headers)
    assert "session.id=chat-6" in headers["baggage"]
    token = otel_context.attach(W3CBaggagePropagator().extract(headers))
    try:
        ask("downstream")
    finally:
        otel_context.detach(token)
    assert _ids() == [("chat-6", "chat-6", "u-6")]
