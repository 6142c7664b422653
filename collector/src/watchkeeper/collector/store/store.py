"""The store: schema migrations and typed reads/writes over a ClickHouse backend."""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from watchkeeper.collector.record import CallRecord
from watchkeeper.collector.scores import BatchScores
from watchkeeper.collector.store import queries
from watchkeeper.collector.store.backend import Backend, StoreError
from watchkeeper.collector.store.columns import (
    CallColumns,
    KeptBody,
    bodies_table,
    calls_table,
    scores_table,
)
from watchkeeper.collector.store.spans import spans_table
from watchkeeper.collector.traces.assemble import TraceSpan

if TYPE_CHECKING:
    from watchkeeper.collector.settings import Settings

log = logging.getLogger("watchkeeper.collector.store")
#: The line that marks a migration whose statements only tune the engine (see ``_apply``).
TUNING_ONLY = "-- tuning only"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: Bytes of a rejected payload kept in the dead-letter table, enough to diagnose it.
DEAD_LETTER_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class DeadLetter:
    """Input the pipeline could not use, with why."""

    source: str
    reason: str
    detail: str
    payload: bytes
    origin: str = ""

    def to_row(self) -> dict[str, Any]:
        """The row for the ``dead_letters`` table (payload base64, first 64 KiB)."""
        kept = self.payload[:DEAD_LETTER_PAYLOAD_BYTES]
        return {
            "Source": self.source,
            "Origin": self.origin,
            "Reason": self.reason,
            "Detail": self.detail[:2000],
            "Size": len(self.payload),
            "Payload": base64.b64encode(kept).decode("ascii"),
        }


@dataclass(frozen=True)
class DetectorState:
    """What one detector learned for one key, encoded as text by its owner."""

    detector: str
    key: str
    state: str


@dataclass
class WriteBatch:
    """Everything one pipeline batch produced; written before the batch is acknowledged.

    The calls, their kept bodies and their scores are held as records: the store makes
    their rows, as Arrow columns (``store/columns.py``), on the thread that writes them.
    A call's ``HasBody`` is 1 exactly when its body is among ``bodies``.
    """

    #: one ``calls`` row each
    calls: list[CallRecord] = field(default_factory=list)
    #: one ``call_bodies`` row each: (call, sample rate, keep reason)
    bodies: list[KeptBody] = field(default_factory=list)
    #: one ``call_scores`` row for each call with a score (every finite score by
    #: ``<detector>.<score>``)
    scores: BatchScores = field(default_factory=BatchScores)
    #: detector -> version of the model behind its scores, stored in each ``call_scores``
    #: row that holds a score of that detector
    scorer_versions: dict[str, str] = field(default_factory=dict)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    review_items: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    #: one ``spans`` row each (whole traces: every kind of span, LLM calls included)
    spans: list[TraceSpan] = field(default_factory=list)
    #: more ``spans`` rows, as tables made by the compiled core (``store.span_columns``)
    span_tables: list[pa.Table] = field(default_factory=list)
    #: more ``call_scores`` rows, as Arrow tables (a judge's scores added to calls of
    #: earlier batches, ``judge/carry.py``): in the batch's one insert, after its own rows,
    #: so they add no part of their own and, for a span in both, are the newest
    score_tables: list[pa.Table] = field(default_factory=list)


class Store:
    """Typed access to watchkeeper's tables through any :class:`Backend`."""

    def __init__(self, backend: Backend, database: str = "watchkeeper", ttl_days: int = 30):
        if not _IDENTIFIER.match(database):
            raise ValueError(
                f"database name {database!r} is not a plain identifier (letters, digits, _)"
            )
        if ttl_days < 1:
            raise ValueError(f"ttl_days must be at least 1, got {ttl_days}")
        self.backend = backend
        #: detector -> version of the model behind its scores, as the last batch written
        #: through this store had them (constant while a pipeline runs): a judge adding its
        #: scores to a row it was handed, not read, writes them again with the row.
        self.scorer_versions: dict[str, str] = {}
        self.database = database
        self.ttl_days = ttl_days

    # --- schema ---------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply pending migrations in order; returns the names applied this time."""
        db = self.database
        self.backend.command(f"CREATE DATABASE IF NOT EXISTS {db}")
        self.backend.command(
            f"CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
            "(Version UInt32, Name String, AppliedAt DateTime DEFAULT now()) "
            "ENGINE = ReplacingMergeTree ORDER BY Version"
        )
        done = {
            int(row["Version"])
            for row in self.backend.select(f"SELECT Version FROM {db}.schema_migrations FINAL")
        }
        applied = []
        for version, name, sql in _migrations():
            if version in done:
                continue
            for statement in _statements(sql):
                if not self._apply(name, statement.format(db=db, ttl_days=self.ttl_days), sql):
                    break
            self.backend.insert_rows(
                f"{db}.schema_migrations", [{"Version": version, "Name": name}]
            )
            applied.append(name)
        return applied

    def _apply(self, name: str, statement: str, sql: str) -> bool:
        """Run one statement of migration ``name``; False when it was refused and skipped.

        A migration marked ``-- tuning only`` changes how the engine works, not what it
        stores: a server that refuses one of its statements (an older ClickHouse without
        the setting) logs one warning, skips the rest of that migration and keeps working.
        """
        try:
            self.backend.command(statement)
        except StoreError as exc:
            if TUNING_ONLY not in sql:
                raise
            log.warning("store tuning %s not applied (the store works without it): %s", name, exc)
            return False
        return True

    def schema_version(self) -> int:
        """The highest migration version applied."""
        rows = self.backend.select(
            f"SELECT max(Version) AS v FROM {self.database}.schema_migrations FINAL"
        )
        return int(rows[0]["v"]) if rows else 0

    # --- writes ---------------------------------------------------------------------------
    def write(self, batch: WriteBatch) -> None:
        """Write one batch; returns only when every table confirmed (raises StoreError)."""
        db = self.database
        # Derived rows first, calls last: a crash in between replays the batch, and the
        # idempotent tables collapse the repeats. (Dead letters are a plain log: a replay
        # may repeat one, which only over-reports bad input.)
        self.backend.insert_rows(f"{db}.dead_letters", [d.to_row() for d in batch.dead_letters])
        if batch.scorer_versions:
            self.scorer_versions = batch.scorer_versions
        # The batch's calls' columns, made once for the three tables of its calls to share.
        made = CallColumns.of(batch.calls)
        scores = [t for t in batch.score_tables if t.num_rows]
        if batch.scores:
            scores.insert(0, scores_table(batch.scores, batch.scorer_versions, made))
        if scores:
            # Columns one table lacks (JudgeMerged, JudgeKeys) are null there: their defaults.
            both = pa.concat_tables(scores, promote_options="default")
            self.backend.insert_arrow(f"{db}.call_scores", both)
        self.backend.insert_rows(f"{db}.alarms", batch.alarms)
        self.backend.insert_rows(f"{db}.review_items", batch.review_items)
        self.backend.insert_rows(f"{db}.feedback", batch.feedback)
        bodies = bodies_table(batch.bodies, made)
        # The kept bodies' span ids, for the spans and calls rows: a kept body's texts are
        # stored once, in call_bodies (store/spans.py), and its call's HasBody is 1.
        with_body = bodies.column("SpanId").combine_chunks()
        tables = [t for t in batch.span_tables if t.num_rows]
        if batch.spans:
            tables.insert(0, spans_table(batch.spans, with_body))
        if tables:
            self.backend.insert_arrow(f"{db}.spans", pa.concat_tables(tables))
        if batch.bodies:
            self.backend.insert_arrow(f"{db}.call_bodies", bodies)
        if batch.calls:
            self.backend.insert_arrow(f"{db}.calls", calls_table(batch.calls, with_body, made))

    def add_label(
        self,
        *,
        queue: str,
        span_id: str,
        trace_id: str,
        reviewer: str,
        verdict: str,
        scores: Mapping[str, int],
        comment: str = "",
        corrected_answer: str = "",
        at_ms: int | None = None,
    ) -> None:
        """Store a reviewer's label for one item (a newer label by the same reviewer wins)."""
        now_ms = time.time_ns() // 1_000_000 if at_ms is None else at_ms
        self.backend.insert_rows(
            f"{self.database}.review_labels",
            [
                {
                    "LabelledAt": _ms(now_ms),
                    "Queue": queue,
                    "TraceId": trace_id,
                    "SpanId": span_id,
                    "Reviewer": reviewer,
                    "Verdict": verdict,
                    "Scores": dict(scores),
                    "Comment": comment,
                    "CorrectedAnswer": corrected_answer,
                }
            ],
        )

    # --- reads ----------------------------------------------------------------------------
    def select(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Run one of ``queries`` (``{db}`` filled in) with bound parameters."""
        return self.backend.select(sql.replace("{db}", self.database), params or None)

    def count_calls(self) -> int:
        """Distinct calls stored."""
        return int(self.select(queries.COUNT_CALLS)[0]["n"])

    def count_bodies(self) -> int:
        """Distinct call bodies stored."""
        return int(self.select(queries.COUNT_BODIES)[0]["n"])

    def calls_for_trace(self, trace_id: str) -> list[dict[str, Any]]:
        """All calls of one trace, oldest first."""
        return self.select(queries.CALLS_BY_TRACE, trace_id=trace_id)

    def recent_calls(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest calls."""
        return self.select(queries.RECENT_CALLS, limit=limit)

    def alarms(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Stored alarms, oldest first."""
        return self.select(queries.ALARMS, limit=limit)

    def score_summary(self) -> list[dict[str, Any]]:
        """Count, mean and max per (detector, score name)."""
        return self.select(queries.SCORE_SUMMARY)

    def recent_scores(self, seconds: int = 10) -> list[dict[str, Any]]:
        """Mean and max per (detector, score name) over calls of the last ``seconds``."""
        return self.select(queries.RECENT_SCORES, seconds=seconds)

    def scores_for_trace(self, trace_id: str) -> list[dict[str, Any]]:
        """The score maps of a trace's calls."""
        return self.select(queries.SCORES_FOR_TRACE, trace_id=trace_id)

    def feedback_for_trace(self, trace_id: str) -> list[dict[str, Any]]:
        """Feedback given on a trace, oldest first."""
        return self.select(queries.FEEDBACK_BY_TRACE, trace_id=trace_id)

    def dead_letter_counts(self) -> dict[str, int]:
        """Dead letters per reason."""
        return {row["Reason"]: int(row["N"]) for row in self.select(queries.DEAD_LETTER_COUNTS)}

    # --- review workflow -----------------------------------------------------------------
    def queue_depths(self) -> dict[str, int]:
        """Items still needing labels, per review queue (queues with none left out)."""
        return {row["Queue"]: int(row["Depth"]) for row in self.select(queries.QUEUE_DEPTHS)}

    def queue_summary(self, now_ms: int) -> dict[str, dict[str, int]]:
        """Per queue: items waiting, of those claimed, done, and labels given."""
        return {
            row["Queue"]: {k: int(row[k]) for k in ("Waiting", "Claimed", "Done", "Labels")}
            for row in self.select(queries.QUEUE_SUMMARY, now_ms=now_ms)
        }

    def pending_items(
        self, queue: str, limit: int = 50, now_ms: int | None = None
    ) -> list[dict[str, Any]]:
        """Items of ``queue`` still needing labels, highest priority first, with claims."""
        now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return self.select(queries.PENDING_REVIEW_ITEMS, queue=queue, limit=limit, now_ms=now_ms)

    def review_item(self, queue: str, span_id: str) -> dict[str, Any] | None:
        """One item of a queue, labelled or not; None when it does not exist."""
        rows = self.select(queries.REVIEW_ITEM, queue=queue, span_id=span_id)
        return rows[0] if rows else None

    def labels(self, queue: str) -> list[dict[str, Any]]:
        """Labels given in ``queue``, oldest first."""
        return self.select(queries.LABELS_FOR_QUEUE, queue=queue)

    def item_labels(self, queue: str, span_id: str) -> list[dict[str, Any]]:
        """Labels of one item, oldest first."""
        return self.select(queries.ITEM_LABELS, queue=queue, span_id=span_id)

    def item_claims(self, queue: str, span_id: str) -> list[dict[str, Any]]:
        """Every reviewer's latest claim action on one item."""
        return self.select(queries.ITEM_CLAIMS, queue=queue, span_id=span_id)

    def claim_candidates(
        self, queue: str, reviewer: str, now_ms: int, limit: int = 20
    ) -> list[str]:
        """Span ids ``reviewer`` may claim in ``queue``, best first."""
        rows = self.select(
            queries.CLAIM_CANDIDATES, queue=queue, reviewer=reviewer, now_ms=now_ms, limit=limit
        )
        return [row["SpanId"] for row in rows]

    def reviewer_claims(self, queue: str, reviewer: str, now_ms: int) -> list[dict[str, Any]]:
        """Live claims ``reviewer`` holds in ``queue``, oldest first."""
        return self.select(queries.REVIEWER_CLAIMS, queue=queue, reviewer=reviewer, now_ms=now_ms)

    def put_claim(
        self,
        *,
        queue: str,
        span_id: str,
        reviewer: str,
        state: str,
        at_ms: int,
        since_ms: int,
        until_ms: int,
    ) -> None:
        """Record a claim action (claimed, released, skipped, labelled); newest wins."""
        self.backend.insert_rows(
            f"{self.database}.review_claims",
            [
                {
                    "At": _ms(at_ms),
                    "Queue": queue,
                    "SpanId": span_id,
                    "Reviewer": reviewer,
                    "State": state,
                    "ClaimedSince": _ms(since_ms),
                    "ClaimedUntil": _ms(until_ms),
                }
            ],
        )

    def labels_since(
        self, queues: Sequence[str], since_ms: int, until_ms: int
    ) -> list[dict[str, Any]]:
        """Labels given in ``[since_ms, until_ms)`` in ``queues`` (empty: all queues)."""
        return self.select(
            queries.LABELS_SINCE, queues=",".join(queues), since_ms=since_ms, until_ms=until_ms
        )

    def labelled_items(
        self, queues: Sequence[str], since_ms: int, until_ms: int
    ) -> list[dict[str, Any]]:
        """The items behind :meth:`labels_since` (same arguments)."""
        return self.select(
            queries.LABELLED_ITEMS, queues=",".join(queues), since_ms=since_ms, until_ms=until_ms
        )

    def routed_since(self, since_ns: int) -> list[dict[str, Any]]:
        """(Queue, SpanId, TimestampNs) of items routed for calls since ``since_ns``."""
        return self.select(queries.ROUTED_SINCE, since_ns=since_ns)

    def calls_for_review(
        self, trace_ids: Sequence[str], from_ns: int, to_ns: int
    ) -> list[dict[str, Any]]:
        """Calls of ``trace_ids`` started in ``[from_ns, to_ns]``, with texts when kept."""
        if not trace_ids:
            return []
        return self.select(
            queries.CALLS_FOR_REVIEW, trace_ids=",".join(trace_ids), from_ns=from_ns, to_ns=to_ns
        )

    def scored_labels(self, score_key: str, since_ms: int = 0) -> list[dict[str, Any]]:
        """Labels beside a per-call score (``<detector>.<score>``) of the same calls."""
        return self.select(queries.SCORED_LABELS, score_key=score_key, since_ms=since_ms)

    def tokens(self) -> list[dict[str, Any]]:
        """Every API token row (hashes, never plaintext)."""
        return self.select(queries.API_TOKENS)

    def put_token(self, row: Mapping[str, Any]) -> None:
        """Write an API token row (a newer ``UpdatedAt`` replaces the token's older row)."""
        self.backend.insert_rows(f"{self.database}.api_tokens", [row])

    # --- detector state ------------------------------------------------------------------
    def save_detector_states(self, states: Sequence[DetectorState]) -> None:
        """Checkpoint detector states, stamped now; the newest per (detector, key) wins."""
        saved_at = _ms(time.time_ns() // 1_000_000)
        self.backend.insert_rows(
            f"{self.database}.detector_state",
            [
                {
                    "SavedAt": saved_at,
                    "Detector": saved.detector,
                    "DetectorKey": saved.key,
                    "State": saved.state,
                }
                for saved in states
            ],
        )

    def detector_states(self) -> list[DetectorState]:
        """The newest saved state of each (detector, key)."""
        return [
            DetectorState(row["Detector"], row["DetectorKey"], row["State"])
            for row in self.select(queries.DETECTOR_STATES)
        ]

    # --- alert history -------------------------------------------------------------------
    def record_alerts(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store alert state changes (rows of ``alert_history``); repeats collapse on read."""
        self.backend.insert_rows(f"{self.database}.alert_history", rows)

    def alert_history(self, limit: int = 100) -> list[dict[str, Any]]:
        """Recorded alert state changes, newest start first."""
        return self.select(queries.ALERT_HISTORY, limit=limit)

    def alert_intervals(self, from_ms: int, to_ms: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Alert episodes overlapping ``[from_ms, to_ms]`` (epoch ms), oldest first."""
        return self.select(queries.ALERT_INTERVALS, from_ms=from_ms, to_ms=to_ms, limit=limit)

    def close(self) -> None:
        """Release the backend."""
        self.backend.close()


def open_store(settings: Settings) -> Store:
    """The store the settings ask for, migrated and ready."""
    backend: Backend
    if settings.store == "clickhouse":
        from watchkeeper.collector.store.clickhouse_backend import ClickHouseServerBackend

        if not settings.clickhouse_url:
            raise StoreError("store = 'clickhouse' needs clickhouse_url (e.g. http://host:8123)")
        backend = ClickHouseServerBackend(settings.clickhouse_url)
    else:
        from watchkeeper.collector.store.chdb_backend import ChdbBackend

        backend = ChdbBackend(Path(settings.data_dir) / "chdb")
    store = Store(backend, settings.database, settings.ttl_days)
    store.migrate()
    return store


def _migrations() -> Iterable[tuple[int, str, str]]:
    folder = resources.files("watchkeeper.collector.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _statements(sql: str) -> Sequence[str]:
    """Statements of a migration file: comment lines dropped, split on ``;``."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in body.split(";") if part.strip()]


def _ms(ms: int) -> str:
    """Milliseconds since the epoch as a ClickHouse ``DateTime64(3)`` literal (time-zone free)."""
    return f"{ms // 1000}.{ms % 1000:03d}"
