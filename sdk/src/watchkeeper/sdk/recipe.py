"""What to record for every call of one decorated function, worked out once.

``@observe`` builds a :class:`Recipe` at decoration time: the attributes every call
shares (encoded once by the exporter), the span's name, and where the prompt,
messages, model and system arguments sit in the function's signature, so that
neither the calling thread nor the export thread inspects the signature per call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from watchkeeper.sdk import attributes
from watchkeeper.sdk.messages import dumps
from watchkeeper.sdk.span_data import StaticAttributes
from watchkeeper.sdk.span_kinds import span_kind

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_PROMPT_PARAMETERS: Final = ("prompt", "question", "input", "query")
_RECEIVER_NAMES: Final = ("self", "cls")
_MISSING: Final = object()
#: ``@observe(operation=...)`` values that name a kind of step other than an LLM call.
_KIND_OF_OPERATION: Final = {
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "embeddings": "embedding",
    "retrieval": "retrieval",
}


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


class Recipe:
    """What to record for each call of one decorated function, prepared once."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None,
        model: str | None,
        provider: str | None,
        operation: str | None,
        route: str | None,
        prompt_name: str | None = None,
        prompt_version: str | None = None,
        capture_content: bool | None = None,
        kind: str = "llm",
        tool_schema: Mapping[str, Any] | str | None = None,
    ) -> None:
        qualname = getattr(func, "__qualname__", None) or repr(func)
        module = getattr(func, "__module__", None)
        qualified = f"{module}.{qualname}" if module else qualname
        if kind == "llm" and operation in _KIND_OF_OPERATION:
            kind = _KIND_OF_OPERATION[operation]
        spec = span_kind(kind)
        operation = operation or spec.operation
        self.kind = kind
        self.span_kind = spec.span_kind
        self.returns_documents = spec.returns_documents
        self.is_tool = kind == "tool"
        static: dict[str, AttributeValue] = {}
        if operation:
            static[attributes.OPERATION_NAME] = operation
        if kind != "llm":  # an LLM call is told by its GenAI operation alone
            static[attributes.OPENINFERENCE_SPAN_KIND] = spec.openinference
        static[attributes.FUNCTION_NAME] = qualified
        static[attributes.ROUTE] = route or qualified
        if provider:
            static[attributes.PROVIDER_NAME] = provider
        if model:
            static[attributes.REQUEST_MODEL] = model
        name = _step_attributes(
            func, static, kind=kind, name=name, operation=operation, tool_schema=tool_schema
        )
        if prompt_name:
            static[attributes.PROMPT_NAME] = static[attributes.GEN_AI_PROMPT_NAME] = prompt_name
        if prompt_version is not None:
            static[attributes.PROMPT_VERSION] = str(prompt_version)
        self.static = StaticAttributes(static)
        self.explicit_name = name
        self.fallback_name = qualname
        self.operation = operation or kind
        self.model = model
        self.provider = provider
        self.capture_content = capture_content
        self._read_signature(func)

    def _read_signature(self, func: Callable[..., Any]) -> None:
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

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, object]:
        """The call's arguments by name, without ``self``/``cls`` (export thread)."""
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


def _step_attributes(
    func: Callable[..., Any],
    static: dict[str, AttributeValue],
    *,
    kind: str,
    name: str | None,
    operation: str | None,
    tool_schema: Mapping[str, Any] | str | None,
) -> str | None:
    """The static attributes of a tool or an agent; returns the span's explicit name
    (the conventions name such spans ``"execute_tool {tool}"``, ``"invoke_agent {agent}"``)."""
    if kind == "tool":
        tool_name = name or getattr(func, "__name__", None) or repr(func)
        static[attributes.TOOL_NAME] = tool_name
        static[attributes.TOOL_TYPE] = "function"
        description = _first_line(func)
        if description:
            static[attributes.TOOL_DESCRIPTION] = description
        if tool_schema is not None:
            schema = tool_schema if isinstance(tool_schema, str) else dumps(tool_schema)
            static[attributes.TOOL_PARAMETERS] = schema
        return f"{operation} {tool_name}"
    if kind == "agent":
        agent_name = name or getattr(func, "__name__", None) or repr(func)
        static[attributes.AGENT_NAME] = agent_name
        return f"{operation} {agent_name}"
    return name


def _first_line(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func)
    return doc.strip().splitlines()[0] if doc else ""
