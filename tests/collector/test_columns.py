"""The calls, call_bodies and call_scores rows, written as Arrow columns: every value lands
in its column, on chDB and through clickhouse-connect's Arrow insert."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.store.clickhouse_backend import ClickHouseServerBackend
from watchkeeper.collector.store.columns import bodies_table, calls_table, scores_table
from watchkeeper.collector.store.store import Store, WriteBatch

# A day before the run, with every nanosecond digit set: inside the store's TTL (rows
# older than it are dropped by chDB's TTL merges at random) whatever day the tests run.
TIMESTAMP_NS = (time.time_ns() // 10**9 - 86_400) * 10**9 + 123_456_789


def _call(n: int) -> CallRecord:
    """A call whose every field differs from its default and from the other calls'."""
    return CallRecord(
        trace_id=f"{n:032x}",
        span_id=f"{n + 100:016x}",
        timestamp_ns=TIMESTAMP_NS + n,
        duration_ns=2_500_000_000 + n,
        parent_span_id=f"{n + 200:016x}",
        service_name=f"svc-{n}",
        span_name=f"chat m-{n}",
        route=f"route/{n}",
        operation="chat",
        provider="openai",
        request_model=f"m-{n}",
        response_model=f"m-{n}-2026",
        input_text=f"question {n} ünïcode",
        output_text=f"answer {n}" * (n + 1),
        input_messages=f'[{{"role": "user", "content": "q{n}"}}]',
        output_messages=f'[{{"role": "assistant", "content": "a{n}"}}]',
        input_tokens=10 + n,
        output_tokens=20 + n,
        finish_reasons=["stop", f"r{n}"],
        contexts=[f"passage {n}", "second"],
        status_code="ERROR" if n else "OK",
        status_message=f"boom {n}" if n else "",
        error_type="timeout" if n else "",
        user_id=f"user-{n}",
        conversation_id=f"conv-{n}",
        sample_rate=0.5,
        source="test",
        attributes={"a": f"x{n}", "code.function.name": "answer"},
    )


def _expected_call_row(call: CallRecord, has_body: int) -> dict[str, Any]:
    return {
        "Nanos": str(call.timestamp_ns),
        "TraceId": call.trace_id,
        "SpanId": call.span_id,
        "ParentSpanId": call.parent_span_id,
        "ServiceName": call.service_name,
        "SpanName": call.span_name,
        "Route": call.route,
        "Operation": call.operation,
        "Provider": call.provider,
        "RequestModel": call.request_model,
        "ResponseModel": call.response_model,
        "InputTokens": call.input_tokens,
        "OutputTokens": call.output_tokens,
        "InputChars": len(call.input_text),
        "OutputChars": len(call.output_text),
        "ContextCount": len(call.contexts),
        "FinishReasons": call.finish_reasons,
        "Duration": str(call.duration_ns),
        "StatusCode": call.status_code,
        "StatusMessage": call.status_message,
        "ErrorType": call.error_type,
        "UserId": call.user_id,
        "ConversationId": call.conversation_id,
        "SampleRate": call.sample_rate,
        "HasBody": has_body,
        "Source": call.source,
        "SpanAttributes": call.attributes,
    }


def _rows(store: Store, table: str) -> list[dict[str, Any]]:
    return store.backend.select(
        f"SELECT toString(toUnixTimestamp64Nano(Timestamp)) AS Nanos, "
        f"* EXCEPT (Timestamp{', IngestedAt' if table == 'calls' else ''}) "
        f"FROM {store.database}.{table} ORDER BY SpanId"
    )


def _check_tables(store: Store, calls: list[CallRecord]) -> None:
    calls_rows = _rows(store, "calls")
    for row in calls_rows:  # JSON output quotes 64-bit integers
        row["Duration"] = str(row["Duration"])
    assert calls_rows == [_expected_call_row(calls[0], 1), _expected_call_row(calls[1], 0)]
    first = calls[0]
    assert _rows(store, "call_bodies") == [
        {
            "Nanos": str(first.timestamp_ns),
            "TraceId": first.trace_id,
            "SpanId": first.span_id,
            "ServiceName": first.service_name,
            "Route": first.route,
            "InputText": first.input_text,
            "OutputText": first.output_text,
            "InputMessages": first.input_messages,
            "OutputMessages": first.output_messages,
            "Contexts": first.contexts,
            "SampleRate": 0.25,
            "KeepReason": "flagged",
        }
    ]
    assert _rows(store, "call_scores") == [
        {
            "Nanos": str(call.timestamp_ns),
            "TraceId": call.trace_id,
            "SpanId": call.span_id,
            "ServiceName": call.service_name,
            "Route": call.route,
            "Model": call.model,
            "DetectorKey": call.detector_key,
            "Scores": scores,
            # A pipeline row: not a judge's merge of scores into it (migration 0014).
            "JudgeMerged": 0,
            "JudgeKeys": [],
            "ScorerVersions": versions,
        }
        for call, scores, versions in zip(
            calls,
            [
                {"latency_drift.latency": 0.5, "pii_leak.safety": -1.25},
                {"latency_drift.latency": 1.5},
            ],
            [{"pii_leak": "pii-3"}, {}],
            strict=True,
        )
    ]


def _batch() -> tuple[list[CallRecord], WriteBatch]:
    calls = [_call(0), _call(1)]
    # A call without scores gets no row, nor does a score that is not finite.
    scores = BatchScores.of(
        [*calls, _call(2)],
        {
            calls[0].span_id: {"latency_drift.latency": 0.5, "pii_leak.safety": -1.25},
            calls[1].span_id: {"odd.value": math.inf, "latency_drift.latency": 1.5},
        },
    )
    # Versions go only on the rows where their detector scored (none for "odd"'s inf; a
    # detector with no score in the batch, like "faithfulness_drift", appears nowhere).
    versions = {"pii_leak": "pii-3", "odd": "odd-1", "faithfulness_drift": "claims-2"}
    return calls, WriteBatch(
        calls=calls, bodies=[(calls[0], 0.25, "flagged")], scores=scores, scorer_versions=versions
    )


def test_every_value_lands_in_its_column(store: Store) -> None:
    """Each field of a call, its kept body and its scores come back from chDB's tables
    from the column of the same meaning; HasBody is set for the call with a body only."""
    calls, batch = _batch()
    store.write(batch)
    _check_tables(store, calls)


def test_a_text_that_is_not_utf8_is_stored_not_refused(store: Store) -> None:
    """A lone surrogate cannot be UTF-8: the text is stored with a replacement, rather
    than the batch being refused (and replayed, and refused) for ever."""
    call = _call(0)
    call.input_text, call.contexts = "bad \ud800 text", ["ok", "\udfff"]
    store.write(WriteBatch(calls=[call], bodies=[(call, 1.0, "sampled")]))
    rows = store.backend.select(f"SELECT InputText, Contexts FROM {store.database}.call_bodies")
    assert rows == [{"InputText": "bad ? text", "Contexts": ["ok", "?"]}]
    assert store.count_calls() == 1


class _ArrowOverFile:
    """A clickhouse-connect client whose raw inserts land in chDB: the Arrow bytes that
    ``Client.insert_arrow`` would send to a server, read by ClickHouse's Arrow format."""

    write_compression = None

    def __init__(self, store: Store, folder: Path) -> None:
        self.store, self.folder, self.inserts = store, folder, 0

    def _add_integration_tag(self, name: str) -> None:
        pass

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        from clickhouse_connect.driver.client import Client

        Client.insert_arrow(self, table, data)  # type: ignore[arg-type]

    def raw_insert(  # noqa: PLR0917 - clickhouse-connect calls it with these positions
        self,
        table: str,
        column_names: list[str],
        insert_block: bytes,
        settings: object,
        fmt: str,
        transport_settings: object = None,
    ) -> None:
        self.inserts += 1
        path = self.folder / f"block-{self.inserts}.arrow"
        path.write_bytes(bytes(insert_block))
        names = ", ".join(f"`{name}`" for name in column_names)
        self.store.backend.command(
            f"INSERT INTO {table} ({names}) SELECT * FROM file('{path}', '{fmt}')"
        )


def test_the_server_backend_sends_the_same_columns(store: Store, tmp_path: Path) -> None:
    """Through the ClickHouse server backend, the tables receive the same values: the
    Arrow data clickhouse-connect sends is read by ClickHouse's own Arrow format here."""
    server = ClickHouseServerBackend.__new__(ClickHouseServerBackend)
    client = _ArrowOverFile(store, tmp_path)
    server._client = client  # type: ignore[assignment]
    calls, batch = _batch()
    db = store.database
    server.insert_arrow(f"{db}.calls", calls_table(batch.calls, batch.bodies))
    server.insert_arrow(f"{db}.call_bodies", bodies_table(batch.bodies))
    server.insert_arrow(f"{db}.call_scores", scores_table(batch.scores, batch.scorer_versions))
    server.insert_arrow(f"{db}.call_scores", scores_table(BatchScores()))  # nothing to send
    assert client.inserts == 3
    _check_tables(store, calls)
