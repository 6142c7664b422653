"""Read a judge's reply: JSON as asked, or the usual ways models miss it.

Accepted, in order: the reply as a JSON object; the first ``{...}`` in it (code fences,
a sentence before or after); a line ``score: 4`` / ``Score = pass``. Anything else is a
malformed reply (:class:`MalformedReplyError`), counted as a failure and retried.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from watchkeeper.collector.settings.rubric import RubricDimension

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_SCORE_LINE = re.compile(r"\bscore\b\W{0,3}\s*[:=]?\s*\"?(pass|fail|-?\d+(?:\.\d+)?)", re.I)
_REASON_LINE = re.compile(r"\breason\b\s*[:=]\s*\"?(.+?)\"?\s*$", re.I | re.M)


class MalformedReplyError(ValueError):
    """The reply holds no score on the dimension's scale."""


@dataclass(frozen=True)
class Verdict:
    """A judge's score on one dimension (stored as the rubric stores it) and its reason."""

    score: int
    reason: str


def parse_reply(text: str, rubric: RubricDimension) -> Verdict:
    """The verdict in ``text`` on ``rubric``'s scale; raises :class:`MalformedReplyError`.

    >>> from watchkeeper.collector.settings.rubric import RubricDimension
    >>> parse_reply('```json\\n{"score": 4, "reason": "ok"}\\n```', RubricDimension())
    Verdict(score=4, reason='ok')
    >>> parse_reply('Reason: rude.\\nScore: 2', RubricDimension())
    Verdict(score=2, reason='rude.')
    """
    found = _from_json(text)
    if found is None:
        score_match = _SCORE_LINE.search(text)
        if score_match is None:
            raise MalformedReplyError(f"no score in the reply: {text[:80]!r}")
        reason_match = _REASON_LINE.search(text)
        found = (score_match.group(1), reason_match.group(1) if reason_match else "")
    raw, reason = found
    return Verdict(_on_scale(raw, rubric), str(reason)[:2000])


def _from_json(text: str) -> tuple[Any, Any] | None:
    candidates = [text.strip()]
    match = _OBJECT.search(text)
    if match:
        candidates.append(match.group(0))
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict) and "score" in data:
            return data["score"], data.get("reason", "")
    return None


def _on_scale(raw: Any, rubric: RubricDimension) -> int:
    if rubric.kind == "pass_fail":
        if isinstance(raw, str) and raw.strip().lower() in ("pass", "fail"):
            return int(raw.strip().lower() == "pass")
        if isinstance(raw, bool):
            return int(raw)
        raise MalformedReplyError(f"score {raw!r} is not 'pass' or 'fail'")
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise MalformedReplyError(f"score {raw!r} is not a number") from None
    if number != int(number) or not rubric.min <= number <= rubric.max:
        raise MalformedReplyError(f"score {raw!r} is not a whole number {rubric.min}-{rubric.max}")
    return int(number)
