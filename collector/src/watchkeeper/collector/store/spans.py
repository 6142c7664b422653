"""The ``spans`` table (``migrations/0015_spans.sql``): trace spans in as Arrow columns,
a trace's or a session's spans out as :class:`TraceSpan` values.

An LLM call whose body is kept has its texts in ``call_bodies`` already: its ``spans`` row
is stored without them (a quarter of the bytes of a 5-span trace's rows, which chDB reads,
sorts, compresses and merges again), and reads take them back from ``call_bodies``,
bounded as :func:`~watchkeeper.collector.traces.span_record.span_from_call` bounds them.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any, Final, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.collector.store.columns import (
    I64,
    STR,
    STR_MAP,
    TIMESTAMP,
    Spec,
    core_columns,
)
from watchkeeper.collector.traces import kinds
from watchkeeper.collector.traces.assemble import Document, TraceSpan
from watchkeeper.collector.traces.span_record import (
    MAX_DOCUMENT_CHARS,
    MAX_DOCUMENTS,
    MAX_TEXT_CHARS,
)

_STRING = pa.string()
#: Spans read for one trace or one session at most (the per-trace bound is smaller).
MAX_SPANS_READ: Final = 20_000

_COLUMNS: Final = """
SELECT TraceId, SpanId, ParentSpanId, SpanName, Kind,
       toString(toUnixTimestamp64Nano(Timestamp)) AS StartNs, toString(Duration) AS Duration,
       StatusCode, StatusMessage, SpanAttributes, InputText, OutputText,
       Documents, DocumentScores, SessionId, UserId, ServiceName
FROM {db}.spans FINAL
"""
#: One trace's spans (``trace_id``).
TRACE_SPANS: Final = (
    _COLUMNS + "WHERE TraceId = {trace_id:String} ORDER BY Timestamp, SpanId LIMIT {limit:UInt32}"
)
#: Every span of the traces that have a span in the session (``session_id``).
SESSION_SPANS: Final = (
    _COLUMNS
    + """WHERE TraceId IN (
    SELECT DISTINCT TraceId FROM {db}.spans WHERE SessionId = {session_id:String}
)
ORDER BY Timestamp, SpanId LIMIT {limit:UInt32}"""
)


#: The kept texts of some LLM calls (``trace_ids``, ``span_ids``: comma-separated hex ids;
#: ``services``: separated by the unit separator, as a name may hold a comma), which
#: started in ``[from_ns, to_ns]``: the days and services bound what is read.
CALL_TEXTS: Final = """
SELECT SpanId, InputText, OutputText, Contexts
FROM {db}.call_bodies FINAL
WHERE Timestamp >= fromUnixTimestamp64Nano({from_ns:Int64})
  AND Timestamp <= fromUnixTimestamp64Nano({to_ns:Int64})
  AND has(splitByChar('\\x1F', {services:String}), ServiceName)
  AND has(splitByChar(',', {trace_ids:String}), TraceId)
  AND has(splitByChar(',', {span_ids:String}), SpanId)
"""
_TEXTS: Final = ("InputText", "OutputText", "Documents")


class SpanReader(Protocol):
    """What reads need of the store (``Store.select``)."""

    def select(self, sql: str, **params: Any) -> list[dict[str, Any]]: ...


#: The ``spans`` table's columns, in the order its tables give them.
COLUMN_ORDER: Final = (
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "Kind",
    "ServiceName",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "SessionId",
    "UserId",
    "InputText",
    "OutputText",
    "Documents",
    "DocumentScores",
    "SpanAttributes",
)
#: The columns the core makes of each span's attributes (all but the documents; the
#: durations from the ends).
_SPECS: Final[tuple[Spec, ...]] = (
    ("Timestamp", "start_ns", I64, TIMESTAMP),
    ("TraceId", "trace_id", STR, _STRING),
    ("SpanId", "span_id", STR, _STRING),
    ("ParentSpanId", "parent_span_id", STR, _STRING),
    ("SpanName", "name", STR, _STRING),
    ("Kind", "kind", STR, _STRING),
    ("ServiceName", "service_name", STR, _STRING),
    ("EndNs", "end_ns", I64, pa.int64()),
    ("StatusCode", "status", STR, _STRING),
    ("StatusMessage", "status_message", STR, _STRING),
    ("SessionId", "session_id", STR, _STRING),
    ("UserId", "user_id", STR, _STRING),
    ("SpanAttributes", "attributes", STR_MAP, pa.map_(_STRING, _STRING)),
)
#: The texts, read only of the spans that keep theirs.
_TEXT_SPECS: Final[tuple[Spec, ...]] = (
    ("InputText", "input_text", STR, _STRING),
    ("OutputText", "output_text", STR, _STRING),
)


def spans_table(spans: Sequence[TraceSpan], bodies: Collection[str] | pa.Array = ()) -> pa.Table:
    """The ``spans`` rows of ``spans``, without the texts of the LLM calls whose span ids
    are in ``bodies`` (their ``call_bodies`` rows hold them; a set, or an Arrow array such
    as the ``call_bodies`` table's ``SpanId``).

    The core copies the attributes into the columns' buffers, the texts only of the spans
    that keep them. Without the core (or for a value it leaves to Python) each column is
    converted from a list of the spans' values, the texts blanked first."""
    columns = core_columns(spans, _SPECS)
    bare = None if columns is None else _bare(columns, bodies)
    texts = None if columns is None else _kept_texts(spans, bare)
    if columns is None or texts is None:
        return _table_of_values(spans, bodies)
    columns.update(texts)
    columns["Duration"] = _durations(columns.pop("EndNs"), columns["Timestamp"], spans)
    docs = list(map(attrgetter("documents"), spans))
    if bare is not None and any(docs):
        docs = [() if b else d for b, d in zip(bare.to_pylist(), docs, strict=True)]
    columns["Documents"], columns["DocumentScores"] = _documents(docs)
    return pa.table({name: columns[name] for name in COLUMN_ORDER})


def _bare(columns: dict[str, pa.Array], bodies: Collection[str] | pa.Array) -> pa.Array | None:
    """Per row, whether it is an LLM call with its body in ``bodies``; None when none is."""
    if not len(bodies):
        return None
    ids = bodies if isinstance(bodies, pa.Array) else _safe(list(bodies), _STRING)
    bare = pc.and_(pc.equal(columns["Kind"], kinds.LLM), pc.is_in(columns["SpanId"], value_set=ids))
    return bare if pc.any(bare).as_py() else None


def _kept_texts(spans: Sequence[TraceSpan], bare: pa.Array | None) -> dict[str, pa.Array] | None:
    """The text columns, empty where ``bare``: the core reads the other rows' texts alone
    (None when it leaves one to Python)."""
    if bare is None:
        return core_columns(spans, _TEXT_SPECS)
    empty = pa.repeat(pa.scalar("", _STRING), len(spans))
    keep = pc.invert(bare)
    if not pc.any(keep).as_py():
        return {spec[0]: empty for spec in _TEXT_SPECS}
    held = core_columns(list(itertools.compress(spans, keep.to_pylist())), _TEXT_SPECS)
    if held is None:
        return None
    return {name: pc.replace_with_mask(empty, keep, column) for name, column in held.items()}


def _durations(ends: pa.Array, starts: pa.Array, spans: Sequence[TraceSpan]) -> pa.Array:
    """Each span's ``duration_ns`` (end minus start, never negative), a column at a time
    where no difference can overflow (times not negative), else from each span."""
    end = ends.to_numpy()
    start = starts.view(pa.int64()).to_numpy()
    if len(end) and min(end.min(), start.min()) < 0:
        return pa.array([s.duration_ns for s in spans], pa.uint64())
    return pa.array(np.maximum(end - start, 0).astype(np.uint64), pa.uint64())


def _documents(docs: Sequence[tuple[Document, ...]]) -> tuple[pa.Array, pa.Array]:
    """The ``Documents`` and ``DocumentScores`` columns: each span's documents' texts and
    scores. Lists are built from flat values and offsets, several times faster than
    converting a list per row."""
    offsets = pa.array([0, *itertools.accumulate(map(len, docs))], pa.int32())
    flat = list(itertools.chain.from_iterable(docs))
    return (
        pa.ListArray.from_arrays(offsets, _safe([d[0] for d in flat], _STRING)),
        pa.ListArray.from_arrays(offsets, pa.array([d[1] for d in flat], pa.float64())),
    )


def _table_of_values(spans: Sequence[TraceSpan], bodies: Collection[str] | pa.Array) -> pa.Table:
    """:func:`spans_table` from lists of the spans' values."""
    if isinstance(bodies, pa.Array):
        bodies = set(bodies.to_pylist())
    inputs, outputs, docs = _texts(spans, bodies)
    documents, scores = _documents(docs)
    attributes = [s.attributes for s in spans]
    attr_offsets = pa.array([0, *itertools.accumulate(map(len, attributes))], pa.int32())
    return pa.table(
        {
            "Timestamp": pa.array([s.start_ns for s in spans], TIMESTAMP),
            "TraceId": _strings(spans, "trace_id"),
            "SpanId": _strings(spans, "span_id"),
            "ParentSpanId": _strings(spans, "parent_span_id"),
            "SpanName": _strings(spans, "name"),
            "Kind": _strings(spans, "kind"),
            "ServiceName": _strings(spans, "service_name"),
            "Duration": pa.array([s.duration_ns for s in spans], pa.uint64()),
            "StatusCode": _strings(spans, "status"),
            "StatusMessage": _strings(spans, "status_message"),
            "SessionId": _strings(spans, "session_id"),
            "UserId": _strings(spans, "user_id"),
            "InputText": _safe(inputs, _STRING),
            "OutputText": _safe(outputs, _STRING),
            "Documents": documents,
            "DocumentScores": scores,
            "SpanAttributes": pa.MapArray.from_arrays(
                attr_offsets,
                _safe(list(itertools.chain.from_iterable(attributes)), _STRING),
                _safe(list(itertools.chain.from_iterable(map(_values, attributes))), _STRING),
            ),
        }
    )


def _texts(
    spans: Sequence[TraceSpan], bodies: Collection[str]
) -> tuple[list[str], list[str], list[tuple[Document, ...]]]:
    """Each span's input, output and documents; none for the calls in ``bodies``."""
    inputs = list(map(attrgetter("input_text"), spans))
    outputs = list(map(attrgetter("output_text"), spans))
    docs = [s.documents for s in spans]
    if bodies:
        for at, span in enumerate(spans):
            if span.kind == kinds.LLM and span.span_id in bodies:
                inputs[at] = outputs[at] = ""
                docs[at] = ()
    return inputs, outputs, docs


def _values(mapping: Mapping[str, str]) -> Iterable[str]:
    return mapping.values()


def read_trace(store: SpanReader, trace_id: str) -> list[TraceSpan]:
    """The stored spans of one trace, in start order."""
    rows = store.select(TRACE_SPANS, trace_id=trace_id, limit=MAX_SPANS_READ)
    return [span_from_row(row) for row in with_call_texts(store, rows)]


def read_session(store: SpanReader, session_id: str) -> list[TraceSpan]:
    """The stored spans of every trace with a span in the session, in start order."""
    rows = store.select(SESSION_SPANS, session_id=session_id, limit=MAX_SPANS_READ)
    return [span_from_row(row) for row in with_call_texts(store, rows)]


def with_call_texts(store: SpanReader, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with the texts of LLM calls stored in ``call_bodies`` put back in their
    rows (which hold none), bounded as their rows would have held them."""
    bare = {
        row["SpanId"]: row
        for row in rows
        if row["Kind"] == kinds.LLM and not any(row[name] for name in _TEXTS)
    }
    if not bare:
        return rows
    starts = [int(row["StartNs"]) for row in bare.values()]
    found = store.select(
        CALL_TEXTS,
        from_ns=min(starts),
        to_ns=max(starts),
        services="\x1f".join({row["ServiceName"] for row in bare.values()}),
        trace_ids=",".join({row["TraceId"] for row in bare.values()}),
        span_ids=",".join(bare),
    )
    for body in found:
        row = bare[body["SpanId"]]
        contexts = body["Contexts"][:MAX_DOCUMENTS]
        row["InputText"] = body["InputText"][:MAX_TEXT_CHARS]
        row["OutputText"] = body["OutputText"][:MAX_TEXT_CHARS]
        row["Documents"] = [c[:MAX_DOCUMENT_CHARS] for c in contexts]
        row["DocumentScores"] = [None] * len(contexts)
    return rows


def span_from_row(row: Mapping[str, Any]) -> TraceSpan:
    """A ``spans`` row (its start as ``StartNs``, in ns) as a :class:`TraceSpan`."""
    start = int(row["StartNs"])
    scores = row["DocumentScores"]
    return TraceSpan(
        trace_id=row["TraceId"],
        span_id=row["SpanId"],
        parent_span_id=row["ParentSpanId"],
        name=row["SpanName"],
        kind=row["Kind"],
        start_ns=start,
        end_ns=start + int(row["Duration"]),
        status=row["StatusCode"],
        attributes=dict(row["SpanAttributes"]),
        input_text=row["InputText"],
        output_text=row["OutputText"],
        documents=tuple(
            (text, None if score is None else float(score))
            for text, score in zip(row["Documents"], scores, strict=False)
        ),
        session_id=row["SessionId"],
        user_id=row["UserId"],
        service_name=row["ServiceName"],
        status_message=row["StatusMessage"],
    )


def _strings(spans: Sequence[TraceSpan], name: str) -> pa.Array:
    return _safe(list(map(attrgetter(name), spans)), _STRING)


def _safe(values: list[Any], kind: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, kind)
    except UnicodeEncodeError:
        # A lone surrogate is not UTF-8: keep the text with a replacement character.
        return pa.array(_valid_utf8(values), kind)


def _valid_utf8(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, (list, tuple)):
        return [_valid_utf8(v) for v in value]
    return value


#: Alarms on the calls of one trace, within the days its spans cover.
TRACE_ALARMS: Final = """
SELECT Detector, DetectorKey, SpanId, Score, Message
FROM {db}.alarms FINAL
WHERE TraceId = {trace_id:String}
  AND toDate(Timestamp) BETWEEN toDate(fromUnixTimestamp64Nano({from_ns:Int64}))
                            AND toDate(fromUnixTimestamp64Nano({to_ns:Int64}))
ORDER BY Timestamp
LIMIT 1000
"""


def read_trace_alarms(
    store: SpanReader, trace_id: str, from_ns: int, to_ns: int
) -> list[dict[str, Any]]:
    """Alarms raised on the calls of one trace that started in ``[from_ns, to_ns]``."""
    return store.select(TRACE_ALARMS, trace_id=trace_id, from_ns=from_ns, to_ns=to_ns)
