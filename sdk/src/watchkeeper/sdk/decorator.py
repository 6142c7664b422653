"""``@observe``: one GenAI span per call of an LLM-calling function, at near-zero cost.

Everything that can be decided once is decided at decoration time: the wrapper's
shape (plain function, coroutine, generator, async generator) and the
:class:`~watchkeeper.sdk.recipe.Recipe` (signature, where the prompt and model
arguments sit, the attributes every call shares). Per call, the wrapper runs
:mod:`watchkeeper.sdk.call_lifecycle` before and after the user's function, never
around its own exception handling: the user's exception reaches the caller unchanged,
and an SDK failure never reaches it at all. The export thread turns the call's record
into a span later (:mod:`watchkeeper.sdk.span_builder`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar, cast, overload

from watchkeeper.sdk.call_context import CallContext, attach_context
from watchkeeper.sdk.call_lifecycle import fail_call, finish_call, open_call
from watchkeeper.sdk.internal_errors import handle_internal_error
from watchkeeper.sdk.recipe import Recipe
from watchkeeper.sdk.span_kinds import Kind
from watchkeeper.sdk.streams import wrap_async_generator, wrap_generator

P = ParamSpec("P")
R = TypeVar("R")


# --- wrappers: one shape per kind of function, chosen at decoration time ----------------


def _open_attached(
    recipe: Recipe, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> CallContext | None:
    """The call opened and its context attached; None when the SDK failed to (the user's
    function must run regardless)."""
    try:
        call = open_call(recipe, args, kwargs)
        call.token = attach_context(call.context)  # type: ignore[arg-type]
    except Exception:
        handle_internal_error("@observe (start of call)")
        return None
    return call


def _wrap_sync(func: Callable[..., Any], recipe: Recipe) -> Callable[..., Any]:
    @functools.wraps(func)
    def observed(*args: Any, **kwargs: Any) -> Any:
        call = _open_attached(recipe, args, kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as error:
            if call is not None:
                fail_call(call, error)
            raise
        if call is not None:
            finish_call(call, result)
        return result

    return observed


def _wrap_async(func: Callable[..., Any], recipe: Recipe) -> Callable[..., Any]:
    @functools.wraps(func)
    async def observed(*args: Any, **kwargs: Any) -> Any:
        # Started inside the coroutine, so the span and current_call() live in the
        # awaiting task's context, not in whatever context created the coroutine.
        call = _open_attached(recipe, args, kwargs)
        try:
            result = await func(*args, **kwargs)
        except BaseException as error:
            if call is not None:
                fail_call(call, error)
            raise
        if call is not None:
            finish_call(call, result)
        return result

    return observed


def _decorate(func: Callable[P, R], options: dict[str, Any]) -> Callable[P, R]:
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
    operation: str | None = None,
    route: str | None = None,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
    capture_content: bool | None = None,
    kind: Kind = "llm",
    tool_schema: Mapping[str, Any] | str | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    model: str | None = None,
    provider: str | None = None,
    operation: str | None = None,
    route: str | None = None,
    prompt_name: str | None = None,
    prompt_version: str | None = None,
    capture_content: bool | None = None,
    kind: Kind = "llm",
    tool_schema: Mapping[str, Any] | str | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Record each call of the decorated function as a GenAI span: an LLM call, or a
    step around one (a tool, a retrieval, a reranking, an agent, a chain).

    Works bare (``@observe``) or with options, on functions, methods, ``async``
    functions, generators and async generators (a streamed answer: the span covers
    the whole stream and ends once, when it is exhausted, fails, is closed early or
    abandoned). The span is named ``"{operation} {model}"`` (or the function's
    qualified name when no model is known) and carries the prompt, the answer, the
    model and the route as OpenTelemetry GenAI attributes. Observed calls nest: a call
    made inside another is its child in the same trace, so an agent's steps form a tree.

    Args:
        name: span name, overriding ``"{operation} {model}"``.
        model: requested model; otherwise taken from a ``model`` argument of the call
            or set inside it with ``current_call().set_model(...)``.
        provider: ``gen_ai.provider.name``, e.g. ``"openai"`` (read from an OpenAI or
            Anthropic response when not given).
        operation: ``gen_ai.operation.name``; by default the kind's (``"chat"`` for an
            LLM call).
        route: the app's logical endpoint (``"support-bot/answer"``); detectors and
            dashboards group by it. Defaults to ``module.qualname``.
        prompt_name, prompt_version: the prompt template the function uses.
        capture_content: override ``configure(capture_content=...)`` for this function.
        kind: what the function is: ``"llm"`` (default), ``"tool"`` (``execute_tool``:
            arguments and result as ``gen_ai.tool.call.*``, named by ``name`` or the
            function), ``"agent"`` (``invoke_agent``, ``gen_ai.agent.name``),
            ``"retrieval"`` / ``"rerank"`` (a returned list is recorded as the
            documents, with their scores), ``"chain"``, ``"embedding"``. Each span also
            carries ``openinference.span.kind``.
        tool_schema: for a tool, the JSON schema of its arguments (a dict or JSON
            text), recorded as ``tool.parameters`` so calls that break it are counted.

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
        "kind": kind,
        "tool_schema": tool_schema,
    }
    if func is None:

        def decorator(inner: Callable[P, R]) -> Callable[P, R]:
            return _decorate(inner, options)

        return decorator
    return _decorate(func, options)
