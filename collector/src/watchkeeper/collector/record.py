"""The call record: one LLM call, normalised from whatever span convention carried it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class CallRecord:
    """One LLM call as the pipeline sees it after normalisation.

    Column names in ClickHouse follow the OpenTelemetry ClickHouse exporter's
    ``otel_traces`` table (``Timestamp``, ``TraceId``, ``SpanId``, ``Duration`` in ns ...);
    see ``store/migrations`` and ``store/columns.py``.
    """

    trace_id: str
    span_id: str
    timestamp_ns: int
    duration_ns: int
    parent_span_id: str = ""
    service_name: str = ""
    span_name: str = ""
    route: str = ""
    operation: str = ""
    provider: str = ""
    request_model: str = ""
    response_model: str = ""
    input_text: str = ""
    output_text: str = ""
    input_messages: str = ""
    output_messages: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    finish_reasons: list[str] = field(default_factory=list)
    #: Retrieved context passages (RAG), in retrieval order.
    contexts: list[str] = field(default_factory=list)
    status_code: str = "UNSET"
    status_message: str = ""
    error_type: str = ""
    user_id: str = ""
    conversation_id: str = ""
    sample_rate: float = 1.0
    source: str = ""
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Latency in seconds (detectors read this)."""
        return self.duration_ns / 1e9

    @property
    def is_error(self) -> bool:
        """True when the span's status is ERROR."""
        return self.status_code == "ERROR"

    @property
    def model(self) -> str:
        """The model that answered, falling back to the one requested."""
        return self.response_model or self.request_model

    @property
    def ch_timestamp(self) -> str:
        """Start time as a ClickHouse ``DateTime64(9)`` literal (UTC)."""
        return ns_to_clickhouse(self.timestamp_ns)

    @property
    def detector_key(self) -> str:
        """The key detectors keep separate state for: service, route and model."""
        return f"{self.service_name}|{self.route}|{self.model}"


def ns_to_clickhouse(ns: int) -> str:
    """Nanoseconds since the epoch as ClickHouse reads a DateTime64: ``seconds.fraction``.

    Numeric, not ``YYYY-MM-DD hh:mm:ss``: ClickHouse parses date strings in the server's
    time zone, which would shift every timestamp on a machine not set to UTC.
    """
    seconds, frac = divmod(ns, 1_000_000_000)
    return f"{seconds}.{frac:09d}"
