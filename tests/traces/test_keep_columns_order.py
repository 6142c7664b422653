"""The span bound counts rows the core made as columns where they sit among the batch's
``TraceSpan`` rows: whichever of a trace's spans come as columns, in one run or in
several, the rows kept are the ones kept when every span is a value."""

from __future__ import annotations

import random
from typing import Any

import pytest

from watchkeeper.collector.store.span_columns import SpanColumns
from watchkeeper.collector.store.spans import spans_table
from watchkeeper.collector.traces.assemble import TraceSpan
from watchkeeper.collector.traces.keep import TraceKeeper

_KEEPERS: list[dict[str, Any]] = [
    {"max_spans_per_trace": 3},
    {"max_spans_per_trace": 2, "body_rate": 0.5},
    {"max_spans_per_trace": 4, "sample_rate": 0.6},
]


def _spans(rng: random.Random, n: int) -> list[TraceSpan]:
    """Spans of a few traces, interleaved, some failed, each with texts."""
    traces = [f"{rng.getrandbits(128):032x}" for _ in range(6)]
    return [
        TraceSpan(
            trace_id=rng.choice(traces),
            span_id=f"{i + 1:016x}",
            parent_span_id="",
            name=f"step {i}",
            kind=rng.choice(["tool", "agent", "chain"]),
            start_ns=1_000 + i,
            end_ns=1_005 + i,
            status=rng.choice(["OK", "UNSET", "ERROR"]),
            attributes={"n": str(i)},
            input_text=f"in {i}",
            output_text=f"out {i}",
        )
        for i in range(n)
    ]


def _split(rng: random.Random, spans: list[TraceSpan]) -> tuple[list[TraceSpan], list[SpanColumns]]:
    """The batch as the collector gets it from the core: runs, each with its spans made as
    values and a block of columns (a trace's spans may be in both, in several runs)."""
    values: list[TraceSpan] = []
    blocks: list[SpanColumns] = []
    cuts = sorted(rng.sample(range(1, len(spans)), 3))
    for run in (spans[a:b] for a, b in zip([0, *cuts], [*cuts, len(spans)], strict=True)):
        offset = len(values)
        columns: list[TraceSpan] = []
        positions: list[int] = []
        for span in run:
            if rng.random() < 0.5:
                columns.append(span)
                positions.append(len(values) - offset)
            else:
                values.append(span)
        table = spans_table(columns)
        blocks.append(SpanColumns.of_rows(table, [s.trace_id for s in columns], positions, offset))
    return values, blocks


def _rows(tables: list[Any]) -> list[dict[str, Any]]:
    return sorted((r for t in tables for r in t.to_pylist()), key=lambda r: r["SpanId"])


@pytest.mark.parametrize("keeper", _KEEPERS)
@pytest.mark.parametrize("seed", range(5))
def test_columns_anywhere_keep_the_spans_values_keep(keeper: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed)
    spans = _spans(rng, 60)
    values, blocks = _split(rng, spans)
    alone = TraceKeeper(**keeper)
    want = _rows([spans_table(alone.keep([], spans, set()))])
    mixed = TraceKeeper(**keeper)
    kept, tables = mixed.keep_with_columns([], values, set(), blocks)
    assert _rows([spans_table(kept), *tables]) == want
    assert mixed.over_limit == alone.over_limit > 0
