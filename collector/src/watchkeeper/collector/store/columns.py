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
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import BatchScores

#: A kept body: the call, the probability it was kept with, why it was kept.
KeptBody = tuple[CallRecord, float, str]

_STRING = pa.string()
_STRINGS = pa.list_(_STRING)
_TIMESTAMP = pa.timestamp("ns", tz="UTC")
_UINT32_MAX = 2**32 - 1
_UINT16_MAX = 2**16 - 1


def warm_up() -> None:
    """Load now what the first batch's columns would: pyarrow imports pandas the first time
    it converts a numpy array (about 0.3 s, with the GIL held, on the store thread)."""
    pa.array(np.zeros(1))


def calls_table(calls: Sequence[CallRecord], bodies: Iterable[KeptBody]) -> pa.Table:
    """The ``calls`` rows of ``calls``; ``HasBody`` is 1 for the calls among ``bodies``."""
    with_body = {body[0].span_id for body in bodies}
    return pa.table(
        {
            "Timestamp": _column(calls, "timestamp_ns", _TIMESTAMP),
            "TraceId": _column(calls, "trace_id"),
            "SpanId": _column(calls, "span_id"),
            "ParentSpanId": _column(calls, "parent_span_id"),
            "ServiceName": _column(calls, "service_name"),
            "SpanName": _column(calls, "span_name"),
            "Route": _column(calls, "route"),
            "Operation": _column(calls, "operation"),
            "Provider": _column(calls, "provider"),
            "RequestModel": _column(calls, "request_model"),
            "ResponseModel": _column(calls, "response_model"),
            "InputTokens": _column(calls, "input_tokens", pa.uint32()),
            "OutputTokens": _column(calls, "output_tokens", pa.uint32()),
            "InputChars": _lengths(calls, "input_text", _UINT32_MAX, pa.uint32()),
            "OutputChars": _lengths(calls, "output_text", _UINT32_MAX, pa.uint32()),
            "ContextCount": _lengths(calls, "contexts", _UINT16_MAX, pa.uint16()),
            "FinishReasons": _column(calls, "finish_reasons", _STRINGS),
            "Duration": _column(calls, "duration_ns", pa.uint64()),
            "StatusCode": _column(calls, "status_code"),
            "StatusMessage": _column(calls, "status_message"),
            "ErrorType": _column(calls, "error_type"),
            "UserId": _column(calls, "user_id"),
            "ConversationId": _column(calls, "conversation_id"),
            "SampleRate": _column(calls, "sample_rate", pa.float64()),
            "HasBody": pa.array([c.span_id in with_body for c in calls]).cast(pa.uint8()),
            "Source": _column(calls, "source"),
            "SpanAttributes": _map(list(map(attrgetter("attributes"), calls)), _STRING),
        }
    )


def bodies_table(bodies: Sequence[KeptBody]) -> pa.Table:
    """The ``call_bodies`` rows: each kept call's texts, its keep rate and reason."""
    calls = [body[0] for body in bodies]
    return pa.table(
        {
            **_span_columns(calls),
            "InputText": _column(calls, "input_text"),
            "OutputText": _column(calls, "output_text"),
            "InputMessages": _column(calls, "input_messages"),
            "OutputMessages": _column(calls, "output_messages"),
            "Contexts": _column(calls, "contexts", _STRINGS),
            "SampleRate": _array(list(map(itemgetter(1), bodies)), pa.float64()),
            "KeepReason": _array(list(map(itemgetter(2), bodies)), _STRING),
        }
    )


def scores_table(scores: BatchScores, versions: Mapping[str, str] | None = None) -> pa.Table:
    """The ``call_scores`` rows: one per call with a score, every score in one map.

    Built from the columns at once: the finite cells of the calls-by-scores matrix, row by
    row, are the map's values, their columns' names its keys. ``ScorerVersions`` maps each
    detector of ``versions`` (detector -> version) that scored the call to its version.
    """
    names, matrix = scores.matrix()
    held = ~np.isnan(matrix)
    per_call = held.sum(axis=1)
    rows = np.flatnonzero(per_call)
    calls = [scores.calls[i] for i in rows.tolist()]
    held = held[rows]
    _, at = np.nonzero(held)  # row by row, each row's scores in column order
    offsets = np.zeros(len(rows) + 1, np.int32)
    np.cumsum(per_call[rows], out=offsets[1:])
    keys = pa.array(names, _STRING).take(pa.array(at, pa.int64()))
    values = pa.array(matrix[rows][held], pa.float64())
    return pa.table(
        {
            **_span_columns(calls),
            "Model": _column(calls, "model"),
            "DetectorKey": _column(calls, "detector_key"),
            "Scores": pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), keys, values),
            "ScorerVersions": _versions(names, held, versions or {}),
        }
    )


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


def _span_columns(calls: Sequence[CallRecord]) -> dict[str, pa.Array]:
    """The columns that start the call_bodies and call_scores rows: when, which span, where."""
    return {
        "Timestamp": _column(calls, "timestamp_ns", _TIMESTAMP),
        "TraceId": _column(calls, "trace_id"),
        "SpanId": _column(calls, "span_id"),
        "ServiceName": _column(calls, "service_name"),
        "Route": _column(calls, "route"),
    }


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
