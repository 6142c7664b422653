"""Drift in the refusal rate."""

from __future__ import annotations

import re
from collections.abc import Sequence

from watchkeeper.detectors import native_core
from watchkeeper.detectors.base import CallView
from watchkeeper.detectors.call_run import columns_of
from watchkeeper.detectors.rate_drift import RateDrift
from watchkeeper.detectors.text import ahead

#: Refusals announce themselves in the first sentence or two.
_HEAD = 300
_REFUSAL = re.compile(
    r"\b(?:i['\u2019]m (?:sorry|afraid)|i am (?:sorry|afraid)|sorry, but|i apologi[sz]e"
    r"|as an ai(?: language model)?|i (?:can(?:no|['\u2019])t|cannot|won['\u2019]t|am unable to"
    r"|['\u2019]m unable to|am not able to|['\u2019]m not able to|must decline)"
    r"(?: help| assist| provide| answer| comply| do that| fulfil| fulfill| support)"
    r"|i['\u2019]m not allowed|not able to (?:help|assist) with"
    r"|against (?:my|our) (?:guidelines|policy|policies))",
)
#: Every refusal phrase contains one of these: a few substring tests rule out most answers
#: faster than the pattern can.
_NEEDS = (
    "sorry", "afraid", "apologi", "as an ai", "i can't", "i can\u2019t", "i cannot",
    "i won", "unable to", "not able to", "must decline", "not allowed", "against",
)  # fmt: skip

#: The ``_NEEDS`` test in the compiled core.
_CORE_SCREEN = native_core.needle_screen(_NEEDS)


def is_refusal(text: str) -> bool:
    """True when the answer opens like a refusal ("I'm sorry, but I can't help with that").

    >>> is_refusal("I'm sorry, but I can't help with that."), is_refusal("Sure! Here it is.")
    (True, False)
    """
    # Whether it holds one of _NEEDS: found ahead, or by the core, or (when the core
    # leaves the text to Python) below.
    may_match = ahead.held(RefusalRateDrift.name).get(text)
    if may_match is None and _CORE_SCREEN is not None:
        may_match = _CORE_SCREEN.one(text[:_HEAD])
    if may_match is False:
        return False
    head = text[:_HEAD].lower()
    if may_match is None:  # left to Python: the same test (a loop beats any() here)
        for needed in _NEEDS:
            if needed in head:
                break
        else:
            return False
    return _REFUSAL.search(head) is not None


class RefusalRateDrift(RateDrift):
    """Detects a rise in answers that refuse (a stricter model, a broken system prompt).

    Score ``refusal``: 1 when the answer opens with a refusal phrase. Failed calls are skipped.

    >>> from watchkeeper.detectors import Call
    >>> detector = RefusalRateDrift()
    >>> detector.update(Call("how do I kill a python process", "I can't help with that."))
    >>> detector.scores
    {'refusal': 1.0}
    """

    name = "refusal_rate_drift"
    score_name = "refusal"
    describes = "refusal rate"

    def event(self, call: CallView) -> float | None:
        """1.0 for a refusal, 0.0 for another answer, None for a failed call."""
        if call.is_error:
            return None
        return 1.0 if is_refusal(call.output_text or "") else 0.0

    def events(self, calls: Sequence[CallView]) -> list[float | None]:
        """``event`` of each call; an answer the screen, run ahead, cleared is 0.0 without
        another look (most are)."""
        cleared = ahead.held(self.name)
        columns = columns_of(calls)
        out: list[float | None] = []
        for error, text in zip(columns.failed, columns.outputs, strict=True):
            if error:
                out.append(None)
            elif cleared.get(text) is False:
                out.append(0.0)
            else:
                out.append(1.0 if is_refusal(text) else 0.0)
        return out


ahead.register(RefusalRateDrift.name, "output", _HEAD, _CORE_SCREEN)
