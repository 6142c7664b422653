"""Turn call arguments and return values into GenAI semantic-convention message JSON.

The conventions put content in ``gen_ai.input.messages`` / ``gen_ai.output.messages``
as JSON strings shaped like::

    [{"role": "user", "parts": [{"type": "text", "content": "What is ClickHouse?"}]}]

with ``tool_call`` / ``tool_call_response`` / ``reasoning`` parts where a message has
them. OpenAI-style (``{"role", "content", "tool_calls"}``, ``role="tool"``) and
Anthropic-style (content blocks ``text`` / ``tool_use`` / ``tool_result`` /
``thinking``) messages are both understood, as dicts or as the clients' own objects.

Everything here runs on the export thread and is bounded: text passes through the
redactor first, then is cut at a per-attribute character :class:`Budget`; arbitrary
objects go through :mod:`reprlib`.

>>> text_message_json("user", "hi")
'[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'
>>> chat_messages_json([{"role": "system", "content": "Be brief."}])
'[{"role":"system","parts":[{"type":"text","content":"Be brief."}]}]'
"""

from __future__ import annotations

import json
import math
import reprlib
from collections.abc import Callable, Iterable, Mapping, Sequence
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


class Budget:
    """Characters left for text content in one attribute, and the redactor to apply.

    >>> budget = Budget(5, redact=str.upper)
    >>> budget.take("hello world"), budget.take("more")
    ('HELLO…[truncated]', '…[truncated]')
    """

    __slots__ = ("left", "redact")

    def __init__(self, limit: int, redact: Callable[[str], str] | None = None) -> None:
        self.left = limit
        self.redact = redact

    def take(self, text: str) -> str:
        """``text`` redacted, then cut to what is left of the budget."""
        if self.redact is not None:
            # Redact before cutting, so a cut never leaves half an e-mail unrecognized;
            # but bound the redactor's work on huge texts (generously: a redaction
            # can shorten the text, pulling later characters forward).
            text = self.redact(text[: 4 * self.left + 1024])
        if len(text) <= self.left:
            self.left -= len(text)
            return text
        kept = text[: self.left]
        self.left = 0
        return kept + _TRUNCATION_MARK


# Built once: json.dumps(..., **options) constructs a new encoder on every call.
# ensure_ascii=False keeps non-English prompts readable and short on the wire.
_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=repr)


def dumps(value: object) -> str:
    """Compact JSON (non-ASCII kept as is)."""
    return _ENCODER.encode(value)


def field(item: object, name: str, default: Any = None) -> Any:
    """``item[name]`` for mappings, ``item.name`` for objects (the clients' pydantic types)."""
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


# The common case (one prompt, one answer) is assembled around the encoded text
# directly instead of going through a nested dict and the generic encoder.
_escape_string: Final[Callable[[str], str]] = json.encoder.encode_basestring
_JSON_SPECIAL: Final = bytes(range(32)) + b'"\\'


def _encode_string(text: str) -> str:
    """``text`` as a JSON string literal (non-ASCII kept as is)."""
    # Most prompts are plain ASCII with nothing to escape; checking that in C is about
    # twice as fast as json's escaping loop, which then only runs when it must.
    if text.isascii():
        data = text.encode("ascii")
        if len(data.translate(None, _JSON_SPECIAL)) == len(data):
            return '"' + text + '"'
    return _escape_string(text)


_TEXT_MESSAGE_END: Final = "}]}]"


def _text_message_start(role: str) -> str:
    return f'[{{"role":{_encode_string(role)},"parts":[{{"type":"text","content":'


_USER_START: Final = _text_message_start("user")
_ASSISTANT_START: Final = _text_message_start("assistant")


def text_message_json(role: str, text: str, budget: Budget | int = DEFAULT_CONTENT_BUDGET) -> str:
    """One message with a single text part, as a GenAI messages JSON string."""
    if isinstance(budget, int):
        if len(text) > budget:
            text = Budget(budget).take(text)
    else:
        text = budget.take(text)
    start = (
        _USER_START
        if role == "user"
        else _ASSISTANT_START
        if role == "assistant"
        else _text_message_start(role)
    )
    return start + _encode_string(text) + _TEXT_MESSAGE_END


def is_chat_messages(value: object) -> bool:
    """True for a non-empty list/tuple of messages that each carry a ``role``."""
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(field(item, "role") is not None for item in value)
    )


def json_safe(value: object, budget: Budget, depth: int = 0) -> object:
    """A JSON-encodable, bounded rendering of ``value`` (strings through the budget)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)  # NaN is not JSON
    if isinstance(value, str):
        return budget.take(value)
    if depth < 3 and isinstance(value, Mapping):
        return {
            str(key): json_safe(item, budget, depth + 1) for key, item in list(value.items())[:50]
        }
    return budget.take(bounded_repr(value))


def _text_part(text: str, budget: Budget) -> dict[str, Any]:
    return {"type": "text", "content": budget.take(text)}


def _as_text(value: object, budget: Budget) -> str:
    """Free-form content (a tool result, arguments) as bounded text."""
    if isinstance(value, str):
        return budget.take(value)
    if isinstance(value, list | tuple):  # content blocks
        return "\n".join(
            budget.take(str(field(item, "text", ""))) if field(item, "text") else ""
            for item in value
        )
    return dumps(json_safe(value, budget))


def _tool_call_part(
    call_id: object, name: object, arguments: object, budget: Budget
) -> dict[str, Any]:
    return {
        "type": "tool_call",
        "id": None if call_id is None else str(call_id),
        "name": str(name),
        "arguments": _as_text(arguments, budget),
    }


def _block_part(block: object, budget: Budget) -> dict[str, Any]:
    """One content block (OpenAI content part or Anthropic block) as a GenAI part."""
    kind = field(block, "type")
    if kind in ("text", "input_text", "output_text"):
        return _text_part(str(field(block, "text", field(block, "content", ""))), budget)
    if kind == "tool_use":  # Anthropic: the model asks for a tool
        return _tool_call_part(
            field(block, "id"), field(block, "name"), field(block, "input"), budget
        )
    if kind == "tool_result":  # Anthropic: the app answers it
        return {
            "type": "tool_call_response",
            "id": str(field(block, "tool_use_id")),
            "response": _as_text(field(block, "content"), budget),
        }
    if kind in ("thinking", "reasoning"):
        return {"type": "reasoning", "content": budget.take(str(field(block, "thinking", "")))}
    # Images, audio, files: base64 would blow the budget and says nothing to a reader.
    return {"type": str(kind or "unknown")}


def content_parts(content: object, budget: Budget) -> list[dict[str, Any]]:
    """A message's ``content`` (text, or a list of blocks) as GenAI parts."""
    if content is None:  # e.g. an assistant turn that only carries tool calls
        return []
    if isinstance(content, str):
        return [_text_part(content, budget)]
    if isinstance(content, list | tuple):
        return [
            _block_part(item, budget) if field(item, "type") else _text_part(str(item), budget)
            for item in content
        ]
    return [_text_part(bounded_repr(content), budget)]


def message_dict(message: object, budget: Budget) -> dict[str, Any]:
    """One chat message (dict or client object) in the GenAI shape."""
    role = str(field(message, "role"))
    if role in {"tool", "function"}:  # OpenAI: the app answers a tool call
        parts = [
            {
                "type": "tool_call_response",
                "id": str(field(message, "tool_call_id", field(message, "name", ""))),
                "response": _as_text(field(message, "content"), budget),
            }
        ]
        return {"role": "tool", "parts": parts}
    parts = content_parts(field(message, "content"), budget)
    for call in field(message, "tool_calls", None) or ():
        function = field(call, "function")
        if function is not None:
            parts.append(
                _tool_call_part(
                    field(call, "id"), field(function, "name"), field(function, "arguments"), budget
                )
            )
    return {"role": role, "parts": parts}


def chat_messages_json(
    messages: Sequence[object], budget: Budget | int = DEFAULT_CONTENT_BUDGET
) -> str:
    """Convert ``[{"role", "content"}, ...]`` chat messages to GenAI messages JSON."""
    if isinstance(budget, int):
        budget = Budget(budget)
    return dumps([message_dict(message, budget) for message in messages])


def parts_json(content: object, budget: Budget) -> str:
    """Just the parts (``gen_ai.system_instructions``): a system prompt or its blocks."""
    return dumps(content_parts(content, budget))


def arguments_message_json(
    arguments: Mapping[str, object], budget: Budget | int = DEFAULT_CONTENT_BUDGET
) -> str:
    """A user message whose text is the JSON of the call's (bounded) arguments."""
    if isinstance(budget, int):
        budget = Budget(budget)
    text = dumps({name: json_safe(value, budget) for name, value in arguments.items()})
    return dumps([{"role": "user", "parts": [{"type": "text", "content": text}]}])


def arguments_json(arguments: Mapping[str, object], budget: Budget) -> str:
    """The call's arguments as a bounded JSON object (``gen_ai.tool.call.arguments``)."""
    return dumps({name: json_safe(value, budget) for name, value in arguments.items()})


def output_messages_json(
    result: object, budget: Budget | int = DEFAULT_CONTENT_BUDGET
) -> str | None:
    """The return value as an assistant message, or None when there is nothing to record.

    A ``str`` becomes the assistant's text, a chat message (dict or object with a
    ``role``) is converted as such, any other object becomes its bounded repr.
    """
    if result is None:
        return None
    if isinstance(result, str):
        return text_message_json("assistant", result, budget)
    if isinstance(budget, int):
        budget = Budget(budget)
    if not isinstance(result, list | tuple) and field(result, "role") is not None:
        return dumps([message_dict(result, budget)])
    return text_message_json("assistant", bounded_repr(result), budget)


def joined_text(chunks: Iterable[object]) -> str:
    """The text of a stream's chunks: strings joined, bytes decoded, others repr'd."""
    pieces: list[str] = []
    for chunk in chunks:
        if isinstance(chunk, str):
            pieces.append(chunk)
        elif isinstance(chunk, bytes):
            pieces.append(chunk.decode("utf-8", "replace"))
        elif chunk is not None:
            pieces.append(bounded_repr(chunk))
    return "".join(pieces)
