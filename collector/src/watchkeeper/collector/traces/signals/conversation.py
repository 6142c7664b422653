"""Conversation signals of one session: its traces (turns) in the order they started.

Per turn:

- ``rephrase`` (event): the user asked a question equivalent to an earlier one of the
  session (the consistency detector's equivalence: same normalised words, or similar
  content words with the same numbers and names), i.e. retried or rephrased.

Per session, once it is over:

- ``turns``: its number of turns;
- ``abandoned`` (event): the user left after an answer that did not settle the
  question: the last turn was itself a retry, or it got no answer (an error, an empty
  reply);
- ``turns_to_resolution``: for a session not abandoned, the turns it took;
- ``rephrase_rate``: the share of its turns that were rephrases.

>>> rephrases(["How do I reset my password?", "Where is my order?",
...            "how do i reset my password"])
[False, False, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from watchkeeper.collector.traces.assemble import Trace
from watchkeeper.collector.traces.signals import steps
from watchkeeper.detectors.consistency.equivalence import EquivalenceIndex

#: Distinct questions remembered per session.
MAX_QUESTIONS = 256


class ConversationSignals(NamedTuple):
    """A session's signals: one dict per turn (in turn order) and one for the session."""

    turns: list[dict[str, float]]
    session: dict[str, float]


def rephrases(questions: Sequence[str]) -> list[bool]:
    """For each question, whether it is equivalent to an earlier one of the list."""
    index = EquivalenceIndex(max_groups=MAX_QUESTIONS)
    return [index.find_or_add(q)[1] if q.strip() else False for q in questions]


def conversation_signals(turns: Sequence[Trace]) -> ConversationSignals:
    """The signals of a session made of ``turns`` (any order: sorted by start here)."""
    ordered = sorted(turns, key=_start)
    if not ordered:
        return ConversationSignals([], {})
    again = rephrases([steps.question(turn) for turn in ordered])
    per_turn = [{"rephrase": float(flag)} for flag in again]
    last = ordered[-1]
    top = steps.top(last)
    unanswered = not steps.answer(last).strip() or (top is not None and top.is_error)
    abandoned = again[-1] or unanswered
    session: dict[str, float] = {
        "turns": float(len(ordered)),
        "abandoned": float(abandoned),
        "rephrase_rate": sum(again) / len(again),
    }
    if not abandoned:
        session["turns_to_resolution"] = float(len(ordered))
    return ConversationSignals(per_turn, session)


def _start(trace: Trace) -> int:
    top = steps.top(trace)
    return top.start_ns if top is not None else 0
