"""The calls, call_bodies and call_scores tables' rows as Arrow columns, from call records.

These three tables take a row per call (or per kept body), 10,000 at a time. Built as
columns, their values go to ClickHouse as Arrow arrays, which it reads with a copy per
column: about 1.5 µs per row where parsing the same rows as JSON cost 5-7 µs, with no
GIL held (chDB reads the arrays outside it). Building the columns here, from the records,
also replaces building a dict per row on the thread that feeds the detectors.

The columns and types follow ``migrations/0001_initial.sql``; ClickHouse converts each
Arrow type to its column's (``string`` to ``LowCardinality(String)``, ``timestamp[ns]``
to ``DateTime64(9)``, ``map`` to ``Map``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import BatchScores
from watchkeeper.detectors import native_core

#: A kept body: the call, the probability it was kept with, why it was kept.
KeptBody = tuple[CallRecord, float, str]

_STRING = pa.string()
_STRINGS = pa.list_(_STRING)
TIMESTAMP = pa.timestamp("ns", tz="UTC")
_UINT32_MAX = 2**32 - 1
_UINT16_MAX = 2**16 - 1

# What a column holds (the compiled core's codes for its buffers): a value of each record's
# attribute as it is, its ``len()`` at most 2**32 - 1 or 2**16 - 1, a list's strings, a
# dict's keys and values.
STR, I64, U64, U32, F64, LEN32, LEN16, STR_LIST, STR_MAP = range(9)
#: (column, record attribute, what it holds, Arrow type)
Spec = tuple[str, str, int, pa.DataType]

_SPAN: Final[tuple[Spec, ...]] = (
    ("Timestamp", "timestamp_ns", I64, TIMESTAMP),
    ("TraceId", "trace_id", STR, _STRING),
    ("SpanId", "span_id", STR, _STRING),
    ("ServiceName", "service_name", STR, _STRING),
    ("Route", "route", STR, _STRING),
)
#: The ``calls`` columns but ``HasBody`` (which goes before ``Source``), in table order.
_CALLS: Final[tuple[Spec, ...]] = (
    *_SPAN[:3],
    ("ParentSpanId", "parent_span_id", STR, _STRING),
    _SPAN[3],
    ("SpanName", "span_name", STR, _STRING),
    _SPAN[4],
    ("Operation", "operation", STR, _STRING),
    ("Provider", "provider", STR, _STRING),
    ("RequestModel", "request_model", STR, _STRING),
    ("ResponseModel", "response_model", STR, _STRING),
    ("InputTokens", "input_tokens", U32, pa.uint32()),
    ("OutputTokens", "output_tokens", U32, pa.uint32()),
    ("InputChars", "input_text", LEN32, pa.uint32()),
    ("OutputChars", "output_text", LEN32, pa.uint32()),
    ("ContextCount", "contexts", LEN16, pa.uint16()),
    ("FinishReasons", "finish_reasons", STR_LIST, _STRINGS),
    ("Duration", "duration_ns", U64, pa.uint64()),
    ("StatusCode", "status_code", STR, _STRING),
    ("StatusMessage", "status_message", STR, _STRING),
    ("ErrorType", "error_type", STR, _STRING),
    ("UserId", "user_id", STR, _STRING),
    ("ConversationId", "conversation_id", STR, _STRING),
    ("SampleRate", "sample_rate", F64, pa.float64()),
    ("Source", "source", STR, _STRING),
    ("SpanAttributes", "attributes", STR_MAP, pa.map_(_STRING, _STRING)),
)
_BODIES: Final[tuple[Spec, ...]] = (
    *_SPAN,
    ("InputText", "input_text", STR, _STRING),
    ("OutputText", "output_text", STR, _STRING),
    ("InputMessages", "input_messages", STR, _STRING),
    ("OutputMessages", "output_messages", STR, _STRING),
    ("Contexts", "contexts", STR_LIST, _STRINGS),
)
_SCORES: Final[tuple[Spec, ...]] = (
    *_SPAN,
    ("Model", "model", STR, _STRING),
    ("DetectorKey", "detector_key", STR, _STRING),
)
#: What the core reads for the ``call_scores`` columns: the models the two properties of
#: ``_SCORES`` are made of, a column at a time (not a property call per row).
_SCORED: Final[tuple[Spec, ...]] = (
    *_SPAN,
    ("ResponseModel", "response_model", STR, _STRING),
    ("RequestModel", "request_model", STR, _STRING),
)
#: The core's one pass over the records (None without it): per spec, its buffers.
_RECORD_COLUMNS = native_core.record_columns()


def warm_up() -> None:
    """Load now what the first batch's columns would: pyarrow imports pandas the first time
    it converts a numpy array (about 0.3 s, with the GIL held, on the store thread)."""
    pa.array(np.zeros(1))


@dataclass(frozen=True)
class CallColumns:
    """The ``calls`` columns of a batch's calls, made once: the ``call_bodies`` and
    ``call_scores`` tables of the same calls share the columns they have in common (the
    span's ids, time, service and route; the models) rather than read every call again."""

    calls: list[CallRecord]
    columns: dict[str, pa.Array]

    @classmethod
    def of(cls, calls: Sequence[CallRecord]) -> CallColumns:
        """The columns of ``calls``."""
        rows = list(calls)
        return cls(rows, _columns(rows, _CALLS))

    def leading(self, calls: Sequence[CallRecord]) -> int:
        """How many of ``calls``, from the first, are this batch's calls (all of them, or
        none: a few list comparisons, which compare the same objects by identity)."""
        n = len(self.calls)
        if not n or len(calls) < n:
            return 0
        head = calls[:n]
        return n if (head if isinstance(head, list) else list(head)) == self.calls else 0


def calls_table(
    calls: Sequence[CallRecord],
    bodies: Iterable[KeptBody] | pa.Array,
    made: CallColumns | None = None,
) -> pa.Table:
    """The ``calls`` rows of ``calls``; ``HasBody`` is 1 for the calls among ``bodies`` (the
    kept bodies, or their span ids as an Arrow array: the ``call_bodies`` table's).
    ``made``: their columns, when made already."""
    if not isinstance(bodies, pa.Array):
        bodies = _array([body[0].span_id for body in bodies], _STRING)
    if made is None or made.leading(calls) != len(calls):
        made = CallColumns.of(calls)
    columns = dict(made.columns)
    has_body = pc.is_in(columns["SpanId"], value_set=bodies).cast(pa.uint8())
    names = [spec[0] for spec in _CALLS]
    names.insert(names.index("Source"), "HasBody")
    columns["HasBody"] = has_body
    return pa.table({name: columns[name] for name in names})


def bodies_table(bodies: Sequence[KeptBody], made: CallColumns | None = None) -> pa.Table:
    """The ``call_bodies`` rows: each kept call's texts, its keep rate and reason.
    ``made``: the columns of the batch's calls, which these may share."""
    calls = [body[0] for body in bodies]
    return pa.table(
        {
            **_columns(calls, _BODIES, made),
            "SampleRate": _array(list(map(itemgetter(1), bodies)), pa.float64()),
            "KeepReason": _array(list(map(itemgetter(2), bodies)), _STRING),
        }
    )


def scores_table(
    scores: BatchScores, versions: Mapping[str, str] | None = None, made: CallColumns | None = None
) -> pa.Table:
    """The ``call_scores`` rows: one per call with a score, every score in one map (``made``:
    the columns of the batch's calls, which these may share).

    Built from the columns at once: the finite cells of the calls-by-scores matrix, row by
    row, are the map's values, their columns' names its keys. ``ScorerVersions`` maps each
    detector of ``versions`` (detector -> version) that scored the call to its version.
    """
    names, matrix = scores.matrix()
    held = ~np.isnan(matrix)
    per_call = held.sum(axis=1)
    rows = np.flatnonzero(per_call)
    columns = _score_columns(scores.calls, made)
    if len(rows) < len(scores.calls):
        index = pa.array(rows, pa.int64())
        columns = {name: column.take(index) for name, column in columns.items()}
        held_rows = held[rows]
    else:
        held_rows = held
    # Row by row, each row's scores in column order (rows without one give none).
    _, at = np.nonzero(held)
    offsets = np.zeros(len(rows) + 1, np.int32)
    np.cumsum(per_call[rows], out=offsets[1:])
    keys = pa.array(names, _STRING).take(pa.array(at, pa.int64()))
    values = pa.array(matrix[held], pa.float64())
    return pa.table(
        {
            **columns,
            "Scores": pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), keys, values),
            "ScorerVersions": _versions(names, held_rows, versions or {}),
        }
    )


def _score_columns(calls: Sequence[CallRecord], made: CallColumns | None) -> dict[str, pa.Array]:
    """The columns of ``_SCORES``: the model is the one that answered, else the one asked
    (``CallRecord.model``), the key service, route and model joined by ``|``
    (``CallRecord.detector_key``)."""
    if _RECORD_COLUMNS is None:
        return {spec[0]: _from_values(calls, spec) for spec in _SCORES}
    columns = _columns(calls, _SCORED, made)
    answered, asked = columns.pop("ResponseModel"), columns.pop("RequestModel")
    columns["Model"] = model = pc.if_else(pc.equal(answered, ""), asked, answered)
    columns["DetectorKey"] = pc.binary_join_element_wise(
        columns["ServiceName"], columns["Route"], model, "|"
    )
    return columns


def _versions(
    names: list[str], held: npt.NDArray[np.bool_], versions: Mapping[str, str]
) -> pa.Array:
    """Per row, ``detector -> version`` of the detectors in ``versions`` with a score held
    in that row (``held``: rows by ``names``, the ``<detector>.<score>`` columns)."""
    detectors = [d for d in versions if any(n.startswith(f"{d}.") for n in names)]
    by_detector = np.zeros((held.shape[0], len(detectors)), np.bool_)
    for j, detector in enumerate(detectors):
        mine = [i for i, n in enumerate(names) if n.startswith(f"{detector}.")]
        by_detector[:, j] = held[:, mine].any(axis=1)
    offsets = np.zeros(held.shape[0] + 1, np.int32)
    np.cumsum(by_detector.sum(axis=1), out=offsets[1:])
    _, at = np.nonzero(by_detector)
    index = pa.array(at, pa.int64())
    keys = pa.array(detectors, _STRING).take(index)
    values = pa.array([versions[d] for d in detectors], _STRING).take(index)
    return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), keys, values)


def core_columns(records: Sequence[Any], specs: Sequence[Spec]) -> dict[str, pa.Array] | None:
    """The columns of ``specs`` by name, made by the core from the records' attributes (any
    objects that have them); None without the core or when it leaves a value to Python
    (see ``columns.rs``)."""
    if _RECORD_COLUMNS is None:
        return None
    rows = records if isinstance(records, list) else list(records)
    buffers = _RECORD_COLUMNS(rows, [(spec[1], spec[2]) for spec in specs])
    if buffers is None:
        return None
    return {
        spec[0]: _from_buffers(spec, len(rows), made)
        for spec, made in zip(specs, buffers, strict=True)
    }


def _columns(
    calls: Sequence[CallRecord], specs: Sequence[Spec], made: CallColumns | None = None
) -> dict[str, pa.Array]:
    """The columns of ``specs``, by name: from the core's buffers when it takes every
    value (the leading rows of a column ``made`` has taken from there), else each from a
    list of the calls' values."""
    shared = made.leading(calls) if made is not None else 0
    if made is not None and shared:
        columns = _with_shared(calls, specs, made, shared)
    else:
        columns = core_columns(calls, specs)
    if columns is not None:
        return columns
    return {spec[0]: _from_values(calls, spec) for spec in specs}


def _with_shared(
    calls: Sequence[CallRecord], specs: Sequence[Spec], made: CallColumns, shared: int
) -> dict[str, pa.Array] | None:
    """:func:`core_columns`, the first ``shared`` rows of the columns ``made`` has taken
    from it (their other rows made by the core and appended)."""
    common = [spec for spec in specs if spec[0] in made.columns]
    own = [spec for spec in specs if spec[0] not in made.columns]
    columns = core_columns(calls, own) if own else {}
    rest = core_columns(calls[shared:], common) if len(calls) > shared else {}
    if columns is None or rest is None:
        return None
    for spec in common:
        name = spec[0]
        head = made.columns[name]
        columns[name] = pa.concat_arrays([head, rest[name]]) if rest else head
    return {spec[0]: columns[spec[0]] for spec in specs}


def _from_values(calls: Sequence[CallRecord], spec: Spec) -> pa.Array:
    _, name, holds, kind = spec
    if holds in {LEN32, LEN16}:
        return _lengths(calls, name, _UINT32_MAX if holds == LEN32 else _UINT16_MAX, kind)
    if holds == STR_MAP:
        return _map(list(map(attrgetter(name), calls)), _STRING)
    return _column(calls, name, kind)


def _from_buffers(spec: Spec, rows: int, buffers: list[bytes]) -> pa.Array:
    """An array of ``rows`` values of ``spec`` from the core's buffers (see ``columns.rs``)."""
    holds, kind = spec[2], spec[3]
    if holds == STR:
        return _strings(rows, buffers)
    if holds == STR_LIST:
        child = _strings(len(buffers[1]) // 4 - 1, buffers[1:])
        return pa.Array.from_buffers(kind, rows, [None, pa.py_buffer(buffers[0])], children=[child])
    if holds == STR_MAP:
        offsets = pa.Array.from_buffers(pa.int32(), rows + 1, [None, pa.py_buffer(buffers[0])])
        keys = _strings(len(buffers[1]) // 4 - 1, buffers[1:3])
        return pa.MapArray.from_arrays(offsets, keys, _strings(len(keys), buffers[3:]))
    return pa.Array.from_buffers(kind, rows, [None, pa.py_buffer(buffers[0])])


def _strings(rows: int, buffers: list[bytes]) -> pa.Array:
    """A string array from its offsets and bytes."""
    return pa.Array.from_buffers(
        _STRING, rows, [None, pa.py_buffer(buffers[0]), pa.py_buffer(buffers[1])]
    )


def _column(calls: Sequence[CallRecord], name: str, kind: pa.DataType = _STRING) -> pa.Array:
    """The attribute (or property) ``name`` of each call, as an array of ``kind``."""
    return _array(list(map(attrgetter(name), calls)), kind)


def _lengths(calls: Sequence[CallRecord], name: str, most: int, kind: pa.DataType) -> pa.Array:
    get = attrgetter(name)
    return pa.array([min(len(get(c)), most) for c in calls], kind)


def _map(dicts: list[dict[str, Any]], value_kind: pa.DataType) -> pa.Array:
    """A ``map<string, value_kind>`` array of ``dicts`` (built from flat keys and values:
    several times faster than converting a list of item lists)."""
    offsets = [0, *itertools.accumulate(map(len, dicts))]
    keys = list(itertools.chain.from_iterable(dicts))
    values = list(itertools.chain.from_iterable(map(dict.values, dicts)))
    return pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()), _array(keys, _STRING), _array(values, value_kind)
    )


def _array(values: list[Any], kind: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, kind)
    except UnicodeEncodeError:
        # A lone surrogate (Python decodes some inputs leniently) is not UTF-8: store the
        # text with a replacement character rather than refuse the batch for ever.
        return pa.array(_valid_utf8(values), kind)


def _valid_utf8(values: list[Any]) -> list[Any]:
    def fix(value: Any) -> Any:
        if isinstance(value, str):
            return value.encode("utf-8", "replace").decode("utf-8")
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    return [fix(v) for v in values]
