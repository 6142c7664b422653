"""The chDB store: migrations, idempotent writes, review queues and labels."""

from __future__ import annotations

from tests.collector.otlp_payloads import answer_spans, protobuf_payload
from watchkeeper.collector.pipeline import Payload, Pipeline
from watchkeeper.collector.processors.decode import decode_request
from watchkeeper.collector.processors.normalize import iter_calls
from watchkeeper.collector.processors.review_reservoir import ReviewReservoir
from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store.store import Store, WriteBatch


def _calls(n: int) -> list[CallRecord]:
    request = decode_request(protobuf_payload(answer_spans(n)))
    return [c for c in iter_calls(request, "test") if c is not None]


def test_migrations_apply_once(store: Store) -> None:
    """Migrating again applies nothing and keeps the schema version."""
    from watchkeeper.collector.store.store import _migrations

    assert store.migrate() == []
    assert store.schema_version() == max(version for version, _, _ in _migrations())


def test_writes_are_idempotent_by_span_id(store: Store) -> None:
    """Writing the same calls twice (a replay) leaves each call once in query results."""
    calls = _calls(5)
    store.write(WriteBatch(calls=calls))
    store.write(WriteBatch(calls=calls))
    assert store.count_calls() == 5
    row = store.calls_for_trace(calls[0].trace_id)
    assert len(row) == 1
    assert row[0]["SpanId"] == calls[0].span_id


def _pipeline(store: Store) -> Pipeline:
    """A pipeline whose review reservoir takes every call (until flushed)."""
    return Pipeline(store, reservoir=ReviewReservoir(size=100, window_s=3600))


def test_pipeline_replay_does_not_duplicate_anything(store: Store) -> None:
    """The same payload processed twice yields one row per call in every table."""
    pipeline = _pipeline(store)
    payload = Payload(protobuf_payload(answer_spans(4)), "test")
    pipeline.process([payload])
    pipeline.process([payload])
    pipeline.flush_review()
    assert store.count_calls() == 4
    assert store.count_bodies() == 4
    assert store.queue_depths() == {"random": 4}
    scores = store.score_summary()
    assert scores
    assert {int(r["N"]) for r in scores} == {4}
    assert int(store.select("SELECT count() AS n FROM {db}.call_scores FINAL")[0]["n"]) == 4


def test_labelling_removes_an_item_from_its_queue(store: Store) -> None:
    """A labelled item no longer counts toward the queue depth, and its label is stored."""
    pipeline = _pipeline(store)
    pipeline.process([Payload(protobuf_payload(answer_spans(3)), "test")])
    pipeline.flush_review()
    items = store.pending_items("random")
    assert len(items) == 3
    first = items[0]
    store.add_label(
        queue="random",
        span_id=first["SpanId"],
        trace_id=first["TraceId"],
        reviewer="ana",
        verdict="fail",
        scores={"helpfulness": 2},
        comment="too vague",
    )
    assert store.queue_depths() == {"random": 2}
    labels = store.labels("random")
    assert [(lb["SpanId"], lb["Verdict"], lb["Scores"]) for lb in labels] == [
        (first["SpanId"], "fail", {"helpfulness": 2})
    ]


def test_bad_payload_goes_to_dead_letters_and_batch_continues(store: Store) -> None:
    """A bad payload in a batch is dead-lettered and counted; the good ones are stored."""
    pipeline = Pipeline(store)
    result = pipeline.process(
        [Payload(b"\x12\x34garbage", "test"), Payload(protobuf_payload(answer_spans(2)), "test")]
    )
    assert (result.calls, result.dead_letters) == (2, 1)
    assert store.count_calls() == 2
    assert store.dead_letter_counts() == {"bad_protobuf": 1}
    exposition = pipeline.metrics.exposition().decode()
    assert 'watchkeeper_dead_letters_total{reason="bad_protobuf"} 1.0' in exposition


def test_user_text_is_bound_not_spliced(store: Store) -> None:
    """Queue names with SQL in them are parameters: they match nothing and break nothing."""
    store.write(WriteBatch(calls=_calls(1)))
    assert store.pending_items("random' OR 1=1 --") == []
    assert store.calls_for_trace("x'; DROP TABLE watchkeeper.calls; --") == []
    assert store.count_calls() == 1


def test_feedback_is_stored_with_the_pipeline_batch(store: Store) -> None:
    """Feedback spans in a payload land in the feedback table and are counted."""
    from watchkeeper.sdk import configure, feedback, testing

    configure("memory")
    testing.clear()
    feedback("4bf92f3577b34da6a3ce929d0e0e4736", 1.0, "great", label="thumbs_up")
    payload = testing.finished_payload()
    testing.clear()
    pipeline = Pipeline(store)
    pipeline.process([Payload(payload, "test")])
    rows = store.feedback_for_trace("4bf92f3577b34da6a3ce929d0e0e4736")
    assert [(r["Score"], r["Label"], r["Comment"]) for r in rows] == [(1.0, "thumbs_up", "great")]
    assert "watchkeeper_feedback_total 1.0" in pipeline.metrics.exposition().decode()


def test_texts_round_trip_through_a_batched_insert(store: Store) -> None:
    """Bodies with quotes, backslashes, newlines, commas, brackets and other scripts come
    back from the store exactly as written (rows go as one encoded batch)."""
    texts = ['say "hi", then \\n[1, 2]', "tab\there\nnewline", "数据漂移 — ok…", "}{][,\\\\"]
    calls = _calls(len(texts))
    for call, text in zip(calls, texts, strict=True):
        call.input_text, call.output_text, call.contexts = text, text[::-1], [text, ""]
    store.write(WriteBatch(calls=calls, bodies=[(c, 1.0, "sampled") for c in calls]))
    rows = store.backend.select(
        f"SELECT SpanId, InputText, OutputText, Contexts FROM {store.database}.call_bodies"
    )
    got = {row["SpanId"]: (row["InputText"], row["OutputText"], row["Contexts"]) for row in rows}
    assert got == {c.span_id: (c.input_text, c.output_text, c.contexts) for c in calls}


def test_rows_of_other_key_orders_land_in_their_columns(store: Store) -> None:
    """Rows whose keys come in different orders are matched by name, not by position."""
    table = f"{store.database}.schema_migrations"
    store.backend.insert_rows(table, [{"Version": 92, "Name": "c"}, {"Name": "d", "Version": 93}])
    rows = store.backend.select(f"SELECT Version, Name FROM {table} WHERE Version >= 90")
    assert sorted((int(r["Version"]), r["Name"]) for r in rows) == [(92, "c"), (93, "d")]
