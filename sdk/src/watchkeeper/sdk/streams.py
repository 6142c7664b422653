"""``@observe`` on generators and async generators: one span for a whole streamed answer.

The wrapper is itself a generator (so ``inspect.isgeneratorfunction`` and frameworks
that check it still see one) that drives the user's generator step by step. Each step
runs with the call's span current, so spans other instrumentation starts inside the
generator are its children, while the consumer's code between chunks keeps its own
context. The span starts at the first ``next()`` (when the generator body starts),
records the time to the first chunk and every chunk (bounded), and ends exactly once:
on exhaustion, on an error, on ``close()``/``aclose()``, or when the generator is
garbage collected unfinished (Python closes it then, which is the same path). An async
stream whose consumer is cancelled (a client hung up) counts as closed early, not as
an error.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any

from watchkeeper.sdk.call_context import CallContext
from watchkeeper.sdk.call_context import attach_context as attach
from watchkeeper.sdk.call_context import reset_context as detach
from watchkeeper.sdk.call_lifecycle import (
    close_early,
    fail_call,
    finish_call,
    open_call,
    record_chunk,
)
from watchkeeper.sdk.internal_errors import handle_internal_error

if TYPE_CHECKING:
    from watchkeeper.sdk.recipe import Recipe


def _open_stream(
    recipe: Recipe, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> CallContext | None:
    try:
        call = open_call(recipe, args, kwargs)
        call.chunks = []
    except Exception:  # the stream must flow regardless
        handle_internal_error("@observe (start of stream)")
        return None
    return call


def wrap_generator(func: Callable[..., Any], recipe: Recipe) -> Callable[..., Any]:
    """Observe a generator function."""

    @functools.wraps(func)
    def observed(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        call = _open_stream(recipe, args, kwargs)
        generator = func(*args, **kwargs)
        if call is None:
            return (yield from generator)
        context = call.context
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = attach(context)  # type: ignore[arg-type]
            try:
                chunk = generator.send(sent) if thrown is None else generator.throw(thrown)
            except StopIteration as stop:
                detach(token)
                finish_call(call, None)
                return stop.value
            except BaseException as error:
                detach(token)
                fail_call(call, error)
                raise
            detach(token)
            thrown = None
            record_chunk(call, chunk)
            try:
                sent = yield chunk
            except GeneratorExit:  # close(), or the generator was garbage collected
                token = attach(context)  # type: ignore[arg-type]
                try:
                    generator.close()
                except BaseException as error:
                    detach(token)
                    fail_call(call, error)
                    raise
                detach(token)
                close_early(call)
                raise
            except BaseException as error:  # the consumer threw into us: pass it on
                thrown = error

    return observed


def wrap_async_generator(func: Callable[..., Any], recipe: Recipe) -> Callable[..., Any]:
    """Observe an async generator function."""

    @functools.wraps(func)
    async def observed(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        call = _open_stream(recipe, args, kwargs)
        generator = func(*args, **kwargs)
        if call is None:
            async for chunk in generator:
                yield chunk
            return
        context = call.context
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = attach(context)  # type: ignore[arg-type]
            try:
                if thrown is None:
                    chunk = await generator.asend(sent)
                else:
                    chunk = await generator.athrow(thrown)
            except StopAsyncIteration:
                detach(token)
                finish_call(call, None)
                return
            except asyncio.CancelledError:  # the consumer went away (e.g. a client hung up)
                detach(token)
                close_early(call)
                raise
            except BaseException as error:
                detach(token)
                fail_call(call, error)
                raise
            detach(token)
            thrown = None
            record_chunk(call, chunk)
            try:
                sent = yield chunk
            except GeneratorExit:  # aclose(), or finalized by the event loop
                token = attach(context)  # type: ignore[arg-type]
                try:
                    await generator.aclose()
                except BaseException as error:
                    detach(token)
                    fail_call(call, error)
                    raise
                detach(token)
                close_early(call)
                raise
            except BaseException as error:  # the consumer threw into us: pass it on
                thrown = error

    return observed
