"""@observe on generators and async generators: one span per stream, ended exactly once."""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from tests.sdk.stats_delta import StatsDelta
from watchkeeper.sdk import attributes, current_call, observe, testing


def only_span() -> ReadableSpan:
    spans = testing.finished_spans()
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def output_text(span: ReadableSpan) -> str:
    assert span.attributes is not None
    (message,) = json.loads(str(span.attributes[attributes.OUTPUT_MESSAGES]))
    return "".join(part["content"] for part in message["parts"])


@observe(model="m")
def stream(prompt: str) -> Iterator[str]:
    for word in prompt.split():
        yield word + " "


@observe(model="m")
async def astream(prompt: str) -> AsyncIterator[str]:
    for word in prompt.split():
        await asyncio.sleep(0)
        yield word + " "


def test_wrappers_keep_the_generator_kind() -> None:
    """Frameworks that check inspect.isgeneratorfunction/isasyncgenfunction still see one."""
    assert inspect.isgeneratorfunction(stream)
    assert inspect.isasyncgenfunction(astream)


def test_exhausted_stream_records_one_span_with_joined_output(stats_delta: StatsDelta) -> None:
    """A consumed stream yields its chunks unchanged and records one span: the joined
    output, the chunk count, stream=true and the time to the first chunk."""
    assert list(stream("the quick fox")) == ["the ", "quick ", "fox "]
    span = only_span()
    assert span.attributes is not None
    assert output_text(span) == "the quick fox "
    assert span.attributes[attributes.STREAM_CHUNKS] == 3
    assert span.attributes[attributes.REQUEST_STREAM] is True
    first_chunk = span.attributes[attributes.RESPONSE_TIME_TO_FIRST_CHUNK]
    assert isinstance(first_chunk, float)
    assert span.end_time is not None
    assert span.start_time is not None
    assert 0 <= first_chunk <= (span.end_time - span.start_time) / 1e9
    assert attributes.STREAM_CLOSED_EARLY not in span.attributes
    assert stats_delta["spans_started"] == stats_delta["spans_ended"] == 1


def test_generator_return_value_reaches_yield_from() -> None:
    """The inner generator's return value passes through (``yield from`` sees it)."""

    @observe
    def with_result(prompt: str) -> Iterator[str]:
        yield prompt
        return "done"

    def consumer() -> Iterator[str]:
        outcome = yield from with_result("hi")
        yield outcome

    assert list(consumer()) == ["hi", "done"]


def test_early_close_ends_the_span_once(stats_delta: StatsDelta) -> None:
    """close() after two chunks ends the span (marked closed early) and runs the
    generator's own cleanup; closing again records nothing more."""
    cleaned = []

    @observe
    def tokens(prompt: str) -> Iterator[str]:
        try:
            yield from prompt
        finally:
            cleaned.append(True)

    consumer = tokens("abcdef")
    assert next(consumer) == "a"
    assert next(consumer) == "b"
    consumer.close()
    consumer.close()
    assert cleaned == [True]
    span = only_span()
    assert span.attributes is not None
    assert span.attributes[attributes.STREAM_CLOSED_EARLY] is True
    assert output_text(span) == "ab"
    assert stats_delta["spans_ended"] == 1


def test_abandoned_stream_ends_when_collected(stats_delta: StatsDelta) -> None:
    """A consumer that stops iterating and drops the generator still gets its span
    ended (Python closes collected generators)."""
    consumer = stream("one two three")
    next(consumer)
    del consumer
    gc.collect()
    span = only_span()
    assert span.attributes is not None
    assert span.attributes[attributes.STREAM_CLOSED_EARLY] is True
    assert stats_delta["spans_ended"] == 1


def test_error_mid_stream_marks_the_span_and_reaches_the_consumer() -> None:
    """An exception inside the stream reaches the consumer unchanged; the span keeps
    the chunks so far, is an error, and ends once."""

    @observe
    def failing(prompt: str) -> Iterator[str]:
        yield "partial"
        raise ConnectionResetError("provider hung up")

    consumer = failing("hi")
    assert next(consumer) == "partial"
    with pytest.raises(ConnectionResetError, match="hung up"):
        next(consumer)
    span = only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes[attributes.ERROR_TYPE] == "ConnectionResetError"
    assert span.attributes[attributes.STREAM_CHUNKS] == 1


def test_send_and_throw_pass_through() -> None:
    """Values sent into the stream and exceptions thrown into it reach the generator;
    one it handles keeps the stream going."""

    @observe
    def echo(prompt: str) -> Iterator[str]:
        received = yield prompt
        try:
            yield f"got {received}"
        except KeyError:
            yield "handled"

    consumer = echo("start")
    assert next(consumer) == "start"
    assert consumer.send("ping") == "got ping"
    assert consumer.throw(KeyError("x")) == "handled"
    consumer.close()
    assert output_text(only_span()) == "startgot pinghandled"


def test_a_stream_never_started_records_nothing(stats_delta: StatsDelta) -> None:
    """Creating a generator without iterating it is not a call."""
    stream("never read")
    gc.collect()
    assert testing.finished_spans() == ()
    assert stats_delta["spans_started"] == 0


def test_each_step_runs_under_the_span_and_the_consumer_does_not() -> None:
    """Spans other instrumentation starts inside the generator are children of the
    stream's span; the consumer's code between chunks sees its own context, and
    current_call() works inside the generator."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("app")

    @observe
    def traced(prompt: str) -> Iterator[str]:
        for word in prompt.split():
            with tracer.start_as_current_span(f"fetch {word}"):
                current_call().set_user("u-1")
                yield word

    seen_between = []
    for _ in traced("a b"):
        seen_between.append(trace.get_current_span())
    (span,) = testing.finished_spans()
    children = memory.get_finished_spans()
    assert [child.name for child in children] == ["fetch a", "fetch b"]
    for child in children:
        assert child.parent is not None
        assert child.parent.span_id == span.context.span_id
    assert all(current is trace.INVALID_SPAN for current in seen_between)
    assert span.attributes is not None
    assert span.attributes[attributes.USER_ID] == "u-1"


def test_async_stream_records_one_span() -> None:
    """An async generator records one span with the joined output when exhausted."""

    async def consume() -> list[str]:
        return [chunk async for chunk in astream("hello async world")]

    assert asyncio.run(consume()) == ["hello ", "async ", "world "]
    span = only_span()
    assert output_text(span) == "hello async world "
    assert span.attributes is not None
    assert span.attributes[attributes.STREAM_CHUNKS] == 3


def test_async_stream_closed_early_ends_once(stats_delta: StatsDelta) -> None:
    """aclose() after one chunk ends the async stream's span, marked closed early."""

    async def consume() -> str:
        consumer = astream("one two three")
        first = await consumer.__anext__()
        await consumer.aclose()
        await consumer.aclose()
        return first

    assert asyncio.run(consume()) == "one "
    span = only_span()
    assert span.attributes is not None
    assert span.attributes[attributes.STREAM_CLOSED_EARLY] is True
    assert stats_delta["spans_ended"] == 1


def test_async_stream_abandoned_is_finalized_by_the_loop(stats_delta: StatsDelta) -> None:
    """An async stream left unfinished is closed by asyncio's generator finalizer
    (asyncio.run shuts async generators down), ending its span once."""

    async def consume() -> None:
        consumer = astream("one two three")
        await consumer.__anext__()

    asyncio.run(consume())
    gc.collect()
    span = only_span()
    assert span.attributes is not None
    assert span.attributes[attributes.STREAM_CLOSED_EARLY] is True
    assert stats_delta["spans_ended"] == 1


def test_async_error_mid_stream() -> None:
    """An exception in an async stream reaches the consumer; the span is an error."""

    @observe
    async def failing(prompt: str) -> AsyncIterator[str]:
        yield "partial"
        raise TimeoutError("slow provider")

    async def consume() -> list[Any]:
        return [chunk async for chunk in failing("hi")]

    with pytest.raises(TimeoutError):
        asyncio.run(consume())
    assert only_span().status.status_code is StatusCode.ERROR
