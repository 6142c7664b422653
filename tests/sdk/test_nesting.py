"""Parenting: our spans join whatever trace is current, from us or from the app's own OTel."""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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


def test_spans_of_other_instrumentation_inside_a_call_are_its_children() -> None:
    """A span another OTel instrumentation starts inside the observed call (an HTTP
    client, a DB query) has our span as parent and our trace id."""
    memory = InMemorySpanExporter()
    app_provider = TracerProvider()
    app_provider.add_span_processor(SimpleSpanProcessor(memory))
    app_tracer = app_provider.get_tracer("httpx")

    @observe(model="m")
    def answer(prompt: str) -> str:
        with app_tracer.start_as_current_span("POST /v1/chat/completions"):
            return "ok"

    answer("hi")
    (ours,) = testing.finished_spans()
    (child,) = memory.get_finished_spans()
    assert child.parent is not None
    assert child.parent.span_id == ours.context.span_id
    assert child.context.trace_id == ours.context.trace_id
    assert child.context.trace_flags.sampled


def test_current_span_inside_a_call_is_ours_and_accepts_otel_calls() -> None:
    """trace.get_current_span() inside the call is our span: attributes, events, name and
    status set through the plain OTel API land on it."""

    @observe
    def answer(prompt: str) -> str:
        span = trace.get_current_span()
        assert span.is_recording()
        assert span.get_span_context().span_id == int(current_call().span_id, 16)
        span.set_attribute("app.cache_hit", True)
        span.add_event("retry", {"attempt": 2})
        span.update_name("answer-v2")
        span.set_status(trace.StatusCode.OK)
        return "ok"

    answer("hi")
    (span,) = testing.finished_spans()
    assert span.name == "answer-v2"
    assert span.status.status_code is trace.StatusCode.OK
    assert (span.attributes or {})["app.cache_hit"] is True
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [("retry", {"attempt": 2})]


def test_nesting_across_threads_with_a_copied_context() -> None:
    """A call made on a worker thread that runs in a copy of the caller's context (how
    executors propagate context) is a child of the caller's observed call."""

    @observe(name="inner")
    def inner(prompt: str) -> str:
        return prompt

    @observe(name="outer")
    def outer(prompt: str) -> str:
        context = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda p: context.copy().run(inner, p), ["a", "b"]))
        return "".join(results)

    assert outer("x") == "ab"
    spans = {span.name: span for span in testing.finished_spans()}
    inners = [s for s in testing.finished_spans() if s.name == "inner"]
    assert len(inners) == 2
    for span in inners:
        assert span.parent is not None
        assert span.parent.span_id == spans["outer"].context.span_id


def test_nesting_across_asyncio_tasks() -> None:
    """Tasks created inside an observed async call inherit it as parent, and each
    task's own calls nest under its own span."""

    @observe(name="leaf")
    async def leaf(prompt: str) -> str:
        await asyncio.sleep(0)
        return prompt

    @observe(name="branch")
    async def branch(prompt: str) -> str:
        return await leaf(prompt)

    @observe(name="root")
    async def root(prompt: str) -> str:
        parts = await asyncio.gather(*(asyncio.create_task(branch(p)) for p in "ab"))
        return "".join(parts)

    assert asyncio.run(root("x")) == "ab"
    spans = testing.finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    (root_span,) = [s for s in spans if s.name == "root"]
    for span in spans:
        assert span.context.trace_id == root_span.context.trace_id
        if span.name == "branch":
            assert span.parent is not None
            assert span.parent.span_id == root_span.context.span_id
        if span.name == "leaf":
            assert span.parent is not None
            assert by_id[span.parent.span_id].name == "branch"


def test_remote_parent_is_recorded_as_remote() -> None:
    """Under a span context extracted from an incoming request (remote), our span
    continues that trace and says its parent is remote."""
    remote = trace.SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=trace.TraceFlags(1))

    @observe
    def answer(prompt: str) -> str:
        return "ok"

    token = otel_context.attach(trace.set_span_in_context(trace.NonRecordingSpan(remote)))
    try:
        answer("hi")
    finally:
        otel_context.detach(token)
    (span,) = testing.finished_spans()
    assert span.context.trace_id == 0xABC
    assert span.parent is not None
    assert span.parent.span_id == 0xDEF
    assert span.parent.is_remote
