"""``spans`` rows the compiled core made as Arrow column buffers
(``native/src/calls/span_columns.rs``): the rows of the traces it summarised, which no
Python code reads on the way to the store. The writer inserts their table as it is; the
few stages that look at them read the light values (trace ids, statuses, kinds), and
turn rows into :class:`TraceSpan` values only where a trace is scored in Python after all.

The table is the one ``spans.spans_table`` makes of the same rows' ``TraceSpan`` values
(``tests/collector/test_span_columns.py`` holds the two to the same stored rows).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from watchkeeper.collector.store.spans import COLUMN_ORDER, span_from_row
from watchkeeper.collector.traces.assemble import TraceSpan

_STRING = pa.string()
_TIMESTAMP = pa.timestamp("ns", tz="UTC")
#: The text columns in the order the core gives them.
_TEXT_COLUMNS: Final = (
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "Kind",
    "ServiceName",
    "StatusCode",
    "StatusMessage",
    "SessionId",
    "UserId",
    "InputText",
    "OutputText",
)


class Run(NamedTuple):
    """Consecutive rows of one trace that sit together among the rows made as values."""

    trace_id: str
    #: the run's first row, and how many
    start: int
    rows: int
    #: how many of the core's run's rows made as ``TraceSpan`` values come before it
    position: int


@dataclass(slots=True)
class SpanColumns:
    """Rows of the ``spans`` table as Arrow columns, with their trace ids as Python values
    (the stages group and sample by them), a run of rows at a time: a trace's spans in a
    payload are one run, unless some of them are made as values in between."""

    table: pa.Table
    #: per run of rows: its trace id, its rows and its position (see :class:`Run`)
    trace_ids: list[str]
    run_rows: list[int]
    positions: list[int]
    #: the batch's ``TraceSpan`` rows before its core run's first (set by the stage that
    #: gathers them): with ``positions``, where each row sits among the batch's rows
    offset: int = 0

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def runs(self) -> Iterator[Run]:
        """The runs of rows, in row order."""
        start = 0
        for trace_id, rows, position in zip(
            self.trace_ids, self.run_rows, self.positions, strict=True
        ):
            yield Run(trace_id, start, rows, position)
            start += rows

    @classmethod
    def of_rows(
        cls, table: pa.Table, trace_ids: Sequence[str], positions: Sequence[int], offset: int = 0
    ) -> SpanColumns:
        """The columns of ``table`` given each row's trace id and position (the runs made
        as the core makes them)."""
        ids: list[str] = []
        rows: list[int] = []
        places: list[int] = []
        for trace_id, position in zip(trace_ids, positions, strict=True):
            if ids and ids[-1] == trace_id and places[-1] == position:
                rows[-1] += 1
            else:
                ids.append(trace_id)
                rows.append(1)
                places.append(position)
        return cls(table, ids, rows, places, offset)

    @classmethod
    def from_core(cls, parts: Sequence[Any]) -> SpanColumns:
        """The table of the core's buffers (``SpanColumns::to_python``), without copying."""
        rows, trace_ids, timestamp, duration, texts = parts[:5]
        documents, document_texts, scores, scored, attributes, keys, values = parts[5:12]
        columns: dict[str, pa.Array] = {
            name: _strings(rows, *buffers)
            for name, buffers in zip(_TEXT_COLUMNS, texts, strict=True)
        }
        columns["Timestamp"] = pa.Array.from_buffers(
            _TIMESTAMP, rows, [None, pa.py_buffer(timestamp)]
        )
        columns["Duration"] = pa.Array.from_buffers(
            pa.uint64(), rows, [None, pa.py_buffer(duration)]
        )
        offsets = _offsets(rows, documents)
        n_docs = len(scores) // 8
        columns["Documents"] = pa.ListArray.from_arrays(offsets, _strings(n_docs, *document_texts))
        columns["DocumentScores"] = pa.ListArray.from_arrays(
            offsets,
            pa.Array.from_buffers(
                pa.float64(), n_docs, [pa.py_buffer(scored), pa.py_buffer(scores)]
            ),
        )
        n_attributes = (len(keys[0]) // 4) - 1
        columns["SpanAttributes"] = pa.MapArray.from_arrays(
            _offsets(rows, attributes),
            _strings(n_attributes, *keys),
            _strings(n_attributes, *values),
        )
        table = pa.table({name: columns[name] for name in COLUMN_ORDER})
        run_rows, positions = (memoryview(part).cast("Q").tolist() for part in parts[12:14])
        return cls(table, trace_ids, run_rows, positions)

    def errors(self) -> list[bool]:
        """Per row: whether the span failed (``TraceSpan.is_error``)."""
        failed: list[bool] = pc.equal(self.table.column("StatusCode"), "ERROR").to_pylist()
        return failed

    def spans(self, rows: Sequence[int]) -> list[TraceSpan]:
        """The rows at ``rows`` as :class:`TraceSpan` values (as the core would make them)."""
        if not rows:
            return []
        table = self.table.take(pa.array(rows, pa.int64()))
        # The timestamps as integers: as Python values they would be datetimes, to the µs.
        starts = table.column("Timestamp").cast(pa.int64()).to_pylist()
        table = table.set_column(0, "StartNs", pa.array(starts, pa.int64()))
        return [span_from_row(row) for row in table.to_pylist()]

    def kept(self, rows: Sequence[int], with_body: Sequence[bool]) -> pa.Table:
        """The rows at ``rows``, texts and documents left out where ``with_body`` is False
        (``span_record.without_body``)."""
        table = self.table
        if len(rows) != len(self):
            table = table.take(pa.array(rows, pa.int64()))
        if all(with_body):
            return table
        keep = pa.array(with_body, pa.bool_())
        for name in ("InputText", "OutputText", "Documents", "DocumentScores"):
            column = table.column(name)
            empty = pa.scalar("" if column.type == _STRING else [], column.type)
            at = table.schema.get_field_index(name)
            table = table.set_column(at, name, pc.if_else(keep, column, empty))
        return table


def span_kinds(table: pa.Table) -> Counter[str]:
    """A table's rows by span kind."""
    counts = table.column("Kind").combine_chunks().value_counts()
    kinds: list[str] = counts.field("values").to_pylist()
    return Counter(dict(zip(kinds, counts.field("counts").to_pylist(), strict=True)))


def _strings(rows: int, offsets: bytes, data: bytes) -> pa.Array:
    return pa.Array.from_buffers(_STRING, rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _offsets(rows: int, offsets: bytes) -> pa.Array:
    return pa.Array.from_buffers(pa.int32(), rows + 1, [None, pa.py_buffer(offsets)])
