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
from collections.abc import Mapping
from typing import Any, Final

_WRAPPERS: Final = ("parameters", "input_schema")


def arguments_fit(arguments: str, schema: str) -> bool | None:
    """True when ``arguments`` (JSON text) fit ``schema``; False when they do not or are
    not JSON; None when there is no usable schema to check them against."""
    if not schema or _validator(schema) is None:
        return None
    try:
        value = json.loads(arguments) if arguments else {}
    except ValueError:
        return False
    return value_fits(value, schema)


def value_fits(value: object, schema: str) -> bool | None:
    """True when the parsed arguments ``value`` fit ``schema``; None without a usable
    schema."""
    validator = _validator(schema) if schema else None
    if validator is None:
        return None
    return bool(validator.is_valid(value))


@functools.lru_cache(maxsize=256)
def _validator(schema: str) -> Any:
    """A validator for the schema in ``schema`` (JSON text), or None when it is not one."""
    from jsonschema import exceptions, validators  # type: ignore[import-untyped]

    try:
        found = _unwrap(json.loads(schema))
    except ValueError:
        return None
    if not isinstance(found, Mapping):
        return None
    cls = validators.validator_for(found)
    try:
        cls.check_schema(found)
    except exceptions.SchemaError:
        return None
    return cls(found)


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
