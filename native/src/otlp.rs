//! A decoder for OTLP trace export requests (protobuf) straight into the Python values the
//! collector's normaliser reads: one pass over the bytes, no message objects.
//!
//! It handles well-formed input only and declines (None) on anything unusual — a truncated
//! or corrupt wire format, bad UTF-8 in a string field, groups, a known field with an
//! unexpected wire type, a singular message field given twice (which protobuf merges) —
//! so that the Python decoder (upb) runs on exactly those payloads and gives its verdict.
//! Field numbers and types are those of opentelemetry-proto 1.x (`trace/v1/trace.proto`,
//! `common/v1/common.proto`, `resource/v1/resource.proto`); tests compare the results of
//! both decoders on real, generated and fuzzed payloads.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

/// Input this decoder leaves to the Python one.
pub(crate) struct Decline;

pub(crate) type Res<T> = Result<T, Decline>;

/// Nesting limit of AnyValue arrays and lists (upb allows 100; real attributes use 2).
const MAX_DEPTH: u32 = 32;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Tags and the lengths of short fields take one byte: read those without the loop.
    #[inline]
    fn varint(&mut self) -> Res<u64> {
        match self.buf.get(self.pos) {
            Some(&byte) if byte < 0x80 => {
                self.pos += 1;
                Ok(u64::from(byte))
            }
            _ => self.long_varint(),
        }
    }

    #[inline(never)]
    fn long_varint(&mut self) -> Res<u64> {
        let mut value: u64 = 0;
        for i in 0..10 {
            let byte = *self.buf.get(self.pos).ok_or(Decline)?;
            self.pos += 1;
            if i < 9 {
                value |= u64::from(byte & 0x7f) << (7 * i);
            } else {
                value |= u64::from(byte & 0x01) << 63; // bits past 64 are dropped, as upb does
            }
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Decline) // an eleventh byte: corrupt
    }

    /// The next field's number and wire type.
    fn tag(&mut self) -> Res<(u32, u8)> {
        let tag = self.varint()?;
        let number = tag >> 3;
        let wire = (tag & 7) as u8;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(Decline);
        }
        Ok((number as u32, wire))
    }

    fn bytes(&mut self) -> Res<&'a [u8]> {
        let len = usize::try_from(self.varint()?).map_err(|_| Decline)?;
        let end = self.pos.checked_add(len).ok_or(Decline)?;
        let out = self.buf.get(self.pos..end).ok_or(Decline)?;
        self.pos = end;
        Ok(out)
    }

    fn string(&mut self) -> Res<&'a str> {
        utf8(self.bytes()?).ok_or(Decline)
    }

    fn fixed64(&mut self) -> Res<u64> {
        let end = self.pos + 8;
        let raw = self.buf.get(self.pos..end).ok_or(Decline)?;
        self.pos = end;
        Ok(u64::from_le_bytes(raw.try_into().map_err(|_| Decline)?))
    }

    fn fixed32(&mut self) -> Res<u32> {
        let end = self.pos + 4;
        let raw = self.buf.get(self.pos..end).ok_or(Decline)?;
        self.pos = end;
        Ok(u32::from_le_bytes(raw.try_into().map_err(|_| Decline)?))
    }

    /// Skip a field this decoder does not read (groups are declined).
    fn skip(&mut self, wire: u8) -> Res<()> {
        match wire {
            VARINT => self.varint().map(|_| ()),
            FIXED64 => self.fixed64().map(|_| ()),
            LEN => self.bytes().map(|_| ()),
            FIXED32 => self.fixed32().map(|_| ()),
            _ => Err(Decline),
        }
    }
}

/// ``bytes`` as text when they are UTF-8, as upb requires of string fields. Most strings of
/// a span are short ASCII keys and values, for which `str::from_utf8`'s set-up costs more
/// than the check: those are checked for ASCII (a word at a time) and taken as they are.
#[inline]
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    if ascii(bytes) {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// Whether every byte is ASCII: 32 bytes at a time (the span's texts), then the rest.
fn ascii(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        let any = block.chunks_exact(8).fold(0u64, |any, word| {
            any | u64::from_le_bytes(word.try_into().unwrap_or_default())
        });
        if any & 0x8080_8080_8080_8080 != 0 {
            return false;
        }
    }
    blocks.remainder().is_ascii()
}

/// Known fields must come with their declared wire type (upb would treat them as unknown).
fn expect(wire: u8, want: u8) -> Res<()> {
    if wire == want { Ok(()) } else { Err(Decline) }
}

/// A singular message field seen twice would be merged by protobuf: left to upb.
fn once(seen: &mut bool) -> Res<()> {
    if *seen {
        return Err(Decline);
    }
    *seen = true;
    Ok(())
}

/// Calls ``each`` with every entry of field 1 of the message in ``buf``: the `values` of an
/// `ArrayValue` or a `KeyValueList` (other fields skipped).
pub(crate) fn for_each_value<'a>(
    buf: &'a [u8],
    mut each: impl FnMut(&'a [u8]) -> Res<()>,
) -> Res<()> {
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        if field == 1 {
            expect(wire, LEN)?;
            each(r.bytes()?)?;
        } else {
            r.skip(wire)?;
        }
    }
    Ok(())
}

/// An `AnyValue`, not yet converted.
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    Unset,
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Double(f64),
    Array(&'a [u8]),
    KvList(&'a [u8]),
    Bytes(&'a [u8]),
    StrIndex(i32),
}

pub(crate) fn any_value(buf: &[u8]) -> Res<Value<'_>> {
    let mut r = Reader::new(buf);
    let mut value = Value::Unset;
    let mut message_seen = false;
    while !r.done() {
        let (field, wire) = r.tag()?;
        value = match field {
            1 => {
                expect(wire, LEN)?;
                Value::Str(r.string()?)
            }
            2 => {
                expect(wire, VARINT)?;
                Value::Bool(r.varint()? != 0)
            }
            3 => {
                expect(wire, VARINT)?;
                Value::Int(r.varint()? as i64)
            }
            4 => {
                expect(wire, FIXED64)?;
                Value::Double(f64::from_bits(r.fixed64()?))
            }
            5 | 6 => {
                expect(wire, LEN)?;
                once(&mut message_seen)?;
                let inner = r.bytes()?;
                if field == 5 {
                    Value::Array(inner)
                } else {
                    Value::KvList(inner)
                }
            }
            7 => {
                expect(wire, LEN)?;
                Value::Bytes(r.bytes()?)
            }
            8 => {
                expect(wire, VARINT)?;
                Value::StrIndex(r.varint()? as i32)
            }
            _ => {
                r.skip(wire)?;
                continue;
            }
        };
    }
    Ok(value)
}

/// A `KeyValue`: its key and value.
fn key_value(buf: &[u8]) -> Res<(&str, Value<'_>)> {
    let mut r = Reader::new(buf);
    let mut key = "";
    let mut value = Value::Unset;
    let mut value_seen = false;
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                expect(wire, LEN)?;
                key = r.string()?;
            }
            2 => {
                expect(wire, LEN)?;
                once(&mut value_seen)?;
                value = any_value(r.bytes()?)?;
            }
            3 => {
                expect(wire, VARINT)?;
                r.varint()?;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok((key, value))
}

/// `_value` of normalize.py: the Python value of an AnyValue (None when unset).
fn to_python<'py>(py: Python<'py>, value: &Value<'_>, depth: u32) -> Res<Bound<'py, PyAny>> {
    if depth > MAX_DEPTH {
        return Err(Decline);
    }
    Ok(match value {
        Value::Unset => py.None().into_bound(py),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Bool(b) => b.into_pyobject(py).map_err(no)?.to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py).map_err(no)?.into_any(),
        Value::Double(d) => d.into_pyobject(py).map_err(no)?.into_any(),
        Value::StrIndex(i) => i.into_pyobject(py).map_err(no)?.into_any(),
        Value::Bytes(b) => py_hex(py, b).into_any(),
        Value::Array(buf) => {
            let list = PyList::empty(py);
            for_each_value(buf, |item| {
                let item = any_value(item)?;
                list.append(to_python(py, &item, depth + 1)?).map_err(no)
            })?;
            list.into_any()
        }
        Value::KvList(buf) => {
            let dict = PyDict::new(py);
            for_each_value(buf, |item| {
                let (key, item) = key_value(item)?;
                dict.set_item(PyString::new(py, key), to_python(py, &item, depth + 1)?)
                    .map_err(no)
            })?;
            dict.into_any()
        }
    })
}

fn no<E>(_: E) -> Decline {
    Decline
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; 2 * bytes.len()];
    hex_into(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default() // hex digits: always UTF-8
}

/// Bytes in lowercase hex, on the stack when they are an id (trace ids are 16 bytes).
pub(crate) enum HexId {
    Short([u8; 32], u8),
    Long(String),
}

impl HexId {
    pub(crate) fn of(bytes: &[u8]) -> Self {
        let mut buf = [0u8; 32];
        match buf.get_mut(..2 * bytes.len()) {
            Some(out) => {
                hex_into(bytes, out);
                HexId::Short(buf, (2 * bytes.len()) as u8)
            }
            None => HexId::Long(hex(bytes)),
        }
    }
}

impl std::ops::Deref for HexId {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            HexId::Short(buf, len) => utf8(&buf[..usize::from(*len)]).unwrap_or_default(),
            HexId::Long(text) => text,
        }
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `hex` as a Python str, through the stack for ids (up to 32 bytes).
pub(crate) fn py_hex<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    let mut buf = [0u8; 64];
    let Some(out) = buf.get_mut(..2 * bytes.len()) else {
        return PyString::new(py, &hex(bytes));
    };
    hex_into(bytes, out);
    PyString::new(py, utf8(out).unwrap_or_default())
}

/// Lowercase hex digits of ``bytes`` into ``out`` (twice as long).
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = HEX_DIGITS[usize::from(b >> 4)];
        pair[1] = HEX_DIGITS[usize::from(b & 15)];
    }
}

/// Adds one `KeyValue` to ``attributes`` as `_attributes` of normalize.py does: strings and
/// ints as they are, unset values not at all, the rest through `to_python`. Keys are
/// interned: the same few dozen keys repeat in every span.
fn add_attribute<'py>(
    py: Python<'py>,
    attributes: &Bound<'py, PyDict>,
    key: &str,
    value: &Value<'_>,
) -> Res<()> {
    if let Value::Unset = value {
        return Ok(());
    }
    let converted = to_python(py, value, 0)?;
    attributes
        .set_item(PyString::intern(py, key), converted)
        .map_err(no)
}

/// Walks a message whose fields this decoder never returns, checking what upb would check:
/// the wire format and the UTF-8 of its string fields. ``strings`` and ``key_values`` name
/// its string and `KeyValue` fields, ``scalars`` its other known fields with their wire
/// types (scope, link, entity reference).
fn check(buf: &[u8], strings: &[u32], key_values: &[u32], scalars: &[(u32, u8)]) -> Res<()> {
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        if strings.contains(&field) {
            expect(wire, LEN)?;
            r.string()?;
        } else if key_values.contains(&field) {
            expect(wire, LEN)?;
            value_check(&key_value(r.bytes()?)?.1, 0)?;
        } else if let Some(&(_, want)) = scalars.iter().find(|(f, _)| *f == field) {
            expect(wire, want)?;
            r.skip(wire)?;
        } else {
            r.skip(wire)?;
        }
    }
    Ok(())
}

/// A value that is only checked (scope, link and entity attributes), nested ones included.
fn value_check(value: &Value<'_>, depth: u32) -> Res<()> {
    if depth > MAX_DEPTH {
        return Err(Decline);
    }
    match value {
        Value::Array(inner) => {
            for_each_value(inner, |item| value_check(&any_value(item)?, depth + 1))
        }
        Value::KvList(inner) => {
            for_each_value(inner, |item| value_check(&key_value(item)?.1, depth + 1))
        }
        _ => Ok(()),
    }
}

/// `Resource`: its attributes (entity references are checked, not returned).
fn resource<'py>(py: Python<'py>, buf: &[u8]) -> Res<Bound<'py, PyDict>> {
    let attributes = PyDict::new(py);
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                expect(wire, LEN)?;
                let (key, value) = key_value(r.bytes()?)?;
                add_attribute(py, &attributes, key, &value)?;
            }
            2 => {
                expect(wire, VARINT)?;
                r.varint()?;
            }
            3 => {
                expect(wire, LEN)?;
                check(r.bytes()?, &[1, 2, 3, 4], &[], &[])?;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(attributes)
}

/// `Status`: (code, message); code as upb reads an enum (32-bit, signed).
fn status(buf: &[u8]) -> Res<(i32, &str)> {
    let mut r = Reader::new(buf);
    let (mut code, mut message) = (0i32, "");
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            2 => {
                expect(wire, LEN)?;
                message = r.string()?;
            }
            3 => {
                expect(wire, VARINT)?;
                code = r.varint()? as i32;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok((code, message))
}

/// `Span.Event`: (time_unix_nano, name, attributes).
fn event<'py>(py: Python<'py>, buf: &[u8]) -> Res<Bound<'py, PyTuple>> {
    let attributes = PyDict::new(py);
    let (mut time, mut name) = (0u64, "");
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                expect(wire, FIXED64)?;
                time = r.fixed64()?;
            }
            2 => {
                expect(wire, LEN)?;
                name = r.string()?;
            }
            3 => {
                expect(wire, LEN)?;
                let (key, value) = key_value(r.bytes()?)?;
                add_attribute(py, &attributes, key, &value)?;
            }
            4 => {
                expect(wire, VARINT)?;
                r.varint()?;
            }
            _ => r.skip(wire)?,
        }
    }
    (time, PyString::new(py, name), attributes)
        .into_pyobject(py)
        .map_err(no)
}

/// A `Span.Event`'s name and attributes, not converted (`event` without Python).
pub(crate) fn event_parts(buf: &[u8]) -> Res<(&str, Vec<(&str, Value<'_>)>)> {
    let mut name = "";
    let mut attributes = Vec::new();
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            2 => {
                expect(wire, LEN)?;
                name = r.string()?;
            }
            3 => {
                expect(wire, LEN)?;
                attributes.push(key_value(r.bytes()?)?);
            }
            _ => r.skip(wire)?,
        }
    }
    Ok((name, attributes))
}

/// One `Span`, checked and split into its fields; values are converted only later, by
/// `span_tuple` or by the call normaliser (`calls.rs`).
pub(crate) struct SpanFields<'a> {
    pub trace_id: &'a [u8],
    pub span_id: &'a [u8],
    pub parent: &'a [u8],
    pub name: &'a str,
    pub start: u64,
    pub end: u64,
    pub code: i32,
    pub message: &'a str,
    /// Every `KeyValue`, in wire order (repeated and unset ones included).
    pub attributes: Vec<(&'a str, Value<'a>)>,
    /// `_is_feedback`: the first attribute with the span-type key decides.
    pub feedback: bool,
    /// The `Span.Event` messages, not yet read.
    pub events: Vec<&'a [u8]>,
}

pub(crate) fn parse_span<'a>(buf: &'a [u8], feedback_key: &str) -> Res<SpanFields<'a>> {
    let mut span = SpanFields {
        trace_id: b"",
        span_id: b"",
        parent: b"",
        name: "",
        start: 0,
        end: 0,
        code: 0,
        message: "",
        attributes: Vec::with_capacity(16),
        feedback: false,
        events: Vec::new(),
    };
    let mut status_seen = false;
    let mut feedback: Option<bool> = None;
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 | 2 | 4 => {
                expect(wire, LEN)?;
                let value = r.bytes()?;
                match field {
                    1 => span.trace_id = value,
                    2 => span.span_id = value,
                    _ => span.parent = value,
                }
            }
            3 => {
                expect(wire, LEN)?;
                r.string()?;
            }
            5 => {
                expect(wire, LEN)?;
                span.name = r.string()?;
            }
            6 | 10 | 12 | 14 => {
                expect(wire, VARINT)?;
                r.varint()?;
            }
            7 => {
                expect(wire, FIXED64)?;
                span.start = r.fixed64()?;
            }
            8 => {
                expect(wire, FIXED64)?;
                span.end = r.fixed64()?;
            }
            9 => {
                expect(wire, LEN)?;
                let (key, value) = key_value(r.bytes()?)?;
                if feedback.is_none() && key == feedback_key {
                    feedback = Some(matches!(value, Value::Str("feedback")));
                }
                span.attributes.push((key, value));
            }
            11 => {
                expect(wire, LEN)?;
                span.events.push(r.bytes()?);
            }
            13 => {
                expect(wire, LEN)?;
                check(
                    r.bytes()?,
                    &[3],
                    &[4],
                    &[(1, LEN), (2, LEN), (5, VARINT), (6, FIXED32)],
                )?;
            }
            15 => {
                expect(wire, LEN)?;
                once(&mut status_seen)?;
                (span.code, span.message) = status(r.bytes()?)?;
            }
            16 => {
                expect(wire, FIXED32)?;
                r.fixed32()?;
            }
            _ => r.skip(wire)?,
        }
    }
    span.feedback = feedback.unwrap_or(false);
    Ok(span)
}

/// Checks a span's events as `span_tuple` would read them, without building them.
pub(crate) fn check_events(span: &SpanFields<'_>) -> Res<()> {
    for buf in &span.events {
        check(buf, &[2], &[3], &[(1, FIXED64), (4, VARINT)])?;
    }
    Ok(())
}

/// One span as the tuple `normalize.DecodedSpan` describes; ``buf`` is its protobuf bytes.
pub(crate) fn span_tuple<'py>(
    py: Python<'py>,
    span: &SpanFields<'_>,
    buf: &[u8],
) -> Res<Bound<'py, PyTuple>> {
    let attributes = PyDict::new(py);
    for (key, value) in &span.attributes {
        add_attribute(py, &attributes, key, value)?;
    }
    let events = PyList::empty(py);
    for event_buf in &span.events {
        events.append(event(py, event_buf)?).map_err(no)?;
    }
    let items: [Bound<'py, PyAny>; 12] = [
        PyBytes::new(py, span.trace_id).into_any(),
        PyBytes::new(py, span.span_id).into_any(),
        PyBytes::new(py, span.parent).into_any(),
        PyString::new(py, span.name).into_any(),
        span.start.into_pyobject(py).map_err(no)?.into_any(),
        span.end.into_pyobject(py).map_err(no)?.into_any(),
        span.code.into_pyobject(py).map_err(no)?.into_any(),
        PyString::new(py, span.message).into_any(),
        attributes.into_any(),
        span.feedback
            .into_pyobject(py)
            .map_err(no)?
            .to_owned()
            .into_any(),
        events.into_any(),
        PyBytes::new(py, buf).into_any(),
    ];
    PyTuple::new(py, items).map_err(no)
}

/// `ScopeSpans`: its spans' bytes appended to ``spans`` (the scope itself is checked only).
fn scope_spans<'a>(buf: &'a [u8], spans: &mut Vec<&'a [u8]>) -> Res<()> {
    let mut r = Reader::new(buf);
    let mut scope_seen = false;
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                expect(wire, LEN)?;
                once(&mut scope_seen)?;
                check(r.bytes()?, &[1, 2], &[3], &[(4, VARINT)])?;
            }
            2 => {
                expect(wire, LEN)?;
                spans.push(r.bytes()?);
            }
            3 => {
                expect(wire, LEN)?;
                r.string()?;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(())
}

/// One `ResourceSpans` of a request, read but not converted: its `Resource` message (if
/// any) and each span message of all its scopes.
pub(crate) struct Part<'a> {
    pub resource: Option<&'a [u8]>,
    pub spans: Vec<&'a [u8]>,
}

/// The `ResourceSpans` of an `ExportTraceServiceRequest`, checked and split without Python:
/// declines what `decode_request` declines but for the resources' and spans' contents,
/// which are read when converted.
pub(crate) fn request_parts(data: &[u8]) -> Res<Vec<Part<'_>>> {
    let mut out = Vec::new();
    let mut r = Reader::new(data);
    while !r.done() {
        let (field, wire) = r.tag()?;
        if field == 1 {
            expect(wire, LEN)?;
            out.push(resource_spans(r.bytes()?)?);
        } else {
            r.skip(wire)?;
        }
    }
    Ok(out)
}

/// `ResourceSpans`: its resource's bytes and its spans' (the resource may come after them).
fn resource_spans(buf: &[u8]) -> Res<Part<'_>> {
    let mut part = Part {
        resource: None,
        spans: Vec::new(),
    };
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                expect(wire, LEN)?;
                if part.resource.is_some() {
                    return Err(Decline); // merged by protobuf
                }
                part.resource = Some(r.bytes()?);
            }
            2 => {
                expect(wire, LEN)?;
                scope_spans(r.bytes()?, &mut part.spans)?;
            }
            3 => {
                expect(wire, LEN)?;
                r.string()?;
            }
            _ => r.skip(wire)?,
        }
    }
    Ok(part)
}

/// The service name of a resource as `resource_dict` holds it (its key's last value that is
/// set; "" without one), read from the message: None when that value is not a string.
pub(crate) fn resource_service(buf: Option<&[u8]>) -> Option<&str> {
    let mut found = Some("");
    let mut r = Reader::new(buf.unwrap_or_default());
    while !r.done() {
        let (field, wire) = r.tag().ok()?;
        if field != 1 {
            r.skip(wire).ok()?;
            continue;
        }
        let (key, value) = key_value(r.bytes().ok()?).ok()?;
        match value {
            _ if key != "service.name" => {}
            Value::Unset => {}
            Value::Str(name) => found = Some(name),
            _ => found = None,
        }
    }
    found
}

/// A resource's attributes as a dict (an empty one for no resource).
pub(crate) fn resource_dict<'py>(py: Python<'py>, buf: Option<&[u8]>) -> Res<Bound<'py, PyDict>> {
    match buf {
        Some(buf) => resource(py, buf),
        None => Ok(PyDict::new(py)),
    }
}

/// An `ExportTraceServiceRequest` as a list with one `(resource_attributes, spans)` per
/// `ResourceSpans`, ``each_span`` giving each span's Python value from the resource
/// attributes and the span's bytes. None when the payload is not plain, well-formed OTLP
/// (or ``each_span`` declines).
pub(crate) fn decode_request<'py>(
    py: Python<'py>,
    data: &[u8],
    mut each_span: impl FnMut(&Bound<'py, PyDict>, &[u8]) -> Res<Bound<'py, PyAny>>,
) -> Option<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for part in request_parts(data).ok()? {
        let attributes = resource_dict(py, part.resource).ok()?;
        let spans = PyList::empty(py);
        for span in part.spans {
            spans.append(each_span(&attributes, span).ok()?).ok()?;
        }
        out.append((attributes, spans)).ok()?;
    }
    Some(out)
}

/// Decode an `ExportTraceServiceRequest`: a list with one `(resource_attributes, spans)`
/// per `ResourceSpans`, each span a tuple `(trace_id, span_id, parent_span_id, name,
/// start_time_unix_nano, end_time_unix_nano, status_code, status_message, attributes,
/// is_feedback, events, span_bytes)`, events as `(time_unix_nano, name, attributes)`;
/// ``is_feedback`` tells whether the first attribute named ``feedback_key`` is the string
/// "feedback". None when the payload is not plain, well-formed OTLP: decode it with
/// protobuf then.
#[pyfunction]
pub fn decode_traces<'py>(
    py: Python<'py>,
    data: &[u8],
    feedback_key: &str,
) -> Option<Bound<'py, PyList>> {
    decode_request(py, data, |_, buf| {
        Ok(span_tuple(py, &parse_span(buf, feedback_key)?, buf)?.into_any())
    })
}
