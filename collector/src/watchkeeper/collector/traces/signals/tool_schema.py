"""Does a tool call's arguments fit the tool's declared JSON schema?

The schema comes with the span (``tool.parameters``, from ``@observe(tool_schema=...)``
or an OpenInference instrumentation), bare or wrapped the way the providers declare tools
(OpenAI's ``{"type": "function", "function": {"parameters": ...}}``, a ``parameters`` or
Anthropic's ``input_schema`` member). Validators are built once per distinct schema.

>>> schema = '{"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}'
>>> arguments_fit('{"id": 7}', schema), arguments_fit('{"id": "7"}', schema)
(True, False)
>>> arguments_fit("{not json", schema), arguments_fit('{"id": 7}', "")
(False, None)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

_WRAPPERS: Final = ("parameters", "input_schema")


def arguments_fit(arguments: str, schema: str) -> bool | None:
    """True when ``arguments`` (JSON text) fit ``schema``; False when they do not or are
    not JSON; None when there is no usable schema to check them against."""
    if not schema or _validator(schema) is None:
        return None
    try:
        value = json.loads(arguments) if arguments else {}
    except (ValueError, RecursionError):  # not JSON, or nested past the stack
        return False
    return value_fits(value, schema)


def value_fits(value: object, schema: str) -> bool | None:
    """True when the parsed arguments ``value`` fit ``schema``; None without a usable
    schema."""
    check = _validator(schema) if schema else None
    if check is None:
        return None
    return check(value)


@functools.lru_cache(maxsize=256)
def _validator(schema: str) -> Callable[[object], bool] | None:
    """A check for the schema in ``schema`` (JSON text), or None when it is not one."""
    from jsonschema import exceptions, validators  # type: ignore[import-untyped]

    try:
        found = _unwrap(json.loads(schema))
    except (ValueError, RecursionError):
        return None
    if not isinstance(found, Mapping):
        return None
    cls = validators.validator_for(found)
    try:
        cls.check_schema(found)
    except exceptions.SchemaError:
        return None
    simple = _simple_check(found)
    if simple is not None:
        return simple
    validator = cls(found)
    return lambda value: bool(validator.is_valid(value))


#: JSON types of the flat schemas most tools declare, as Python checks.
_TYPES: Final[Mapping[str, Callable[[object], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}
_TOP_KEYS: Final = frozenset(
    {"type", "properties", "required", "additionalProperties", "title", "description", "$schema"}
)
_PROPERTY_KEYS: Final = frozenset({"type", "title", "description", "default"})


def _simple_check(schema: Mapping[str, Any]) -> Callable[[object], bool] | None:
    """The same verdict as a JSON Schema validator for a flat object schema (typed
    properties, required names, no extra properties), checked directly: most tool
    schemas are that, and a validator costs tens of microseconds a call. None for any
    other schema (the validator decides)."""
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    if (
        not _TOP_KEYS.issuperset(schema)
        or schema.get("type") != "object"
        or not isinstance(properties, Mapping)
        or not isinstance(extra, bool)
    ):
        return None
    checks: dict[str, Callable[[object], bool] | None] = {}
    for name, prop in properties.items():
        if not isinstance(prop, Mapping) or not _PROPERTY_KEYS.issuperset(prop):
            return None
        kind = prop.get("type")
        if kind is not None and (not isinstance(kind, str) or kind not in _TYPES):
            return None
        checks[name] = _TYPES[kind] if kind is not None else None
    required = frozenset(schema.get("required", ()))

    def check(value: object) -> bool:
        if not isinstance(value, dict) or not required.issubset(value):
            return False
        for name, item in value.items():
            if name not in checks:
                if not extra:
                    return False
                continue
            typed = checks[name]
            if typed is not None and not typed(item):
                return False
        return True

    return check


def _unwrap(declared: object) -> object:
    """The argument schema inside a provider-style tool declaration."""
    if isinstance(declared, Mapping):
        function = declared.get("function")
        if isinstance(function, Mapping):
            declared = function
        for name in _WRAPPERS:
            inner = declared.get(name) if isinstance(declared, Mapping) else None
            if isinstance(inner, Mapping):
                return inner
    return declared
