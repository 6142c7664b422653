"""Evalset export: labels aggregated per call, duplicates removed, shapes and formats."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq

from tests.review.support import record
from watchkeeper.collector.evalset import build_evalset, write_evalset
from watchkeeper.collector.evalset.formats import shape_rows
from watchkeeper.collector.processors.route_review import ReviewRouter
from watchkeeper.collector.review.queues import ReviewQueue
from watchkeeper.collector.store.store import Store, WriteBatch

T0 = 1_790_000_000_000  # labels are timed explicitly: milliseconds since the epoch


def _items(store: Store, calls: list, queue: str = "q", contexts: list[str] | None = None) -> None:
    router = ReviewRouter({queue: ReviewQueue.model_validate({"when": [{"error": True}]})})
    for call in calls:
        call.contexts = list(contexts or [])
    store.write(WriteBatch(review_items=router.route(calls, {}, {}).items))


def _label(store: Store, span: str, who: str, at: int, queue: str = "q", **kw: object) -> None:
    store.add_label(
        queue=queue,
        span_id=span,
        trace_id="t",
        reviewer=who,
        verdict=str(kw.pop("verdict", "pass")),
        scores=kw.pop("scores", {}),  # type: ignore[arg-type]
        comment=str(kw.pop("comment", "")),
        corrected_answer=str(kw.pop("corrected_answer", "")),
        at_ms=T0 + at,
    )


def test_reviewers_labels_are_combined_per_call(store: Store) -> None:
    """Scores average, pass/fail and the verdict go by majority, the newest correction wins,
    comments and reviewers are kept in labelling order."""
    call = record(1, error=True)
    _items(store, [call], contexts=["ctx"])
    _label(store, call.span_id, "ana", 1, scores={"helpfulness": 5, "safety": 1}, comment="ok")
    _label(
        store,
        call.span_id,
        "bo",
        2,
        verdict="fail",
        scores={"helpfulness": 4, "safety": 0},
        corrected_answer="first fix",
    )
    _label(
        store,
        call.span_id,
        "cy",
        3,
        verdict="fail",
        scores={"helpfulness": 3, "safety": 0},
        corrected_answer="better fix",
        comment="too vague",
    )
    [got] = build_evalset(store, until_ms=T0 + 10)
    assert got.scores == {"helpfulness": 4.0, "safety": "fail"}
    assert got.verdict == "fail"
    assert got.corrected_answer == got.expected_output == "better fix"
    assert got.comments == ["ana: ok", "cy: too vague"]
    assert got.reviewers == ["ana", "bo", "cy"]
    assert (got.input, got.contexts, got.output) == ("question 1", ["ctx"], "answer 1")
    assert (got.trace_id, got.span_id, got.model, got.service) == (
        call.trace_id,
        call.span_id,
        "m",
        "svc",
    )
    assert got.labelled_at.endswith("Z")


def test_a_tie_counts_as_fail_and_a_pass_becomes_the_reference(store: Store) -> None:
    """Split verdicts are a fail; a passed answer without correction is its own reference,
    a failed one without correction has none."""
    split, passed, failed = record(1, error=True), record(2, error=True), record(3, error=True)
    _items(store, [split, passed, failed])
    _label(store, split.span_id, "ana", 1, verdict="pass")
    _label(store, split.span_id, "bo", 2, verdict="fail")
    _label(store, passed.span_id, "ana", 3, verdict="pass")
    _label(store, failed.span_id, "ana", 4, verdict="fail")
    records = {r.span_id: r for r in build_evalset(store, until_ms=T0 + 10)}
    assert records[split.span_id].verdict == "fail"
    assert records[passed.span_id].expected_output == "answer 2"
    assert records[failed.span_id].expected_output == ""


def test_duplicates_are_removed(store: Store) -> None:
    """The same input asked twice (spacing and case aside) is one test case, preferring the
    corrected one; a call in two queues is one record naming both."""
    first = record(1, error=True, text="Where is my ORDER?")
    second = record(2, error=True, text="where  is my order?")
    _items(store, [first, second])
    _items(store, [first], queue="other")
    _label(store, first.span_id, "ana", 1)
    _label(store, first.span_id, "ana", 2, queue="other")
    _label(store, second.span_id, "bo", 3, corrected_answer="It ships Monday.")
    [kept] = build_evalset(store, until_ms=T0 + 10)
    assert kept.span_id == second.span_id
    assert kept.duplicates == 1
    both = {r.span_id: r for r in build_evalset(store, until_ms=T0 + 10, dedupe=False)}
    assert both[first.span_id].queues == ["other", "q"]
    assert both[first.span_id].labels == 1  # one reviewer's two labels are one judgement


def test_only_labels_in_the_window_and_queues_asked_for(store: Store) -> None:
    """``since``/``until`` select by label time; ``queues`` by queue."""
    early, late = record(1, error=True), record(2, error=True)
    _items(store, [early, late])
    _label(store, early.span_id, "ana", 1)
    _label(store, late.span_id, "ana", 100)
    assert [r.span_id for r in build_evalset(store, since_ms=T0 + 50, until_ms=T0 + 200)] == [
        late.span_id
    ]
    assert build_evalset(store, queues=["other"], until_ms=T0 + 200) == []


def test_shapes_name_fields_as_the_tools_expect(store: Store) -> None:
    """Ragas gets exactly its sample fields; OpenAI evals get chat input and an ideal,
    skipping records without a reference; the default carries provenance."""
    fixed, unfixed = record(1, error=True), record(2, error=True)
    _items(store, [fixed, unfixed], contexts=["passage"])
    _label(store, fixed.span_id, "ana", 1, verdict="fail", corrected_answer="right")
    _label(store, unfixed.span_id, "ana", 2, verdict="fail")
    records = build_evalset(store, until_ms=T0 + 10)
    ragas = shape_rows(records, "ragas")
    assert set(ragas[0]) == {"user_input", "retrieved_contexts", "response", "reference"}
    openai = shape_rows(records, "openai")
    assert openai == [
        {
            "input": [
                {"role": "system", "content": "Context:\npassage"},
                {"role": "user", "content": "question 1"},
            ],
            "ideal": "right",
        }
    ]
    default = shape_rows(records)[0]
    assert {"input", "actual_output", "expected_output", "retrieval_context"} <= set(default)
    assert default["metadata"]["trace_id"] == fixed.trace_id
    assert default["metadata"]["queues"] == ["q"]


def test_formats_round_trip(store: Store) -> None:
    """JSONL, CSV and Parquet carry the same rows; an empty Parquet still has columns."""
    call = record(1, error=True)
    _items(store, [call], contexts=["a", "b"])
    _label(store, call.span_id, "ana", 1, scores={"tone": 4, "safety": 1})
    records = build_evalset(store, until_ms=T0 + 10)
    out = io.BytesIO()
    assert write_evalset(records, out, "jsonl") == 1
    row = json.loads(out.getvalue())
    assert row["scores"] == {"tone": 4.0, "safety": "pass"}
    out = io.BytesIO()
    write_evalset(records, out, "csv")
    header, row_fields = csv.reader(io.StringIO(out.getvalue().decode()))
    assert header[:5] == ["id", "input", "actual_output", "expected_output", "retrieval_context"]
    assert json.loads(row_fields[4]) == ["a", "b"]
    out = io.BytesIO()
    write_evalset(records, out, "parquet")
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.to_pylist()[0]["retrieval_context"] == ["a", "b"]
    empty = io.BytesIO()
    assert write_evalset([], empty, "parquet", "ragas") == 0
    assert pq.read_table(io.BytesIO(empty.getvalue())).column_names == [
        "user_input",
        "retrieved_contexts",
        "response",
        "reference",
    ]
