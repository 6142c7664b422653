"""Settings that are tables or lists in a file arrive from the environment as JSON text."""

from __future__ import annotations

import json
from typing import Any


def from_json(value: Any, shape: str = "object") -> Any:
    """``value`` decoded when it is JSON text, else as it is; bad JSON is a ValueError
    saying it is not a JSON ``shape`` (pydantic names the key)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON {shape}: {exc}") from None
    return value
