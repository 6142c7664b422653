"""``@observe``: one OpenTelemetry span per call of an LLM-calling function.

Everything that can be decided once is decided at decoration time (wrapper shape,
signature, where the prompt and model arguments sit, the static attributes), so a
call only reads its arguments, starts a span and ends it. SDK work runs before and
after the user's function, never around its own exception handling: the user's
exception reaches the caller unchanged, and an SDK failure never reaches it at all.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple, ParamSpec, TypeVar, cast, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from watchkeeper.sdk import attributes
from watchkeeper.sdk.call_context import CallContext, enter_call, exit_call
from watchkeeper.sdk.configuration import current_pipeline
from watchkeeper.sdk.internal_errors import handle_internal_error, logger
from watchkeeper.sdk.messages import (
    arguments_message_json,
    chat_messages_json,
    is_chat_messages,
    output_messages_json,
    text_message_json,
)
from watchkeeper.sdk.stats import COUNTERS

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

P = ParamSpec("P")
R = TypeVar("R")

_PROMPT_PARAMETERS: Final = ("prompt", "question", "input", "query")
_RECEIVER_NAMES: Final = ("self", "cls")
_MISSING: Final = object()


class _Parameter(NamedTuple):
    """Where one named parameter's value is found in a call's ``(args, kwargs)``."""

    name: str
    position: int | None  # None: keyword-only
    default: object

    def value(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> object:
        if self.position is not None and self.position < len(args):
            return args[self.position]
        return kwargs.get(self.name, self.default)


def _parameters(signature: inspect.Signature | None) -> dict[str, _Parameter]:
    if signature is None:
        return {}
    found: dict[str, _Parameter] = {}
    positional = True
    for position, parameter in enumerate(signature.parameters.values()):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.KEYWORD_ONLY):
            positional = False  # from here on, parameters can only be passed by keyword
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        default = _MISSING if parameter.default is parameter.empty else parameter.default
        found[parameter.name] = _Parameter(
            parameter.name, position if positional else None, default
        )
    return found


class _Recipe:
    """What to record for each call of one decorated function, prepared once."""

    __slots__ = (
        "explicit_name",
        "fallback_name",
        "has_receiver",
        "messages",
        "model",
        "model_parameter",
        "operation",
        "prompts",
        "signature",
        "static_attributes",
    )

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None,
        model: str | None,
        provider: str | None,
        operation: str,
        route: str | None,
    ) -> None:
        qualname = getattr(func, "__qualname__", None) or repr(func)
        module = getattr(func, "__module__", None)
        qualified = f"{module}.{qualname}" if module else qualname
        static: dict[str, AttributeValue] = {
            attributes.OPERATION_NAME: operation,
            attributes.FUNCTION_NAME: qualified,
            attributes.ROUTE: route or qualified,
            attributes.SAMPLE_RATE: 1.0,
        }
        if provider:
            static[attributes.PROVIDER_NAME] = provider
        if model:
            static[attributes.REQUEST_MODEL] = model
        self.static_attributes = static
        self.explicit_name = name
        self.fallback_name = qualname
        self.operation = operation
        self.model = model
        try:
            self.signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):  # some builtins and C callables have none
            self.signature = None
        parameters = _parameters(self.signature)
        self.messages = parameters.get("messages")
        self.prompts = tuple(parameters[p] for p in _PROMPT_PARAMETERS if p in parameters)
        self.model_parameter = parameters.get("model")
        first = next(iter(parameters), None)
        self.has_receiver = first in _RECEIVER_NAMES

    # --- per call -----------------------------------------------------------------------

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallContext | None:
        """Start the call's span and make it current; None if the SDK failed."""
        try:
            pipeline = current_pipeline()
            span_attributes = self.static_attributes.copy()
            model = self.model
            if model is None and self.model_parameter is not None:
                value = self.model_parameter.value(args, kwargs)
                if isinstance(value, str):
                    model = value
                    span_attributes[attributes.REQUEST_MODEL] = value
            span_attributes[attributes.INPUT_MESSAGES] = self._input_json(
                args, kwargs, pipeline.max_content_chars
            )
            name = self.explicit_name or (
                f"{self.operation} {model}" if model else self.fallback_name
            )
            span = pipeline.tracer.start_span(
                name, kind=SpanKind.CLIENT, attributes=span_attributes
            )
            COUNTERS.spans_started.increment()
            call = CallContext(span, self.operation, rename_on_model=self.explicit_name is None)
            call._context_token = otel_context.attach(trace.set_span_in_context(span))
            enter_call(call)
        except Exception:  # the user's function must run regardless
            handle_internal_error("@observe (start of call)")
            return None
        return call

    def finish(self, call: CallContext, result: object) -> None:
        """Record the return value and end the span."""
        try:
            try:
                output = output_messages_json(result, current_pipeline().max_content_chars)
                if output is not None and call._span is not None:
                    call._span.set_attribute(attributes.OUTPUT_MESSAGES, output)
            finally:
                _end(call)
        except Exception:  # the result is already the caller's
            handle_internal_error("@observe (end of call)")

    def fail(self, call: CallContext, error: BaseException) -> None:
        """Mark the span as failed with ``error`` and end it (the caller re-raises)."""
        try:
            try:
                span = call._span
                if span is not None:
                    span.set_attribute(attributes.ERROR_TYPE, type(error).__qualname__)
                    span.record_exception(error)
                    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            finally:
                _end(call)
        except Exception:  # the user's exception must win
            handle_internal_error("@observe (failed call)")

    def _input_json(self, args: tuple[Any, ...], kwargs: dict[str, Any], limit: int) -> str:
        if self.messages is not None:
            messages = self.messages.value(args, kwargs)
            if is_chat_messages(messages):
                return chat_messages_json(cast("list[Mapping[str, Any]]", messages), limit)
        for parameter in self.prompts:
            prompt = parameter.value(args, kwargs)
            if isinstance(prompt, str):
                return text_message_json("user", prompt, limit)
        # The first str argument, skipping the model name (it is not the prompt).
        model_position = self.model_parameter.position if self.model_parameter else None
        for position, value in enumerate(args):
            if isinstance(value, str) and position != model_position:
                return text_message_json("user", value, limit)
        for key, value in kwargs.items():
            if isinstance(value, str) and key != "model":
                return text_message_json("user", value, limit)
        return arguments_message_json(self._arguments(args, kwargs), limit)

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, object]:
        if self.signature is not None:
            try:
                bound = dict(self.signature.bind_partial(*args, **kwargs).arguments)
            except TypeError:
                pass  # a call the function itself will reject; describe it as given
            else:
                if self.has_receiver:
                    bound.pop(next(iter(self.signature.parameters)), None)
                return bound
        return {**{f"arg{i}": value for i, value in enumerate(args)}, **kwargs}


def _end(call: CallContext) -> None:
    try:
        if call._span is not None:
            call._span.end()
            COUNTERS.spans_ended.increment()
    finally:
        exit_call(call)
        if call._context_token is not None:
            otel_context.detach(call._context_token)
            call._context_token = None


# --- wrappers: one shape per kind of function, chosen at decoration time ----------------


def _wrap_sync(func: Callable[..., Any], recipe: _Recipe) -> Callable[..., Any]:
    @functools.wraps(func)
    def observed(*args: Any, **kwargs: Any) -> Any:
        call = recipe.start(args, kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as error:
            if call is not None:
                recipe.fail(call, error)
            raise
        if call is not None:
            recipe.finish(call, result)
        return result

    return observed


def _wrap_async(func: Callable[..., Any], recipe: _Recipe) -> Callable[..., Any]:
    @functools.wraps(func)
    async def observed(*args: Any, **kwargs: Any) -> Any:
        # Started inside the coroutine, so the span and current_call() live in the
        # awaiting task's context, not in whatever context created the coroutine.
        call = recipe.start(args, kwargs)
        try:
            result = await func(*args, **kwargs)
        except BaseException as error:
            if call is not None:
                recipe.fail(call, error)
            raise
        if call is not None:
            recipe.finish(call, result)
        return result

    return observed


def _is_generator_function(func: Callable[..., Any]) -> bool:
    return inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)


def _decorate(
    func: Callable[P, R],
    *,
    name: str | None,
    model: str | None,
    provider: str | None,
    operation: str,
    route: str | None,
) -> Callable[P, R]:
    if _is_generator_function(func):
        # Streaming support (a span that ends when the stream does) is not built yet;
        # until then a generator is left exactly as it was rather than half-observed.
        logger.debug("watchkeeper: @observe leaves generator %r untraced for now", func)
        return func
    try:
        recipe = _Recipe(
            func, name=name, model=model, provider=provider, operation=operation, route=route
        )
        wrap = _wrap_async if inspect.iscoroutinefunction(func) else _wrap_sync
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
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each call of the decorated function as a GenAI client span.

    Works bare (``@observe``) or with options, on functions, methods and ``async``
    functions. The span is named ``"{operation} {model}"`` (or the function's
    qualified name when no model is known) and carries the prompt, the answer, the
    model and the route as OpenTelemetry GenAI attributes.

    Args:
        name: span name, overriding ``"{operation} {model}"``.
        model: requested model; otherwise taken from a ``model`` argument of the call
            or set inside it with ``current_call().set_model(...)``.
        provider: ``gen_ai.provider.name``, e.g. ``"openai"``.
        operation: ``gen_ai.operation.name``: ``"chat"``, ``"embeddings"``,
            ``"execute_tool"`` ...
        route: the app's logical endpoint (``"support-bot/answer"``); detectors and
            dashboards group by it. Defaults to ``module.qualname``.

    >>> from watchkeeper.sdk import configure, observe
    >>> configure("none")
    >>> @observe(model="gpt-4o-mini", provider="openai")
    ... def answer(question: str) -> str:
    ...     return "Paris."
    >>> answer("What is the capital of France?")
    'Paris.'
    """
    if func is None:

        def decorator(inner: Callable[P, R]) -> Callable[P, R]:
            return _decorate(
                inner, name=name, model=model, provider=provider, operation=operation, route=route
            )

        return decorator
    return _decorate(
        func, name=name, model=model, provider=provider, operation=operation, route=route
    )
