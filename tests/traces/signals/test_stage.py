"""The signal stage in the pipeline's place: traces completed across batches, partial
traces after their timeout, rows and alarms added to the batch like detector scores."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from tests.traces.signals.planted import agent_trace, conversation
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.store.span_columns import SpanColumns
from watchkeeper.collector.store.store import WriteBatch
from watchkeeper.collector.traces.assemble import Trace, TraceSpan
from watchkeeper.collector.traces.signals.open_traces import OpenTraces
from watchkeeper.collector.traces.signals.session_tracker import SessionTracker
from watchkeeper.collector.traces.signals.stage import TraceSignalStage
from watchkeeper.collector.traces.trace_summary import TraceSummary


@dataclass
class Batch:
    """What the stage reads of the pipeline's batch in flight."""

    spans: list[TraceSpan]
    calls: list[CallRecord] = field(default_factory=list)
    trace_summaries: list[TraceSummary] = field(default_factory=list)
    span_columns: list[SpanColumns] = field(default_factory=list)
    batch: WriteBatch = field(default_factory=WriteBatch)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _row(batch: Batch, span_id: str) -> dict[str, float]:
    return dict(
        next(
            (values for call, values in batch.batch.scores.per_call() if call.span_id == span_id),
            {},
        )
    )


def test_a_trace_split_across_batches_is_scored_once_its_root_arrives() -> None:
    """Children first, root in the next batch: nothing before the root, then one row on
    the root with every step counted."""
    trace = agent_trace(random.Random(1), "looping_tool")
    children = [s for s in trace.spans if s.parent_span_id]
    root = [s for s in trace.spans if not s.parent_span_id]
    stage = TraceSignalStage()
    first, second = Batch(children), Batch(root)
    stage(first)
    stage(second)
    assert not first.batch.scores
    found = _row(second, "root")
    assert found["trajectory.tool_loop"] == 1.0
    assert found["trajectory.steps"] == 5.0
    assert stage.scored == 1


def test_a_trace_whose_root_never_comes_is_scored_partial_after_the_timeout() -> None:
    """Without a root the trace waits; past the timeout it is scored as partial, its
    scores stored on its top span; a late span is counted, not scored again."""
    clock = Clock()
    stage = TraceSignalStage(traces=OpenTraces(timeout_s=60.0, clock=clock))
    trace = agent_trace(random.Random(2), "failing_tool")
    children = [s for s in trace.spans if s.parent_span_id]
    early = Batch(children[:1])
    stage(early)
    clock.now = 61.0
    late = Batch(children[1:])
    stage(late)
    assert stage.traces.partial == 1
    assert _row(late, "s0")["trajectory.tool_error"] == 1.0  # the top span: no LLM call
    stage(Batch([s for s in trace.spans if not s.parent_span_id]))
    assert stage.traces.late_spans == 1


def test_planted_faults_raise_alarms_on_the_root_and_clean_traffic_none() -> None:
    """A stream of clean traces, then empty retrievals in 30%: the alarm lands on the
    root span of the trace that completed it, with the signal as detector; none before."""
    rng = random.Random(3)
    stage = TraceSignalStage()
    alarms = []
    for i in range(1200):
        fault = "empty_retrieval" if i >= 900 and rng.random() < 0.3 else None
        batch = Batch(list(agent_trace(rng, fault).spans))
        stage(batch)
        alarms += [(i, a) for a in batch.batch.alarms]
    assert [i for i, _ in alarms if i < 900] == []
    found = [a for i, a in alarms if a["Detector"] == "rag.retrieval_empty"]
    assert found
    assert found[0]["SpanId"] == "root"
    assert found[0]["DetectorKey"] == "support|support/answer|support"
    assert "rag.retrieval_empty detected a change" in found[0]["Message"]


def test_signals_join_the_root_calls_detector_scores() -> None:
    """When the root is an LLM call of the batch with detector scores, its signals go in
    the same row; the other calls' scores are left as they were."""
    trace = agent_trace(random.Random(4))
    other = CallRecord("t", "other", 5, 1)
    root_call = CallRecord(trace.trace_id, "root", 0, 1, service_name="support")
    batch = Batch(list(trace.spans), calls=[other, root_call])
    batch.batch.scores = BatchScores(
        [other, root_call], {"input_length_drift.input_drift": np.array([0.5, 1.5])}
    )
    TraceSignalStage()(batch)
    assert _row(batch, "other") == {"input_length_drift.input_drift": 0.5}
    root = _row(batch, "root")
    assert root["input_length_drift.input_drift"] == 1.5
    assert root["trajectory.tool_error"] == 0.0
    assert len(batch.batch.scores.calls) == 2


def test_session_turns_and_their_end() -> None:
    """Turns of a session get conversation.rephrase; once the session is idle past its
    timeout its per-session signals are watched (a rephrasing session ends abandoned)."""
    clock = Clock()
    tracker = SessionTracker(timeout_s=600.0, clock=clock)
    stage = TraceSignalStage(sessions=tracker)
    turns: list[Trace] = conversation(random.Random(5), 3, rephrasing=True, session="chat-1")
    batches = [Batch(list(turn.spans)) for turn in turns]
    for batch in batches:
        stage(batch)
    flags = [_row(b, "root")["conversation.rephrase"] for b in batches]
    assert flags[0] == 0.0
    assert sum(flags) >= 1.0
    clock.now = 601.0
    ended = tracker.ended()
    assert [e.session_id for e in ended] == ["chat-1"]
    assert ended[0].signals["turns"] == 3.0
    assert ended[0].trace_id == turns[-1].trace_id


def test_turns_completed_in_one_batch_are_taken_in_start_order() -> None:
    """A session's turns arriving in one batch in reverse order (two partitions, two
    exporters): the first turn is not the rephrase, a later one is."""
    turns = conversation(random.Random(5), 3, rephrasing=True, session="chat-2")
    batch = Batch([span for turn in reversed(turns) for span in turn.spans])
    TraceSignalStage()(batch)
    flags = {
        call.trace_id: values["conversation.rephrase"]
        for call, values in batch.batch.scores.per_call()
    }
    assert flags[turns[0].trace_id] == 0.0
    assert sum(flags.values()) >= 1.0


def test_a_grace_period_waits_for_children_exported_after_their_root() -> None:
    """With grace_s, a child arriving in the batch after its root's is still part of the
    trace: the trace completes at the first batch past the grace period."""
    clock = Clock()
    stage = TraceSignalStage(traces=OpenTraces(grace_s=5.0, clock=clock))
    trace = agent_trace(random.Random(6), "looping_tool")
    root = [s for s in trace.spans if not s.parent_span_id]
    children = [s for s in trace.spans if s.parent_span_id]
    first, second, third = Batch(root), Batch(children), Batch([])
    stage(first)
    clock.now = 1.0
    stage(second)
    clock.now = 6.0
    stage(third)
    assert not first.batch.scores
    assert not second.batch.scores
    # The root is no LLM call (no row of detector scores to replace): its row is stored.
    assert _row(third, "root")["trajectory.tool_loop"] == 1.0
    assert stage.scored == 1
    assert [a for b in (first, second, third) for a in b.batch.alarms] == []
    assert stage.traces.held == 0


def test_an_earlier_batchs_llm_call_keeps_its_detector_scores() -> None:
    """A trace completed after its top span's batch, when that span is an LLM call,
    raises its alarms but writes no row over the call's detector scores."""
    clock = Clock()
    stage = TraceSignalStage(traces=OpenTraces(grace_s=5.0, clock=clock))
    trace = agent_trace(random.Random(7))
    root = next(s for s in trace.spans if not s.parent_span_id)
    call = CallRecord(trace.trace_id, "root", root.start_ns, 1, service_name="support")
    first = Batch([s for s in trace.spans if s.parent_span_id], calls=[call])
    stage(first)
    clock.now = 6.0
    later = Batch([])
    stage(later)
    assert stage.scored == 1
    assert not later.batch.scores


def _lone_call(trace_id: str, span_id: str, question: str, session: str = "") -> CallRecord:
    return CallRecord(
        trace_id,
        span_id,
        1_700_000_000 * 10**9,
        10**6,
        input_text=question,
        output_text="Refunds take five days.",
        conversation_id=session,
    )


def test_a_trace_of_one_llm_call_takes_the_short_way() -> None:
    """A call that is a whole trace by itself holds nothing and scores nothing without a
    session; with one it is a turn whose rephrase is scored; its trace counts as complete,
    so a child that comes later is a late span, as for any other trace."""
    stage = TraceSignalStage()
    plain = Batch([], [_lone_call("t1", "c1", "How long do refunds take?")])
    stage(plain)
    assert not plain.batch.scores
    assert stage.traces.held == 0
    late = TraceSpan("t1", "x", "c1", "execute_tool t", "tool", 1, 2, "OK", {})
    stage(Batch([late]))
    assert stage.traces.late_spans == 1
    asked = [
        _lone_call("t2", "c2", "How long do refunds take?", "s1"),
        _lone_call("t3", "c3", "how long do refunds take", "s1"),
    ]
    turns = [Batch([], [call]) for call in asked]
    for batch in turns:
        stage(batch)
    flags = [_row(b, c.span_id)["conversation.rephrase"] for b, c in zip(turns, asked, strict=True)]
    assert flags == [0.0, 1.0]
    assert stage.scored == 2
    assert stage.traces.held == 0
