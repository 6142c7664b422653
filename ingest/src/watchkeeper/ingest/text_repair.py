"""Text made valid where it enters: lone surrogates become U+FFFD.

Python strings may hold lone surrogates (``"\\ud800"``), which bad decoders and
``json.loads`` of ``"\\ud800"`` produce and which no UTF-8 encoder accepts: one such string
would make a whole batch unstorable. Every text that enters from outside (replayed files,
webhook bodies, decoded OTLP) passes through here first; valid text is returned as is.
"""

from __future__ import annotations

from typing import Any


def repair_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD; a valid pair becomes its character.

    >>> repair_text("lone\\ud800x")
    'lone�x'
    >>> repair_text("\\ud83d\\ude00") == "\\U0001F600"
    True
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def repair_strings(value: Any) -> Any:
    """``value`` (parsed JSON: dicts, lists, strings, numbers) with every string repaired."""
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, dict):
        return {repair_text(str(k)): repair_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [repair_strings(item) for item in value]
    return value
