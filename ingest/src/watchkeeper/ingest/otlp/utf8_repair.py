"""Make every string field of a protobuf payload valid UTF-8, leaving the rest as it was.

Protobuf parsers refuse a whole message when one ``string`` field holds invalid UTF-8,
which a client encoding a lone surrogate (or a bad decoder's bytes) produces. Refusing
the request would lose every span in it for one bad string, so a receiver whose parse
fails rewrites the payload here, each invalid sequence becoming U+FFFD, and parses again.
The walk follows the message's descriptor: ``bytes`` fields (ids) and unknown fields are
copied untouched; only ``string`` fields change, and only where they are invalid.
"""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
#: Nesting a real OTLP request never reaches; deeper is a hostile payload, not a trace.
MAX_DEPTH = 64


def repair_utf8(payload: bytes, descriptor: Descriptor) -> bytes:
    """``payload`` (a serialized ``descriptor`` message) with its strings made valid.

    Raises :class:`DecodeError` when the payload is not well-formed protobuf.
    """
    out = bytearray()
    _walk(memoryview(payload), descriptor, out, 0)
    return bytes(out)


def _walk(data: memoryview, descriptor: Descriptor, out: bytearray, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise DecodeError(f"message nested deeper than {MAX_DEPTH}")
    pos = 0
    while pos < len(data):
        key_start = pos
        key, pos = _varint(data, pos)
        wire_type = key & 7
        if wire_type == _VARINT:
            _, pos = _varint(data, pos)
        elif wire_type in (_FIXED64, _FIXED32):
            pos += 8 if wire_type == _FIXED64 else 4
        elif wire_type == _LENGTH:
            key_end = pos
            length, start = _varint(data, pos)
            pos = start + length
            if pos > len(data):
                raise DecodeError("truncated length-delimited field")
            value = _value(data[start:pos], descriptor.fields_by_number.get(key >> 3), depth)
            out += data[key_start:key_end]
            out += _encode_varint(len(value))
            out += value
            continue
        else:
            raise DecodeError(f"unsupported wire type {wire_type}")
        if pos > len(data):
            raise DecodeError("truncated field")
        out += data[key_start:pos]


def _value(
    value: memoryview, field: FieldDescriptor | None, depth: int
) -> bytes | bytearray | memoryview:
    """One length-delimited value, its strings made valid."""
    if field is not None and field.type == FieldDescriptor.TYPE_STRING:
        return bytes(value).decode("utf-8", "replace").encode("utf-8")
    if field is not None and field.type == FieldDescriptor.TYPE_MESSAGE:
        inner = bytearray()
        _walk(value, field.message_type, inner, depth + 1)
        return inner
    return value


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise DecodeError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
