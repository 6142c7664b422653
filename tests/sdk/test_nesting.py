"""Parenting: our spans join whatever trace is current, from us or from the app's own OTel."""

from __future__ import annotations

import asyncio

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from watchkeeper.sdk import current_call, observe, testing


def test_nested_observed_calls_form_parent_and_child() -> None:
    """An @observe call made inside another is its child in the same trace."""

    @observe(model="inner-model")
    def inner(prompt: str) -> str:
        return "inner"

    @observe(name="agent step")
    def outer(prompt: str) -> str:
        return inner(prompt) + "+outer"

    assert outer("go") == "inner+outer"
    child, parent = testing.finished_spans()  # the child ends first
    assert parent.name == "agent step"
    assert child.parent is not None
    assert child.parent.span_id == parent.context.span_id
    assert child.context.trace_id == parent.context.trace_id
    assert parent.parent is None


def test_observed_call_nests_under_a_span_of_the_apps_own_provider() -> None:
    """A span started by a separate, plain OTel TracerProvider (not ours, not global)
    is the parent of our span, and it is current again after our call."""
    app_tracer = TracerProvider().get_tracer("the-app")

    @observe
    def answer(prompt: str) -> str:
        return "ok"

    with app_tracer.start_as_current_span("HTTP POST /chat") as request_span:
        answer("hi")
        assert trace.get_current_span() is request_span

    (span,) = testing.finished_spans()
    assert span.parent is not None
    assert span.parent.span_id == request_span.get_span_context().span_id
    assert span.context.trace_id == request_span.get_span_context().trace_id


def test_configure_leaves_the_global_tracer_provider_alone() -> None:
    """configure() builds a private provider; the app's global one is untouched."""
    from watchkeeper.sdk import configure

    before = trace.get_tracer_provider()
    configure("memory")
    assert trace.get_tracer_provider() is before


def test_concurrent_async_calls_keep_their_own_current_call() -> None:
    """Concurrent tasks each see their own call in current_call() and their own span."""

    @observe
    async def answer(prompt: str) -> str:
        await asyncio.sleep(0.01)
        current_call().set_user(prompt)
        await asyncio.sleep(0.01)
        return prompt

    async def main() -> list[str]:
        return list(await asyncio.gather(answer("alice"), answer("bob")))

    assert asyncio.run(main()) == ["alice", "bob"]
    spans = testing.finished_spans()
    assert sorted(str((s.attributes or {})["user.id"]) for s in spans) == ["alice", "bob"]
    for span in spans:
        assert span.parent is None
