"""Consistency: grouping equivalent inputs, scoring answers against their group."""

from __future__ import annotations

import random

from watchkeeper.detectors import Call, ConsistencyDrift
from watchkeeper.detectors.consistency.equivalence import EquivalenceIndex


def test_paraphrases_share_a_group() -> None:
    """Case, punctuation, greetings and filler words do not split a group."""
    index = EquivalenceIndex()
    variants = [
        "How do I reset my password?",
        "how do i reset my password",
        "Hi! How can I reset my password, please?",
        "hey - how do I reset my passwords",
    ]
    groups = {index.find_or_add(text)[0] for text in variants}
    assert len(groups) == 1


def test_number_and_name_swaps_are_kept_apart() -> None:
    """Questions differing in a number or a capitalised name are different questions."""
    index = EquivalenceIndex()
    texts = [
        "Where is my order 1234 shipped from?",
        "Where is my order 1243 shipped from?",
        "What is the weather like in Paris this week?",
        "What is the weather like in London this week?",
    ]
    groups = [index.find_or_add(text) for text in texts]
    assert [existed for _, existed in groups] == [False, False, False, False]


def test_groups_are_bounded_least_recently_used_first() -> None:
    """Past ``max_groups`` the stalest group goes, with its index entries."""
    index = EquivalenceIndex(max_groups=2)
    a, _ = index.find_or_add("alpha beta gamma")
    index.find_or_add("delta epsilon zeta")
    index.find_or_add("alpha beta gamma")  # touch: now the most recent
    index.find_or_add("eta theta iota")
    assert len(index) == 2
    assert index.evicted == 1
    assert index.find_or_add("alpha beta gamma") == (a, True)
    assert len(index._index) <= 2 * 4


def _support_stream(seed: int, n: int, consistent: float) -> list[Call]:
    """Repeated questions; each answered with its canonical answer with p = ``consistent``."""
    rng = random.Random(seed)
    topics = [f"feature{i} setting{i} option{i}" for i in range(40)]
    out = []
    for _ in range(n):
        i = rng.randrange(len(topics))
        q = rng.choice(["How do I change", "how to change", "Can you tell me how to change"])
        answer = f"Open preferences, choose {topics[i]} and save within {i + 2} days."
        if rng.random() > consistent:
            j = rng.randrange(len(topics))
            answer = f"Contact support about {topics[j]} renewal policy, it takes {j + 30} days."
        out.append(Call(f"{q} {topics[i]}?", answer))
    return out


def test_a_drop_in_consistency_is_detected_and_coverage_reported() -> None:
    """Answers to repeated questions that start to vary raise an alarm after the change."""
    detector = ConsistencyDrift()
    stream = _support_stream(1, 3000, 0.97) + _support_stream(2, 1000, 0.7)
    alarms, reasons = [], []
    for i, call in enumerate(stream):
        detector.update(call)
        if detector.drift_detected:
            alarms.append(i)
            reasons.append(detector.alarm_reason)
    assert alarms
    assert 3000 <= alarms[0] < 3300
    assert detector.coverage > 0.9
    assert "coverage" in reasons[0]


def test_consistent_answers_score_one_and_contradictions_less() -> None:
    """The same answer again scores 1; a changed number halves the similarity."""
    detector = ConsistencyDrift()
    detector.update(Call("refund window?", "Refunds within 30 days."))
    detector.update(Call("Refund window", "Refunds within 30 days."))
    assert detector.scores["consistency"] == 1.0
    detector.update(Call("refund window", "Refunds within 14 days."))
    assert detector.scores["consistency"] == 0.5


def test_errors_are_not_scored_and_do_not_count_towards_coverage() -> None:
    """A failed call has no answer to compare."""
    detector = ConsistencyDrift()
    detector.update(Call("q", "", is_error=True))
    assert detector.scores == {}
