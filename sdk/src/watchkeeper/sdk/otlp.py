"""OTLP protobuf encoding of :class:`SpanData`, by hand.

Building ``opentelemetry-proto`` message objects costs about a microsecond per field;
writing the wire format directly costs a fraction of that, and the attributes every
span of a decorated function shares are encoded once and reused. The output is a
standard ``ExportTraceServiceRequest`` (tests decode it with ``opentelemetry-proto``
and compare it with OpenTelemetry's own encoder); no protobuf runtime is needed here.
Every string is written as valid UTF-8 (:func:`watchkeeper.sdk.utf8.to_utf8`): a lone
surrogate in one call's text must not make a receiver reject the whole request.

>>> span = SpanData(trace_id=1, span_id=2, parent_span_id=0, name="chat m",
...                 start_ns=10, end_ns=20, attributes={"user.id": "u-1"})
>>> body = encode_request(Envelope({"service.name": "app"}, "watchkeeper.sdk", "1"), [span])
>>> len(body), body[:1], b"chat m" in body
(136, b'\\n', True)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from watchkeeper.sdk.span_data import STATUS_UNSET, SpanData, StaticAttributes
from watchkeeper.sdk.utf8 import to_utf8

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_SMALL_VARINTS: Final = tuple(bytes((n,)) for n in range(128))
# Varints of every length a typical attribute has, looked up instead of computed.
_TABLE_SIZE: Final = 4096
_VARINTS: Final = _SMALL_VARINTS + tuple(
    bytes(((n & 0x7F) | 0x80, n >> 7)) for n in range(128, _TABLE_SIZE)
)
_PACK_DOUBLE: Final = struct.Struct("<d").pack
_PACK_FIXED64: Final = struct.Struct("<Q").pack
_PACK_FIXED32: Final = struct.Struct("<I").pack
_INT64_MASK: Final = (1 << 64) - 1

# Span flags as OpenTelemetry's encoder writes them: "is_remote is known" (+ "is remote").
_FLAGS_HAS_IS_REMOTE: Final = 0x100
_FLAGS_IS_REMOTE: Final = 0x200


def varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int.

    >>> varint(1), varint(300), varint(70_000)
    (b'\\x01', b'\\xac\\x02', b'\\xf0\\xa2\\x04')
    """
    if value < 0x80:
        return _SMALL_VARINTS[value]
    if value < 0x4000:
        return bytes(((value & 0x7F) | 0x80, value >> 7))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    return tag + varint(len(payload)) + payload


def _any_value(value: AttributeValue | object) -> bytes:  # noqa: PLR0911  # one per wire type
    # AnyValue: 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue.
    kind = type(value)
    if kind is str:
        data = to_utf8(value)  # type: ignore[arg-type]
        return b"\x0a" + varint(len(data)) + data
    if kind is bool:
        return b"\x10\x01" if value else b"\x10\x00"
    if kind is int:
        return b"\x18" + varint(value & _INT64_MASK)  # type: ignore[operator]
    if kind is float:
        return b"\x21" + _PACK_DOUBLE(value)
    if isinstance(value, list | tuple):
        return _field(b"\x2a", b"".join(_field(b"\x0a", _any_value(v)) for v in value))
    if isinstance(value, str | bool | int | float):  # subclasses: encode as the base type
        base = (
            str
            if isinstance(value, str)
            else bool
            if isinstance(value, bool)
            else (int if isinstance(value, int) else float)
        )
        return _any_value(base(value))
    return _field(b"\x0a", to_utf8(str(value)))


# Encoded ``KeyValue.key`` fields, by key: attribute keys repeat on every span.
_KEY_FIELDS: dict[str, bytes] = {}


def key_value(key: str, value: AttributeValue | object) -> bytes:
    """One ``KeyValue`` message (without its enclosing field tag)."""
    key_field = _KEY_FIELDS.get(key) or _key_field(key)
    any_value = _any_value(value)
    return key_field + b"\x12" + varint(len(any_value)) + any_value


def _key_field(key: str) -> bytes:
    key_field = _field(b"\x0a", to_utf8(key))
    if len(_KEY_FIELDS) < 4096:  # bounded: keys are normally a small fixed set
        _KEY_FIELDS[key] = key_field
    return key_field


# Encoded attributes whose value repeats across spans (sample rate, user ids, token
# counts, finish reasons ...), by (tag, key, type, value); bounded, cleared when full.
_REPEATED: dict[tuple[bytes, str, type, object], bytes] = {}
_REPEATED_MAX: Final = 4096
_SHORT: Final = 64


def _attributes(tag: bytes, values: Mapping[str, AttributeValue | object]) -> list[bytes]:
    # The hottest loop of the export thread: the common value types are inlined,
    # lengths looked up in a table, repeated short values looked up ready-made.
    out: list[bytes] = []
    append = out.append
    table = _VARINTS
    limit = _TABLE_SIZE
    keys = _KEY_FIELDS
    repeated = _REPEATED
    cache_key: tuple[bytes, str, type, object] | None
    for key, value in values.items():
        kind = type(value)
        if kind is str and len(value) > _SHORT:  # type: ignore[arg-type]
            cache_key = None
            try:  # to_utf8, inlined: the plain encode is all that valid text needs
                data = value.encode("utf-8")  # type: ignore[union-attr]
            except UnicodeEncodeError:
                data = to_utf8(value)  # type: ignore[arg-type]
            size = len(data)
            any_value = b"\x0a" + (table[size] if size < limit else varint(size)) + data
        else:
            cache_key = (tag, key, kind, value)
            try:
                encoded = repeated.get(cache_key)
            except TypeError:  # an unhashable value (a list): encode it every time
                encoded = cache_key = None
            if encoded is not None:
                append(encoded)
                continue
            if kind is str:
                data = to_utf8(value)  # type: ignore[arg-type]
                any_value = b"\x0a" + table[len(data)] + data
            elif kind is int:
                any_value = b"\x18" + varint(value & _INT64_MASK)  # type: ignore[operator]
            elif kind is float:
                any_value = b"\x21" + _PACK_DOUBLE(value)
            else:
                any_value = _any_value(value)
        key_field = keys.get(key) or _key_field(key)
        size = len(any_value)
        body = key_field + b"\x12" + (table[size] if size < limit else varint(size)) + any_value
        size = len(body)
        encoded = tag + (table[size] if size < limit else varint(size)) + body
        if cache_key is not None and len(any_value) <= _SHORT + 3:
            if len(repeated) >= _REPEATED_MAX:
                repeated.clear()
            repeated[cache_key] = encoded
        append(encoded)
    return out


def _static_attributes(static: StaticAttributes) -> list[bytes]:
    if not static.encoded:
        # One slice assignment is atomic: two export threads racing here (an old and a
        # new pipeline) both write the same list instead of appending twice.
        static.encoded[:] = _attributes(b"\x4a", static.values)
    return static.encoded


def encode_span(span: SpanData) -> bytes:
    """One OTLP ``Span`` message (without its enclosing field tag)."""
    name = to_utf8(span.name)
    parts = [
        b"\x0a\x10",
        span.trace_id.to_bytes(16, "big"),
        b"\x12\x08",
        span.span_id.to_bytes(8, "big"),
    ]
    if span.parent_span_id:
        parts.append(b"\x22\x08")
        parts.append(span.parent_span_id.to_bytes(8, "big"))
    parts.append(b"\x2a" + varint(len(name)) + name)
    parts.append(_KINDS[span.kind] if span.kind < len(_KINDS) else b"\x30" + varint(span.kind))
    parts.append(_PACK_TIMES(0x39, span.start_ns, 0x41, span.end_ns))
    static = span.static
    dynamic = span.attributes
    if static is not None:
        if dynamic.keys().isdisjoint(static.values):
            parts.extend(_static_attributes(static))
        else:  # a per-call value overrides a shared one: encode the merged set
            dynamic = span.all_attributes()
    parts.extend(_attributes(b"\x4a", dynamic))
    for event in span.events:
        body = b"\x09" + _PACK_FIXED64(event.time_ns) + _field(b"\x12", to_utf8(event.name))
        body += b"".join(_attributes(b"\x1a", event.attributes))
        parts.append(_field(b"\x5a", body))
    if span.status_message or span.status_code != STATUS_UNSET:
        status = b""
        if span.status_message:
            status += _field(b"\x12", to_utf8(span.status_message))
        if span.status_code != STATUS_UNSET:
            status += b"\x18" + varint(span.status_code)
        parts.append(_field(b"\x7a", status))
    else:
        parts.append(b"\x7a\x00")  # an empty Status, as OpenTelemetry's encoder writes it
    parts.append(_FLAGS_REMOTE if span.parent_is_remote else _FLAGS_LOCAL)
    return b"".join(parts)


_KINDS: Final = tuple(b"\x30" + bytes((kind,)) for kind in range(6))
_PACK_TIMES: Final = struct.Struct("<BQBQ").pack  # start (tag 0x39) and end (tag 0x41)
_FLAGS_LOCAL: Final = b"\x85\x01" + _PACK_FIXED32(_FLAGS_HAS_IS_REMOTE)
_FLAGS_REMOTE: Final = b"\x85\x01" + _PACK_FIXED32(_FLAGS_HAS_IS_REMOTE | _FLAGS_IS_REMOTE)


class Envelope:
    """The resource and instrumentation scope around spans, encoded once per pipeline."""

    __slots__ = ("resource", "scope")

    def __init__(
        self, resource_attributes: Mapping[str, AttributeValue], scope_name: str, version: str
    ) -> None:
        # Resource { attributes = 1 }; InstrumentationScope { name = 1, version = 2 }.
        self.resource = _field(b"\x0a", b"".join(_attributes(b"\x0a", resource_attributes)))
        self.scope = _field(
            b"\x0a", _field(b"\x0a", to_utf8(scope_name)) + _field(b"\x12", to_utf8(version))
        )


def encode_request(envelope: Envelope, spans: Iterable[SpanData]) -> bytes:
    """An ``ExportTraceServiceRequest`` holding ``spans`` under one resource and scope."""
    return encode_request_from_encoded(envelope, [encode_span(span) for span in spans])


def encode_request_from_encoded(envelope: Envelope, encoded_spans: Sequence[bytes]) -> bytes:
    """Like :func:`encode_request`, for spans already run through :func:`encode_span`."""
    # One join at the end: the lengths of the enclosing messages are computed, not
    # measured on concatenated copies of the whole batch.
    parts = [b"", b"", envelope.resource, b"\x12", b"", envelope.scope]
    scope_spans_size = len(envelope.scope)
    for span in encoded_spans:
        size = varint(len(span))
        parts.append(b"\x12")
        parts.append(size)
        parts.append(span)
        scope_spans_size += 1 + len(size) + len(span)
    parts[4] = varint(scope_spans_size)
    resource_spans_size = len(envelope.resource) + 1 + len(parts[4]) + scope_spans_size
    parts[0] = b"\x0a"
    parts[1] = varint(resource_spans_size)
    return b"".join(parts)
