"""``@observe``: one GenAI span per call of an LLM-calling function, at near-zero cost.

Everything that can be decided once is decided at decoration time (wrapper shape,
signature, where the prompt and model arguments sit, the attributes every call
shares). Per call, the calling thread only takes timestamps and ids, makes the call
current in the OpenTelemetry context, and keeps references to the arguments and the
result; the export thread turns that record into a span later
(:mod:`watchkeeper.sdk.span_builder`). SDK work runs before and after the user's
function, never around its own exception handling: the user's exception reaches the
caller unchanged, and an SDK failure never reaches it at all.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import Token
from random import getrandbits
from time import time_ns
from typing import TYPE_CHECKING, Any, Final, NamedTuple, ParamSpec, TypeVar, cast, overload

from opentelemetry.context import Context, detach

from watchkeeper.sdk import attributes, configuration
from watchkeeper.sdk.call_context import (
    CALL_KEY,
    SPAN_KEY,
    CallContext,
    ObservedSpan,
    attach_context,
    get_context,
    reset_context,
)
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.span_data import StaticAttributes
from watchkeeper.sdk.stats import COUNTERS

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

P = ParamSpec("P")
R = TypeVar("R")

_PROMPT_PARAMETERS: Final = ("prompt", "question", "input", "query")
_RECEIVER_NAMES: Final = ("self", "cls")
_MISSING: Final = object()
_LOW_64: Final = (1 << 64) - 1
_count_started: Final = COUNTERS.spans_started.increment
_count_ended: Final = COUNTERS.spans_ended.increment
_count_sampled_out: Final = COUNTERS.spans_sampled_out.increment
_count_dropped: Final = COUNTERS.spans_dropped.increment
MAX_STREAM_CHUNKS: Final = 10_000
"""Chunks of one stream kept for its output; later ones are counted, not kept."""


class Parameter(NamedTuple):
    """Where one named parameter's value is found in a call's ``(args, kwargs)``."""

    name: str
    position: int | None  # None: keyword-only
    default: object

    def value(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> object:
        """The argument's value in this call (its default if not passed)."""
        if self.position is not None and self.position < len(args):
            return args[self.position]
        return kwargs.get(self.name, self.default)


def _parameters(signature: inspect.Signature | None) -> dict[str, Parameter]:
    if signature is None:
        return {}
    found: dict[str, Parameter] = {}
    positional = True
    for position, parameter in enumerate(signature.parameters.values()):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.KEYWORD_ONLY):
            positional = False  # from here on, parameters can only be passed by keyword
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        default = _MISSING if parameter.default is parameter.empty else parameter.default
        found[parameter.name] = Parameter(parameter.name, position if positional else None, default)
    return found


def _detach(token: Token[Context]) -> None:
    try:
        reset_context(token)
    except ValueError:  # a token from another context: OTel's detach logs it
        detach(token)


class Recipe:
    """What to record for each call of one decorated function, prepared once."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None,
        model: str | None,
        provider: str | None,
        operation: str,
        route: str | None,
        prompt_name: str | None = None,
        prompt_version: str | None = None,
        capture_content: bool | None = None,
    ) -> None:
        qualname = getattr(func, "__qualname__", None) or repr(func)
        module = getattr(func, "__module__", None)
        qualified = f"{module}.{qualname}" if module else qualname
        self.is_tool = operation == "execute_tool"
        static: dict[str, AttributeValue] = {
            attributes.OPERATION_NAME: operation,
            attributes.FUNCTION_NAME: qualified,
            attributes.ROUTE: route or qualified,
        }
        if provider:
            static[attributes.PROVIDER_NAME] = provider
        if model:
            static[attributes.REQUEST_MODEL] = model
        if self.is_tool:
            tool_name = name or getattr(func, "__name__", qualname)
            static[attributes.TOOL_NAME] = tool_name
            name = f"execute_tool {tool_name}"  # the conventions' span name for tools
        if prompt_name:
            static[attributes.PROMPT_NAME] = static[attributes.GEN_AI_PROMPT_NAME] = prompt_name
        if prompt_version is not None:
            static[attributes.PROMPT_VERSION] = str(prompt_version)
        self.static = StaticAttributes(static)
        self.explicit_name = name
        self.fallback_name = qualname
        self.operation = operation
        self.model = model
        self.provider = provider
        self.capture_content = capture_content
        try:
            self.signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):  # some builtins and C callables have none
            self.signature = None
        parameters = _parameters(self.signature)
        self.messages = parameters.get("messages")
        self.prompts = tuple(parameters[p] for p in _PROMPT_PARAMETERS if p in parameters)
        self.model_parameter = parameters.get("model")
        self.system_parameter = parameters.get("system")
        first = next(iter(parameters), None)
        self.has_receiver = first in _RECEIVER_NAMES

    # --- per call: the hot path ---------------------------------------------------------

    def open(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallContext:
        """A new call record, child of the current span, with its context ready to attach."""
        pipeline = configuration._pipeline or configuration.current_pipeline()
        context = get_context()
        parent = context.get(SPAN_KEY)
        call = CallContext.__new__(CallContext)
        if parent is None:
            trace_id = getrandbits(128) or 1
            call._parent_id = 0
            call._parent_remote = False
        elif type(parent) is ObservedSpan:  # our own call: no SpanContext needed
            outer = parent._call
            trace_id = outer._trace_id
            call._parent_id = outer._span_id
            call._parent_remote = False
        else:  # a span of the app's own OpenTelemetry instrumentation
            parent_context = parent.get_span_context()  # type: ignore[attr-defined]
            if parent_context.is_valid:
                trace_id = parent_context.trace_id
                call._parent_id = parent_context.span_id
                call._parent_remote = parent_context.is_remote
            else:
                trace_id = getrandbits(128) or 1
                call._parent_id = 0
                call._parent_remote = False
        call._trace_id = trace_id
        call._span_id = getrandbits(64) or 1
        call._sampled = (trace_id & _LOW_64) < pipeline.sample_bound
        call._recipe = self
        call._pipeline = pipeline
        call._args = args
        call._kwargs = kwargs
        call._snapshot = None
        if self.messages is not None:
            # Apps append to their messages list after the call: keep what was sent.
            messages = self.messages.value(args, kwargs)
            if isinstance(messages, list):
                call._snapshot = messages.copy()
        call._result = call._error = None
        call._attributes = call._extra = None
        call._chunks = None
        call._first_chunk_ns = call._end_ns = 0
        call._span_context = None
        call._token = None
        call._context = Context({**context, SPAN_KEY: ObservedSpan(call), CALL_KEY: call})
        _count_started()
        call._start_ns = time_ns()
        return call

    def finish(self, call: CallContext, result: object) -> None:
        """End the call with its result (the caller returns it)."""
        try:
            if call._end_ns:
                return  # ends exactly once
            call._end_ns = time_ns()
            token = call._token
            if token is not None:
                call._token = None
                _detach(token)
            # The context holds a span that holds the call: break the cycle, so both
            # are freed now by reference counting instead of later by the cyclic GC.
            call._context = None
            call._result = result
            _count_ended()
            if not call._sampled:
                _count_sampled_out()
                return
            worker = call._pipeline.worker
            if worker is not None:  # ExportWorker.submit, inlined: this runs on every call
                queue = worker.queue
                if worker.closed or len(queue) >= worker.max_queue_size:
                    _count_dropped()
                    return
                queue.append(call)
                if len(queue) == worker.batch_size:
                    worker.wake.set()
        except Exception:  # the result is already the caller's
            handle_internal_error("@observe (end of call)")

    def fail(self, call: CallContext, error: BaseException) -> None:
        """End the call as failed with ``error`` (the caller re-raises it)."""
        try:
            if call._end_ns:
                return
            call._end_ns = time_ns()
            token = call._token
            if token is not None:
                call._token = None
                _detach(token)
            # The context holds a span that holds the call: break the cycle, so both
            # are freed now by reference counting instead of later by the cyclic GC.
            call._context = None
            call._error = error
            _count_ended()
            call._pipeline.submit(call)  # errors are kept whatever the sampling
        except Exception:  # the user's exception must win
            handle_internal_error("@observe (failed call)")

    def chunk(self, call: CallContext, chunk: object) -> None:
        """Record one chunk of a streamed call."""
        try:
            chunks = call._chunks
            if chunks is None:
                return
            if not call._first_chunk_ns:
                call._first_chunk_ns = time_ns()
            if len(chunks) < MAX_STREAM_CHUNKS:
                chunks.append(chunk)
            else:
                extra = call._extra_dict()
                extra["dropped_chunks"] = extra.get("dropped_chunks", 0) + 1
        except Exception:  # the chunk is the caller's regardless
            handle_internal_error("@observe (stream chunk)")

    def close_early(self, call: CallContext) -> None:
        """End a stream the consumer stopped (close() or abandonment)."""
        call._set_extra("closed_early", True)
        self.finish(call, None)

    # --- used by the export thread ------------------------------------------------------

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, object]:
        """The call's arguments by name, without ``self``/``cls``."""
        if self.signature is not None:
            try:
                bound = dict(self.signature.bind_partial(*args, **kwargs).arguments)
            except TypeError:
                pass  # a call the function itself rejected; describe it as given
            else:
                if self.has_receiver:
                    bound.pop(next(iter(self.signature.parameters)), None)
                return bound
        return {**{f"arg{i}": value for i, value in enumerate(args)}, **kwargs}


# --- wrappers: one shape per kind of function, chosen at decoration time ----------------


def _wrap_sync(func: Callable[..., Any], recipe: Recipe) -> Callable[..., Any]:
    open_call = recipe.open
    finish = recipe.finish

    @functools.wraps(func)
    def observed(*args: Any, **kwargs: Any) -> Any:
        try:  # Recipe.start, inlined: one Python call less on every call
            call: CallContext | None = open_call(args, kwargs)
            call._token = attach_context(call._context)  # type: ignore[union-attr,arg-type]
        except Exception:  # the user's function must run regardless
            call = None
            handle_internal_error("@observe (start of call)")
        try:
            result = func(*args, **kwargs)
        except BaseException as error:
            if call is not None:
                recipe.fail(call, error)
            raise
        if call is not None:
            finish(call, result)
        return result

    return observed


def _wrap_async(func: Callable[..., Any], recipe: Recipe) -> Callable[..., Any]:
    open_call = recipe.open
    finish = recipe.finish

    @functools.wraps(func)
    async def observed(*args: Any, **kwargs: Any) -> Any:
        # Started inside the coroutine, so the span and current_call() live in the
        # awaiting task's context, not in whatever context created the coroutine.
        try:
            call: CallContext | None = open_call(args, kwargs)
            call._token = attach_context(call._context)  # type: ignore[union-attr,arg-type]
        except Exception:  # the user's function must run regardless
            call = None
            handle_internal_error("@observe (start of call)")
        try:
            result = await func(*args, **kwargs)
        except BaseException as error:
            if call is not None:
                recipe.fail(call, error)
            raise
        if call is not None:
            finish(call, result)
        return result

    return observed


def _decorate(func: Callable[P, R], options: dict[str, Any]) -> Callable[P, R]:
    from watchkeeper.sdk.streams import wrap_async_generator, wrap_generator

    try:
        recipe = Recipe(func, **options)
        if inspect.isasyncgenfunction(func):
            wrap = wrap_async_generator
        elif inspect.isgeneratorfunction(func):
            wrap = wrap_generator
        elif inspect.iscoroutinefunction(func):
            wrap = _wrap_async
        else:
            wrap = _wrap_sync
        return cast("Callable[P, R]", wrap(func, recipe))
    except Exception:  # an undecorated function beats a broken import
        handle_internal_error("@observe (decoration)")
        return func


@overload
def observe(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def observe(
    func: None = None,
    /,
    *,
    name: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    operation: str = "chat",
    route: str | None = None,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
    capture_content: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    operation: str = "chat",
    route: str | None = None,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
    capture_content: bool | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each call of the decorated function as a GenAI client span.

    Works bare (``@observe``) or with options, on functions, methods, ``async``
    functions, generators and async generators (a streamed answer: the span covers
    the whole stream and ends once, when it is exhausted, fails, is closed early or
    abandoned). The span is named ``"{operation} {model}"`` (or the function's
    qualified name when no model is known) and carries the prompt, the answer, the
    model and the route as OpenTelemetry GenAI attributes.

    Args:
        name: span name, overriding ``"{operation} {model}"``.
        model: requested model; otherwise taken from a ``model`` argument of the call
            or set inside it with ``current_call().set_model(...)``.
        provider: ``gen_ai.provider.name``, e.g. ``"openai"`` (read from an OpenAI or
            Anthropic response when not given).
        operation: ``gen_ai.operation.name``: ``"chat"``, ``"embeddings"``,
            ``"execute_tool"`` (records ``gen_ai.tool.*`` instead of messages) ...
        route: the app's logical endpoint (``"support-bot/answer"``); detectors and
            dashboards group by it. Defaults to ``module.qualname``.
        prompt_name, prompt_version: the prompt template the function uses.
        capture_content: override ``configure(capture_content=...)`` for this function.

    >>> from watchkeeper.sdk import configure, observe
    >>> configure("none")
    >>> @observe(model="gpt-4o-mini", provider="openai")
    ... def answer(question: str) -> str:
    ...     return "Paris."
    >>> answer("What is the capital of France?")
    'Paris.'
    """
    options: dict[str, Any] = {
        "name": name,
        "model": model,
        "provider": provider,
        "operation": operation,
        "route": route,
        "prompt_name": prompt_name,
        "prompt_version": prompt_version,
        "capture_content": capture_content,
    }
    if func is None:

        def decorator(inner: Callable[P, R]) -> Callable[P, R]:
            return _decorate(inner, options)

        return decorator
    return _decorate(func, options)
