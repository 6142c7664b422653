"""Evalset files: JSON Lines, CSV or Parquet, in the field names common eval tools read.

Shapes (one row per record):

- ``watchkeeper`` (default): DeepEval's field names — ``input``, ``actual_output``,
  ``expected_output``, ``retrieval_context`` — plus the reviewers' ``verdict``, ``scores``,
  ``corrected_answer``, ``comments`` and provenance under ``metadata`` (trace and span id,
  model, service, route, queues, call time, label time, reviewers); from the stored trace,
  ``tools_called`` (DeepEval's ``name``/``input_parameters``/``output``, plus ``error``),
  ``turns`` (the conversation up to this turn, ``role``/``content``),
  ``retrieval_context_scores`` (per passage: ``text``, ``retrieval_score``, ``relevance``,
  ``used``) and ``trajectory`` (every step in order: kind, name, input, output, error,
  documents with scores).
- ``ragas``: Ragas' ``SingleTurnSample`` fields ``user_input``, ``retrieved_contexts``,
  ``response``, ``reference`` and nothing else (Ragas rejects unknown keys there).
- ``openai``: OpenAI evals samples, ``input`` as chat messages (contexts in a system
  message) and ``ideal``; records without a reference answer are left out.

``expected_output``/``reference``/``ideal`` is the corrected answer when reviewers gave
one, else the call's own output when they passed it, else empty. In CSV, lists and
objects are JSON text in their cell.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Final

from watchkeeper.collector.evalset.records import EvalRecord

FORMATS: Final = ("jsonl", "csv", "parquet")


def _watchkeeper(record: EvalRecord) -> dict[str, Any] | None:
    return {
        "id": record.id,
        "input": record.input,
        "actual_output": record.output,
        "expected_output": record.expected_output,
        "retrieval_context": record.contexts,
        "verdict": record.verdict,
        "scores": record.scores,
        "corrected_answer": record.corrected_answer,
        "comments": record.comments,
        "tools_called": record.tools_called,
        "turns": record.turns,
        "retrieval_context_scores": record.passages,
        "trajectory": record.trajectory,
        "metadata": {
            "trace_id": record.trace_id,
            "span_id": record.span_id,
            "model": record.model,
            "service": record.service,
            "route": record.route,
            "queues": record.queues,
            "reasons": record.reasons,
            "timestamp": record.timestamp,
            "labelled_at": record.labelled_at,
            "reviewers": record.reviewers,
            "labels": record.labels,
            "required_labels": record.required_labels,
            "duplicates": record.duplicates,
        },
    }


def _ragas(record: EvalRecord) -> dict[str, Any] | None:
    return {
        "user_input": record.input,
        "retrieved_contexts": record.contexts,
        "response": record.output,
        "reference": record.expected_output,
    }


def _openai(record: EvalRecord) -> dict[str, Any] | None:
    if not record.expected_output:
        return None
    messages = []
    if record.contexts:
        passages = "\n\n".join(record.contexts)
        messages.append({"role": "system", "content": f"Context:\n{passages}"})
    messages.append({"role": "user", "content": record.input})
    return {"input": messages, "ideal": record.expected_output}


SHAPES: Final[dict[str, Callable[[EvalRecord], dict[str, Any] | None]]] = {
    "watchkeeper": _watchkeeper,
    "ragas": _ragas,
    "openai": _openai,
}


def shape_rows(records: Sequence[EvalRecord], shape: str = "watchkeeper") -> list[dict[str, Any]]:
    """The rows of ``records`` in ``shape`` (records a shape cannot express are left out)."""
    try:
        convert = SHAPES[shape]
    except KeyError:
        raise ValueError(f"unknown shape {shape!r}; shapes: {', '.join(SHAPES)}") from None
    return [row for row in map(convert, records) if row is not None]


def write_evalset(
    records: Sequence[EvalRecord], out: BinaryIO, fmt: str = "jsonl", shape: str = "watchkeeper"
) -> int:
    """Write ``records`` to ``out``; returns the number of rows written."""
    rows = shape_rows(records, shape)
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
    elif fmt == "csv":
        out.write(_csv(rows, shape).encode("utf-8"))
    elif fmt == "parquet":
        out.write(_parquet(rows, shape))
    else:
        raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    return len(rows)


def media_type(fmt: str) -> str:
    """The HTTP content type of a format."""
    return {
        "jsonl": "application/jsonl",
        "csv": "text/csv; charset=utf-8",
        "parquet": "application/vnd.apache.parquet",
    }[fmt]


def _columns(shape: str) -> list[str]:
    example = SHAPES[shape](_EXAMPLE)
    return list(example) if example else []


def _csv(rows: list[dict[str, Any]], shape: str) -> str:
    buffer = io.StringIO()
    # Every field quoted, so CR or LF inside a text never splits a record for any reader.
    writer = csv.DictWriter(
        buffer, fieldnames=_columns(shape), lineterminator="\r\n", quoting=csv.QUOTE_ALL
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    return buffer.getvalue()


#: A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One CSV cell: lists and dicts as JSON; text that a spreadsheet would run as a formula
    gets a leading ``'`` (OWASP's rule), so it shows as text."""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _parquet(rows: list[dict[str, Any]], shape: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if rows:
        # Objects become structs over the union of their keys (a score missing from a row
        # is null); an object empty in every row has no fields, which Parquet cannot hold.
        table = pa.Table.from_pylist(rows)
        for index, column in enumerate(table.schema):
            if pa.types.is_struct(column.type) and column.type.num_fields == 0:
                table = table.set_column(index, column.name, pa.nulls(len(table), pa.string()))
    else:
        table = pa.table({name: pa.array([], pa.string()) for name in _columns(shape)})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


_EXAMPLE = EvalRecord(
    id="",
    input="",
    contexts=[],
    output="",
    corrected_answer="x",
    verdict="pass",
    scores={},
    comments=[],
    reviewers=[],
    trace_id="",
    span_id="",
    model="",
    service="",
    route="",
    queues=[],
    reasons=[],
    timestamp="",
    labelled_at="",
    labels=0,
    required_labels=0,
)
