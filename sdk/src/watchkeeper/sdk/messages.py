"""Turn call arguments and return values into GenAI semantic-convention message JSON.

The conventions put content in ``gen_ai.input.messages`` / ``gen_ai.output.messages``
as JSON strings shaped like::

    [{"role": "user", "parts": [{"type": "text", "content": "What is ClickHouse?"}]}]

Everything here is bounded: text is cut at a per-attribute character budget and
arbitrary objects go through :mod:`reprlib`, so one huge prompt cannot balloon the
span queue. Serialization happens on the calling thread on purpose: apps mutate
their ``messages`` list right after the call, and a deferred encoder would record
the mutated conversation instead of what the model saw.

>>> text_message_json("user", "hi")
'[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'
>>> chat_messages_json([{"role": "system", "content": "Be brief."}])
'[{"role":"system","parts":[{"type":"text","content":"Be brief."}]}]'
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

DEFAULT_CONTENT_BUDGET: Final = 32_768
"""Characters of text kept per message attribute; the rest is cut with a marker."""

_TRUNCATION_MARK: Final = "…[truncated]"


def _make_repr() -> reprlib.Repr:
    # Bounded work for containers (only the first items are visited) and a cap on the
    # length of everything else; keyword arguments to Repr() only exist from 3.12.
    bounded = reprlib.Repr()
    bounded.maxlevel = 3
    bounded.maxlist = bounded.maxtuple = bounded.maxset = bounded.maxfrozenset = 20
    bounded.maxdict = 20
    bounded.maxdeque = bounded.maxarray = 20
    bounded.maxstring = 2_000
    bounded.maxother = 2_000
    bounded.maxlong = 100
    return bounded


_BOUNDED_REPR: Final = _make_repr()


def bounded_repr(value: object) -> str:
    """``repr(value)`` with bounded size, never raising (a broken ``__repr__`` is data too)."""
    try:
        return _BOUNDED_REPR.repr(value)
    except Exception:  # user __repr__ may raise anything; describe instead
        return f"<{type(value).__qualname__} object (repr failed)>"


class _Budget:
    """Characters left for text content in one attribute."""

    __slots__ = ("left",)

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, text: str) -> str:
        if len(text) <= self.left:
            self.left -= len(text)
            return text
        kept = text[: self.left]
        self.left = 0
        return kept + _TRUNCATION_MARK


# Built once: json.dumps(..., **options) constructs a new encoder on every call.
# ensure_ascii=False keeps non-English prompts readable and short on the wire.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(value: object) -> str:
    return _ENCODER.encode(value)


def _text_part(text: str, budget: _Budget) -> dict[str, Any]:
    return {"type": "text", "content": budget.take(text)}


def text_message_json(role: str, text: str, limit: int = DEFAULT_CONTENT_BUDGET) -> str:
    """One message with a single text part, as a GenAI messages JSON string."""
    # The common case (one prompt, one answer), so it is assembled directly around
    # the two encoded strings instead of going through a nested dict.
    content = _ENCODER.encode(_Budget(limit).take(text))
    return f'[{{"role":{_ENCODER.encode(role)},"parts":[{{"type":"text","content":{content}}}]}}]'


def is_chat_messages(value: object) -> bool:
    """True for a list of ``{"role": ..., "content": ...}`` mappings (OpenAI-style chat)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and "role" in item for item in value)
    )


def _content_parts(content: object, budget: _Budget) -> list[dict[str, Any]]:
    if content is None:  # e.g. an assistant turn that only carries tool calls
        return []
    if isinstance(content, str):
        return [_text_part(content, budget)]
    if isinstance(content, list | tuple):
        # Multi-part content ({"type": "text", "text": ...}, images, audio ...). Only
        # text is copied: base64 media would blow the budget and says nothing to a reader.
        parts: list[dict[str, Any]] = []
        for item in content:
            if isinstance(item, Mapping) and item.get("type") == "text":
                text = item.get("text", item.get("content", ""))
                parts.append(_text_part(str(text), budget))
            elif isinstance(item, Mapping):
                parts.append({"type": str(item.get("type", "unknown"))})
            else:
                parts.append(_text_part(str(item), budget))
        return parts
    return [_text_part(bounded_repr(content), budget)]


def chat_messages_json(
    messages: Sequence[Mapping[str, Any]], limit: int = DEFAULT_CONTENT_BUDGET
) -> str:
    """Convert ``[{"role", "content"}, ...]`` chat messages to GenAI messages JSON."""
    budget = _Budget(limit)
    return _dumps(
        [
            {"role": str(message["role"]), "parts": _content_parts(message.get("content"), budget)}
            for message in messages
        ]
    )


def _json_safe(value: object, budget: _Budget) -> object:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)  # NaN is not JSON
    if isinstance(value, str):
        return budget.take(value)
    return budget.take(bounded_repr(value))


def arguments_message_json(
    arguments: Mapping[str, object], limit: int = DEFAULT_CONTENT_BUDGET
) -> str:
    """A user message whose text is the JSON of the call's (bounded) arguments."""
    budget = _Budget(limit)
    text = _dumps({name: _json_safe(value, budget) for name, value in arguments.items()})
    return _dumps([{"role": "user", "parts": [{"type": "text", "content": text}]}])


def output_messages_json(result: object, limit: int = DEFAULT_CONTENT_BUDGET) -> str | None:
    """The return value as an assistant message, or None when there is nothing to record.

    A ``str`` becomes the assistant's text; any other object its bounded repr.
    """
    if result is None:
        return None
    text = result if isinstance(result, str) else bounded_repr(result)
    return text_message_json("assistant", text, limit)
