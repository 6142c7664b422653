"""Conversation signals: a user who rephrases is seen turn by turn, and the session ends
abandoned; ordinary sessions are resolved in their turns."""

from __future__ import annotations

import random
import statistics

from tests.traces.signals.planted import TraceBuilder, conversation
from watchkeeper.collector.traces.signals.conversation import conversation_signals, rephrases


def test_equivalent_questions_are_rephrases_and_new_ones_are_not() -> None:
    """Retries in other casing, with a prefix or a plea count; another question, or the
    same one about another order number, does not."""
    asked = [
        "How do I reset my password?",
        "Hi! How can I reset my password please?",
        "Where is order 1234?",
        "Where is order 1243?",
        "how do i reset my password",
    ]
    assert rephrases(asked) == [False, True, False, False, True]


def test_a_rephrasing_user() -> None:
    """Sessions where the user asks the first question again: most later turns are
    rephrases, and most sessions end abandoned on a retry."""
    rng = random.Random(11)
    sessions = [conversation_signals(conversation(rng, 3, rephrasing=True)) for _ in range(40)]
    later = [turn["rephrase"] for found in sessions for turn in found.turns[1:]]
    assert statistics.fmean(later) > 0.6
    assert all(found.turns[0]["rephrase"] == 0.0 for found in sessions)
    assert statistics.fmean(found.session["abandoned"] for found in sessions) > 0.6
    rates = [found.session["rephrase_rate"] for found in sessions]
    assert rates == [statistics.fmean(t["rephrase"] for t in f.turns) for f in sessions]


def test_ordinary_sessions_raise_no_rephrase_and_are_resolved() -> None:
    """Sessions on different topics: no turn is a rephrase; each is resolved in its
    number of turns."""
    rng = random.Random(12)
    for turns in (1, 2, 4):
        for _ in range(20):
            found = conversation_signals(conversation(rng, turns))
            assert [turn["rephrase"] for turn in found.turns] == [0.0] * turns
            assert found.session == {
                "turns": float(turns),
                "abandoned": 0.0,
                "rephrase_rate": 0.0,
                "turns_to_resolution": float(turns),
            }


def test_a_session_ending_without_an_answer_is_abandoned() -> None:
    """The last turn got no answer (empty reply): abandoned, no resolution."""
    rng = random.Random(13)
    turns = conversation(rng, 2)
    builder = TraceBuilder("last", session_id="s", start=9_000_000)
    builder.add("chat model", "llm", input_text="And my invoice?", output_text="")
    found = conversation_signals([*turns, builder.finish("And my invoice?", "")])
    assert found.session == {"turns": 3.0, "abandoned": 1.0, "rephrase_rate": 0.0}


def test_turns_arrive_in_any_order() -> None:
    """Turns are ordered by their start, whatever order they are given in."""
    rng = random.Random(14)
    turns = conversation(rng, 3, rephrasing=True)
    assert conversation_signals(turns[::-1]) == conversation_signals(turns)
    assert conversation_signals([]).turns == []
