"""The finished span as the export thread sees it: plain data, no OpenTelemetry objects.

The calling thread only records references (see :mod:`watchkeeper.sdk.call_context`);
the export thread turns each call into a :class:`SpanData` and from there into OTLP
protobuf bytes (:mod:`watchkeeper.sdk.otlp`) or, for OpenTelemetry ``SpanExporter``
instances and tests, into an SDK ``ReadableSpan``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeVar, cast

from watchkeeper.sdk.utf8 import without_lone_surrogates

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.util.types import AttributeValue

_T = TypeVar("_T")

# OTLP enum values (trace.proto).
KIND_INTERNAL: Final = 1
KIND_CLIENT: Final = 3
STATUS_UNSET: Final = 0
STATUS_OK: Final = 1
STATUS_ERROR: Final = 2


@dataclass(frozen=True)
class StaticAttributes:
    """Attributes every span of one decorated function shares, encoded once.

    ``encoded`` is the OTLP bytes of ``values`` (repeated ``KeyValue``), filled by the
    encoder on first use, so the export thread re-encodes only what changes per call.
    """

    values: Mapping[str, AttributeValue]
    encoded: list[bytes] = field(default_factory=list, compare=False)


@dataclass(frozen=True)
class EventData:
    """A span event (an exception, a user event)."""

    name: str
    time_ns: int
    attributes: Mapping[str, AttributeValue]


@dataclass(slots=True)
class SpanData:
    """One span ready to encode."""

    trace_id: int
    span_id: int
    parent_span_id: int
    """0 for a root span."""
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, AttributeValue]
    """Per-call attributes; they win over ``static`` for the same key."""
    static: StaticAttributes | None = None
    kind: int = KIND_CLIENT
    status_code: int = STATUS_UNSET
    status_message: str = ""
    events: Sequence[EventData] = ()
    parent_is_remote: bool = False
    sampled: bool = True

    def all_attributes(self) -> dict[str, AttributeValue]:
        """Static and per-call attributes merged (per-call ones win)."""
        if self.static is None:
            return dict(self.attributes)
        return {**self.static.values, **self.attributes}


def to_readable_span(
    data: SpanData, resource: Resource, scope: InstrumentationScope
) -> ReadableSpan:
    """The OpenTelemetry SDK form of ``data``, for ``SpanExporter`` instances and tests.

    Text is made valid as our own encoder makes it (lone surrogates become U+FFFD),
    since OpenTelemetry's encoders refuse the whole batch otherwise.
    """
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    flags = TraceFlags(TraceFlags.SAMPLED if data.sampled else TraceFlags.DEFAULT)
    parent = (
        SpanContext(data.trace_id, data.parent_span_id, data.parent_is_remote, flags)
        if data.parent_span_id
        else None
    )
    status = Status(
        (StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR)[data.status_code],
        without_lone_surrogates(data.status_message) or None,
    )
    events = [
        Event(without_lone_surrogates(e.name), _valid_attributes(e.attributes), e.time_ns)
        for e in data.events
    ]
    return ReadableSpan(
        name=without_lone_surrogates(data.name),
        context=SpanContext(data.trace_id, data.span_id, False, flags),
        parent=parent,
        resource=resource,
        attributes=_valid_attributes(data.all_attributes()),
        events=events,
        kind=SpanKind(data.kind - 1),  # the API's enum counts from 0, OTLP's from 1
        status=status,
        start_time=data.start_ns,
        end_time=data.end_ns,
        instrumentation_scope=scope,
    )


def _valid_attributes(values: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    return {_valid(key): _valid_value(value) for key, value in values.items()}


def _valid_value(value: AttributeValue) -> AttributeValue:
    if isinstance(value, list):
        return [_valid(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_valid(item) for item in value)
    return _valid(value)


def _valid(value: _T) -> _T:
    return cast("_T", without_lone_surrogates(value)) if isinstance(value, str) else value


def from_readable_span(span: ReadableSpan) -> SpanData:
    """The reverse of :func:`to_readable_span` (lets OTel spans use our encoder)."""
    from opentelemetry.trace import StatusCode

    context = span.get_span_context()
    parent = span.parent
    code = span.status.status_code
    return SpanData(
        trace_id=context.trace_id if context else 0,
        span_id=context.span_id if context else 0,
        parent_span_id=parent.span_id if parent else 0,
        parent_is_remote=bool(parent and parent.is_remote),
        name=span.name,
        kind=span.kind.value + 1,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        attributes=dict(span.attributes or {}),
        status_code={StatusCode.OK: STATUS_OK, StatusCode.ERROR: STATUS_ERROR}.get(
            code, STATUS_UNSET
        ),
        status_message=span.status.description or "",
        events=[EventData(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events],
        sampled=bool(context and context.trace_flags.sampled),
    )
