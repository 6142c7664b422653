"""An LLM call whose body is kept stores its texts once, in ``call_bodies``: its ``spans``
row holds none, and the trace and session reads give the spans they gave when the row
held them (bounded as ``span_from_call`` bounds them)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.store import spans as spans_module
from watchkeeper.collector.store.chdb_backend import ChdbBackend
from watchkeeper.collector.store.spans import read_session, read_trace, spans_table
from watchkeeper.collector.store.store import Store, WriteBatch
from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.span_record import (
    MAX_DOCUMENT_CHARS,
    MAX_DOCUMENTS,
    MAX_TEXT_CHARS,
    span_from_call,
)

TRACE = "cd" * 16
SESSION = "conversation-1"


def _call(n: int, **texts: object) -> CallRecord:
    start = time.time_ns() - 60 * 10**9 + n * 1000
    return CallRecord(
        trace_id=TRACE,
        span_id=f"{n:016x}",
        timestamp_ns=start,
        duration_ns=500,
        parent_span_id="01" * 8,
        service_name="svc, eu",  # a comma in a name must not split it
        span_name="chat",
        route="/ask",
        conversation_id=SESSION,
        attributes={"code.function.name": "answer"},
        **texts,  # type: ignore[arg-type]
    )


def _batch() -> WriteBatch:
    """Calls with kept bodies (long texts and many long contexts, é and an emoji across
    the bounds), one whose body is not kept, and an LLM span that is no call."""
    long_text = ("é" * (MAX_TEXT_CHARS - 1)) + "😀 and more"
    contexts = [f"passage {k} " + "ü" * MAX_DOCUMENT_CHARS for k in range(MAX_DOCUMENTS + 3)]
    kept = [
        _call(2, input_text="short question", output_text="short answer"),
        _call(3, input_text=long_text, output_text=long_text[::-1], contexts=contexts),
        _call(4),  # kept, with empty texts
    ]
    not_kept = _call(5, input_text="not kept", output_text="not kept either")
    other = TraceSpan(
        TRACE, "06" * 8, "01" * 8, "llm span", kinds.LLM, kept[0].timestamp_ns + 7,
        kept[0].timestamp_ns + 9, "OK", {}, "its own input", "its own output",
    )  # fmt: skip
    root = TraceSpan(
        TRACE, "01" * 8, "", "agent", kinds.AGENT, kept[0].timestamp_ns - 5,
        kept[0].timestamp_ns + 5000, "OK", {}, session_id=SESSION,
    )  # fmt: skip
    spans = [span_from_call(c, with_body=True) for c in kept]
    spans += [span_from_call(not_kept, with_body=False), other, root]
    return WriteBatch(
        calls=[*kept, not_kept], bodies=[(c, 1.0, "sampled") for c in kept], spans=spans
    )


@pytest.fixture
def two_stores(tmp_path: Path) -> tuple[Store, Store]:
    backend = ChdbBackend(tmp_path / "chdb")
    stores = Store(backend, "texts_in_rows"), Store(backend, "texts_in_bodies")
    for store in stores:
        store.migrate()
    yield stores
    backend.close()


def test_reads_give_the_spans_the_rows_gave_with_their_texts(
    two_stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trace and session reads are the same whether the calls' rows hold their texts
    (as before) or ``call_bodies`` does; a replayed batch reads the same again."""
    in_rows, in_bodies = two_stores
    batch = _batch()
    in_bodies.write(batch)
    in_bodies.write(batch)  # replayed
    with monkeypatch.context() as patched:
        patched.setattr(
            "watchkeeper.collector.store.store.spans_table",
            lambda spans, bodies: spans_table(spans),
        )
        in_rows.write(batch)
    expected = sorted(batch.spans, key=lambda s: (s.start_ns, s.span_id))
    assert read_trace(in_rows, TRACE) == expected
    assert read_trace(in_bodies, TRACE) == expected
    assert read_session(in_bodies, SESSION) == read_session(in_rows, SESSION) == expected
    long_call = next(s for s in expected if s.span_id == f"{3:016x}")
    assert len(long_call.input_text) == MAX_TEXT_CHARS
    assert len(long_call.documents) == MAX_DOCUMENTS


def test_the_rows_of_calls_with_kept_bodies_hold_no_texts(two_stores: tuple[Store, Store]) -> None:
    """Only the calls whose bodies are in call_bodies lose their texts in ``spans``; an
    LLM span that is no call, and any other span, keep theirs."""
    _, store = two_stores
    store.write(_batch())
    rows = store.select(
        "SELECT SpanId, InputText, OutputText, length(Documents) AS docs FROM {db}.spans"
    )
    held = {r["SpanId"]: bool(r["InputText"] or r["OutputText"] or r["docs"]) for r in rows}
    assert held == {
        f"{2:016x}": False,
        f"{3:016x}": False,
        f"{4:016x}": False,
        f"{5:016x}": False,  # body not kept: no texts anywhere
        "06" * 8: True,
        "01" * 8: False,
    }


def test_a_trace_without_bare_calls_asks_nothing_of_call_bodies(
    two_stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trace whose LLM rows hold texts (or that has none) is read with one query."""
    _, store = two_stores
    batch = _batch()
    store.write(WriteBatch(spans=[s for s in batch.spans if s.kind != kinds.LLM]))
    asked: list[str] = []
    select = store.select
    monkeypatch.setattr(store, "select", lambda sql, **p: asked.append(sql) or select(sql, **p))
    assert [s.kind for s in read_trace(store, TRACE)] == [kinds.AGENT]
    assert asked == [spans_module.TRACE_SPANS]
