"""The calling thread's share of an observed call: open it, record chunks, end it once.

This is the per-call path every ``@observe`` wrapper runs, so it does as little as it
can: take timestamps and ids, make the call current in the OpenTelemetry context, keep
references to the arguments and the result, and append the finished call to the export
thread's queue. Nothing is converted or copied here (the messages list aside, which
apps mutate after the call); the span is built on the export thread
(:mod:`watchkeeper.sdk.span_builder`).

Each function that runs after the user's code has started catches its own failures
(counted, and re-raised only under pytest): the user's result or exception always wins.
"""

from __future__ import annotations

from contextvars import Token
from random import getrandbits
from time import time_ns
from typing import TYPE_CHECKING, Any, Final

from opentelemetry.context import Context, detach

from watchkeeper.sdk import configuration
from watchkeeper.sdk.call_context import (
    BAGGAGE_KEY,
    CALL_KEY,
    SESSION_KEY,
    SPAN_KEY,
    CallContext,
    ObservedSpan,
    get_context,
    reset_context,
)
from watchkeeper.sdk.counters import COUNTERS
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.settings import session_from_baggage

if TYPE_CHECKING:
    from watchkeeper.sdk.recipe import Recipe

_LOW_64: Final = (1 << 64) - 1
_count_started: Final = COUNTERS.spans_started.increment
_count_ended: Final = COUNTERS.spans_ended.increment
_count_sampled_out: Final = COUNTERS.spans_sampled_out.increment
_count_dropped: Final = COUNTERS.spans_dropped.increment
MAX_STREAM_CHUNKS: Final = 10_000
"""Chunks of one stream kept for its output; later ones are counted, not kept."""


def open_call(recipe: Recipe, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallContext:
    """A new call record, child of the current span, with its context ready to attach.

    The caller attaches ``call.context`` (and keeps the token in ``call.token``) for
    as long as the user's code runs.
    """
    pipeline = configuration.active_pipeline or configuration.current_pipeline()
    context = get_context()
    parent = context.get(SPAN_KEY)
    call = CallContext.__new__(CallContext)  # no __init__: every field is set below
    if parent is None:
        trace_id = getrandbits(128) or 1
        call.parent_span_id_int = 0
        call.parent_is_remote = False
    elif type(parent) is ObservedSpan:  # our own call: no SpanContext needed
        outer = parent.call
        trace_id = outer.trace_id_int
        call.parent_span_id_int = outer.span_id_int
        call.parent_is_remote = False
    else:  # a span of the app's own OpenTelemetry instrumentation
        parent_context = parent.get_span_context()  # type: ignore[attr-defined]
        if parent_context.is_valid:
            trace_id = parent_context.trace_id
            call.parent_span_id_int = parent_context.span_id
            call.parent_is_remote = parent_context.is_remote
        else:
            trace_id = getrandbits(128) or 1
            call.parent_span_id_int = 0
            call.parent_is_remote = False
    call.trace_id_int = trace_id
    call.span_id_int = getrandbits(64) or 1
    call.sampled = (trace_id & _LOW_64) < pipeline.sample_bound
    call.recipe = recipe
    call.pipeline = pipeline
    call.args = args
    call.kwargs = kwargs
    call.messages_snapshot = None
    if recipe.messages is not None:
        # Apps append to their messages list after the call: keep what was sent.
        messages = recipe.messages.value(args, kwargs)
        if isinstance(messages, list):
            call.messages_snapshot = messages.copy()
    session = context.get(SESSION_KEY)
    if session is None:
        carried = context.get(BAGGAGE_KEY)
        if carried:  # another service's session, propagated as W3C baggage
            session = session_from_baggage(carried)  # type: ignore[arg-type]
    call.session = session  # type: ignore[assignment]  # only session() sets the key
    call.result = call.error = None
    call.span_attributes = call.details = None
    call.chunks = None
    call.first_chunk_ns = call.end_ns = 0
    call.token = None
    call.context = Context({**context, SPAN_KEY: ObservedSpan(call), CALL_KEY: call})
    _count_started()
    call.start_ns = time_ns()
    return call


def _end(call: CallContext) -> None:
    """Stamp the end and restore the caller's context."""
    call.end_ns = time_ns()
    token = call.token
    if token is not None:
        call.token = None
        _detach(token)
    # The context holds a span that holds the call: break the cycle, so both are
    # freed now by reference counting instead of later by the cyclic GC.
    call.context = None


def finish_call(call: CallContext, result: object) -> None:
    """End the call with its result (the caller returns it); queue it for export."""
    try:
        if call.end_ns:
            return  # ends exactly once
        # _end(call), inlined: this runs on every call.
        call.end_ns = time_ns()
        token = call.token
        if token is not None:
            call.token = None
            _detach(token)
        call.context = None  # see _end
        call.result = result
        _count_ended()
        if not call.sampled:
            _count_sampled_out()
            return
        worker = call.pipeline.worker
        if worker is not None:  # ExportWorker.submit, inlined for the same reason
            queue = worker.queue
            if worker.closed or len(queue) >= worker.max_queue_size:
                _count_dropped()
                return
            queue.append(call)
            if len(queue) == worker.batch_size:
                worker.wake.set()
    except Exception:  # the result is already the caller's
        handle_internal_error("@observe (end of call)")


def fail_call(call: CallContext, error: BaseException) -> None:
    """End the call as failed with ``error`` (the caller re-raises it)."""
    try:
        if call.end_ns:
            return
        _end(call)
        call.error = error
        _count_ended()
        call.pipeline.submit(call)  # errors are kept whatever the sampling
    except Exception:  # the user's exception must win
        handle_internal_error("@observe (failed call)")


def record_chunk(call: CallContext, chunk: object) -> None:
    """Record one chunk of a streamed call."""
    try:
        chunks = call.chunks
        if chunks is None:
            return
        if not call.first_chunk_ns:
            call.first_chunk_ns = time_ns()
        if len(chunks) < MAX_STREAM_CHUNKS:
            chunks.append(chunk)
        else:
            details = _details(call)
            details["dropped_chunks"] = details.get("dropped_chunks", 0) + 1
    except Exception:  # the chunk is the caller's regardless
        handle_internal_error("@observe (stream chunk)")


def close_early(call: CallContext) -> None:
    """End a stream the consumer stopped (close() or abandonment)."""
    if not call.end_ns:
        _details(call)["closed_early"] = True
    finish_call(call, None)


def _details(call: CallContext) -> dict[str, Any]:
    details = call.details
    if details is None:
        details = call.details = {}
    return details


def _detach(token: Token[Context]) -> None:
    try:
        reset_context(token)
    except ValueError:  # a token from another context: OTel's detach logs it
        detach(token)
