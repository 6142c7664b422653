"""Evalset export of whole traces: a labelled trajectory item exports its ordered steps,
its tool calls with arguments, results and errors, the conversation up to its turn and,
per passage, the retriever's score, its relevance and whether the answer used it; a
record whose trace is not stored exports without them. JSONL and Parquet."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq

from tests.traces.agent_payloads import agent_trace, payload
from watchkeeper.collector.evalset import build_evalset, write_evalset
from watchkeeper.collector.pipeline import Payload
from watchkeeper.collector.review.workflow import ReviewWorkflow
from watchkeeper.collector.runtime import build_pipeline
from watchkeeper.collector.settings import load_settings
from watchkeeper.collector.store.store import Store


def _label(workflow: ReviewWorkflow, queue: str) -> str:
    claim = workflow.claim_next(queue, "rita")
    assert claim is not None
    workflow.label(
        queue,
        claim.span_id,
        "rita",
        verdict="fail",
        scores={"trajectory_quality": 2, "tool_use_accuracy": 1},
        comment="answered after the search failed",
    )
    return claim.span_id


def test_a_labelled_trajectory_exports_its_steps_turns_and_passage_scores(store: Store) -> None:
    """Two turns of one session, the second with a failing search tool; its trajectory
    item, labelled, exports the steps, the failed tool call, both turns and the passages
    the answer was given with their scores."""
    pipeline = build_pipeline(load_settings(environ={}), store, resume=False)
    first = agent_trace("s-7", "Will it rain in Bergen?")
    second = agent_trace("s-7", "What is the weather in Oslo?", fail_tool=True)
    for spans in (first, second):
        pipeline.process([Payload(payload(spans), "test")])
    _label(ReviewWorkflow(store), "trajectories")
    records = build_evalset(store, queues=["trajectories"])
    assert len(records) == 1
    out = io.BytesIO()
    assert write_evalset(records, out, "jsonl") == 1
    row = json.loads(out.getvalue())
    kinds = [step["kind"] for step in row["trajectory"]]
    assert kinds == ["llm", "tool", "retrieval", "rerank", "chain", "other", "llm"]
    assert row["tools_called"] == [
        {
            "name": "search",
            "input_parameters": {"q": "weather Oslo"},
            "output": "sunny, 21 C",
            "error": "search backend down",
        }
    ]
    assert row["turns"] == [
        {"role": "user", "content": "Will it rain in Bergen?"},
        {"role": "assistant", "content": "It is sunny in Oslo."},
        {"role": "user", "content": "What is the weather in Oslo?"},
        {"role": "assistant", "content": "It is sunny in Oslo."},
    ]
    passages = {p["text"]: p for p in row["retrieval_context_scores"]}
    assert set(passages) == {"Bergen forecast: rain", "Oslo forecast: sunny"}
    oslo, bergen = passages["Oslo forecast: sunny"], passages["Bergen forecast: rain"]
    assert (oslo["retrieval_score"], bergen["retrieval_score"]) == (0.9, 0.4)
    assert oslo["relevance"] > bergen["relevance"]
    assert oslo["used"] is True
    assert bergen["used"] is False
    parquet = io.BytesIO()
    write_evalset(records, parquet, "parquet")
    table = pq.read_table(io.BytesIO(parquet.getvalue())).to_pylist()
    assert table[0]["tools_called"][0]["input_parameters"] == {"q": "weather Oslo"}


def test_a_record_without_stored_spans_exports_without_trace_fields(store: Store) -> None:
    """Whole-trace storage sampled out (trace_sample_rate 0): the call's record is
    exported with its input and output and empty trace fields."""
    settings = load_settings(environ={"WATCHKEEPER_TRACE_SAMPLE_RATE": "0"})
    pipeline = build_pipeline(settings, store, resume=False)
    pipeline.process([Payload(payload(agent_trace("s-8", fail_tool=True)), "test")])
    pipeline.flush_review()
    _label(ReviewWorkflow(store), "random")
    (record,) = build_evalset(store, queues=["random"])
    assert record.input
    assert (record.trajectory, record.tools_called, record.turns, record.passages) == (
        [],
        [],
        [],
        [],
    )
