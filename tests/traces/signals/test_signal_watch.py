"""The signals as streams for the calibrated detectors: each planted fault raises its
signal's alarm soon after it starts, and clean traffic raises none."""

from __future__ import annotations

import pickle
import random

import pytest

from tests.traces.signals.planted import FAULTS, agent_trace, conversation
from watchkeeper.collector.traces.signals import trace_signals
from watchkeeper.collector.traces.signals.conversation import conversation_signals
from watchkeeper.collector.traces.signals.watch import SIGNALS, SignalWatch

CLEAN = 1000
FAULTY = 500
#: Share of traces with the fault once it started.
SHARE = 0.3
KEY = "support|support/answer|support"
#: The signal each fault must raise.
EXPECTED = {
    "looping_tool": "trajectory.tool_loop",
    "failing_tool": "trajectory.tool_error",
    "empty_retrieval": "rag.retrieval_empty",
    "reversed_rerank": "rag.rerank_disagreement",
    "ignored_context": "rag.context_utilisation",
    "bad_tool_arguments": "trajectory.schema_violation",
    "irrelevant_retrieval": "rag.context_relevance",
}


def _run(fault: str | None, seed: int) -> tuple[list[str], dict[str, int]]:
    """Alarms before the change (signal names) and the first alarm of each signal after
    it (traces after the change)."""
    rng = random.Random(seed)
    watch = SignalWatch()
    before: list[str] = []
    after: dict[str, int] = {}
    for i in range(CLEAN + FAULTY):
        planted = fault if i >= CLEAN and rng.random() < SHARE else None
        for alarm in watch.update(KEY, trace_signals(agent_trace(rng, planted))):
            if i < CLEAN:
                before.append(alarm.signal)
            else:
                after.setdefault(alarm.signal, i - CLEAN)
    return before, after


def test_every_fault_has_its_expected_signal() -> None:
    """The table below covers every planted fault, with a watched signal."""
    assert set(EXPECTED) == set(FAULTS)
    assert set(EXPECTED.values()) <= set(SIGNALS)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_planted_fault_alarms_on_its_signal(fault: str) -> None:
    """Clean traffic first: no alarm at all; then the fault in 30% of the traces: its
    signal alarms within the faulty stretch."""
    before, after = _run(fault, seed=100 + FAULTS.index(fault))
    assert before == []
    assert EXPECTED[fault] in after, after


def test_a_rephrasing_user_alarms_on_the_rephrase_rate() -> None:
    """Ordinary sessions, then a share of users who keep asking again: the per-turn
    rephrase rate alarms, and nothing alarms on the ordinary sessions."""
    rng = random.Random(21)
    watch = SignalWatch()
    before: list[str] = []
    after: list[str] = []
    for i in range(500):
        rephrasing = i >= 300 and rng.random() < 0.3
        found = conversation_signals(conversation(rng, 3, rephrasing=rephrasing, session=str(i)))
        alarms = [a for t in found.turns for a in watch.update(KEY, _named(t))]
        alarms += watch.update(KEY, _named(found.session))
        (before if i < 300 else after).extend(alarm.signal for alarm in alarms)
    assert before == []
    assert "conversation.rephrase" in after


def _named(values: dict[str, float]) -> dict[str, float]:
    return {f"conversation.{name}": value for name, value in values.items()}


def test_keys_are_watched_apart_and_what_was_learned_pickles() -> None:
    """A fault under one key does not alarm another; a pickled watch goes on where it
    stopped (same alarms as one never pickled)."""
    rng = random.Random(31)
    traces = [agent_trace(rng) for _ in range(300)] + [
        agent_trace(rng, "empty_retrieval") for _ in range(40)
    ]
    kept, restored = SignalWatch(), SignalWatch()
    for trace in traces[:300]:
        kept.update("a", trace_signals(trace))
        restored.update("a", trace_signals(trace))
        kept.update("b", trace_signals(trace))
    restored = pickle.loads(pickle.dumps(restored))
    alarms_a = [a for t in traces[300:] for a in kept.update("a", trace_signals(t))]
    alarms_restored = [a for t in traces[300:] for a in restored.update("a", trace_signals(t))]
    clean_b = [a for t in traces[:40] for a in kept.update("b", trace_signals(t))]
    assert "rag.retrieval_empty" in {alarm.signal for alarm in alarms_a}
    assert alarms_restored == alarms_a
    assert clean_b == []


def test_update_many_is_update_item_by_item() -> None:
    """A batch of (key, values) at once gives the alarms, at the same items, that feeding
    them one by one gives, and leaves the watch where that leaves it."""
    rng = random.Random(41)
    items = []
    for i in range(1500):
        fault = "empty_retrieval" if i >= 1000 and rng.random() < 0.3 else None
        items.append((f"k{i % 2}", trace_signals(agent_trace(rng, fault))))
    one_by_one, at_once = SignalWatch(), SignalWatch()
    expected = [
        (i, a) for i, (key, values) in enumerate(items) for a in one_by_one.update(key, values)
    ]
    found = at_once.update_many(items[:700]) + [
        (i + 700, a) for i, a in at_once.update_many(items[700:])
    ]
    assert expected
    assert found == expected
    assert pickle.dumps(at_once) == pickle.dumps(one_by_one)
