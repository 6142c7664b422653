"""The traces section: which traces' spans the ``spans`` table keeps, and how many."""

from __future__ import annotations

from pydantic import Field

from watchkeeper.ingest.settings import Section


class TraceSettings(Section):
    """Whole-trace storage: a sample of traces, each bounded in spans.

    LLM calls are stored in ``calls`` whatever these say; these decide the ``spans`` rows.
    """

    trace_sample_rate: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        alias="trace_sample_rate",
        description="Share of traces whose spans are stored (one decision per trace, by "
        "trace id, so a trace is kept whole or not at all).",
    )
    max_spans_per_trace: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        alias="max_spans_per_trace",
        description="Spans stored per trace; the rest are counted, not stored.",
    )
    max_open_traces: int = Field(
        default=100_000,
        ge=100,
        le=10_000_000,
        alias="max_open_traces",
        description="Traces whose span counts are held to apply max_spans_per_trace "
        "(the least recent are forgotten first).",
    )
    trace_signals: bool = Field(
        default=True,
        alias="trace_signals",
        description="Score each completed trace (trajectory, RAG) and session "
        "(conversation) and watch the scores for change; costs about 8 us per one-call "
        "trace and 200 us per five-span agent trace on the pipeline thread.",
    )
    trace_grace_s: float = Field(
        default=0.0,
        ge=0.0,
        le=600.0,
        alias="trace_grace_s",
        description="Seconds a trace whose root arrived waits for late children (an app "
        "exporting through two exporters) before its signals are computed.",
    )
    session_idle_s: float = Field(
        default=1800.0,
        ge=1.0,
        le=86_400.0,
        alias="session_idle_s",
        description="Seconds without a turn after which a session is over and its "
        "conversation signals (turns, abandoned) are computed.",
    )
