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
from watchkeeper.sdk.span_data import StaticAttributes

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_PROMPT_PARAMETERS: Final = ("prompt", "question", "input", "query")
_RECEIVER_NAMES: Final = ("self", "cls")
_MISSING: Final = object()


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
