//! The `spans` row of a span that is not an LLM call, as `span_from_decoded` of
//! `watchkeeper/collector/traces/span_record.py` makes it, from the decoder's output: the
//! payload is read once for the calls and for the rest of the trace.
//!
//! As in the call normaliser, None is "let Python do it": a value whose text is Python's
//! own formatting (a float in a JSON document), a JSON document this reader leaves to
//! orjson, a score `float()` might read differently, bytes read as text.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyString, PyTuple};

use super::json::{Json, dump, float_value, parse_json};
use super::{
    ERROR_TYPE, MAX_CLOCK_SKEW_NS, MIN_TIME_NS, Planned, RETRIEVAL_DOCUMENTS, USER_ID, Values,
    index_of, plain_decimal, split_infix, text, truthy,
};
use crate::otlp::{self, HexId, SpanFields, Value};

/// The bounds of span_record.py.
const MAX_TEXT_CHARS: usize = 8192;
const MAX_DOCUMENTS: usize = 20;
const MAX_DOCUMENT_CHARS: usize = 2048;
pub(super) const MAX_VALUE_CHARS: usize = 4096;
pub(super) const MAX_ATTRIBUTE_CHARS: usize = 16384;

/// `_INPUT_KEYS`, `_OUTPUT_KEYS` and `_SESSION_KEYS` of span_record.py.
pub(super) const INPUT_KEYS: [&str; 4] = [
    "gen_ai.tool.call.arguments",
    "input.value",
    "reranker.query",
    "gen_ai.input.messages",
];
pub(super) const OUTPUT_KEYS: [&str; 3] = [
    "gen_ai.tool.call.result",
    "output.value",
    "gen_ai.output.messages",
];
const SESSION_KEYS: [&str; 2] = ["gen_ai.conversation.id", "session.id"];
/// `_DOCUMENT_PREFIXES`.
const RETRIEVED: &str = "retrieval.documents.";
const RERANKED: &str = "reranker.output_documents.";
const RERANK_INPUT: &str = "reranker.input_documents.";

/// A span planned without Python: what its row is made from.
pub(super) struct RowPlan<'a> {
    pub(super) trace_id: &'a [u8],
    pub(super) span_id: &'a [u8],
    pub(super) parent: &'a [u8],
    pub(super) name: &'a str,
    pub(super) kind: &'static str,
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) code: i32,
    message: &'a str,
    events: Vec<&'a [u8]>,
    pub(super) values: Values<'a>,
}

/// The row plan of a span of ``kind`` (not `llm`), or a skip without a row when its ids or
/// start time are unusable (`span_from_decoded` returns None).
pub(super) fn plan<'a>(
    span: &SpanFields<'a>,
    values: Values<'a>,
    kind: &'static str,
    now_ns: u64,
) -> Planned<'a> {
    if span.trace_id.len() != 16 || span.span_id.len() != 8 {
        return Planned::Skip;
    }
    if !(MIN_TIME_NS..=now_ns.saturating_add(MAX_CLOCK_SKEW_NS)).contains(&span.start) {
        return Planned::Skip;
    }
    Planned::Row(RowPlan {
        trace_id: span.trace_id,
        span_id: span.span_id,
        parent: span.parent,
        name: span.name,
        kind,
        start: span.start,
        end: span.end,
        code: span.code,
        message: span.message,
        events: span.events.clone(),
        values,
    })
}

/// A planned row's values, as its `TraceSpan` holds them (``end`` never before ``start``).
pub(super) struct RowValues<'a> {
    pub(super) trace_id: HexId,
    pub(super) span_id: HexId,
    pub(super) parent: HexId,
    pub(super) name: &'a str,
    pub(super) kind: &'static str,
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) status: &'static str,
    pub(super) attributes: Vec<(&'a str, Cow<'a, str>)>,
    pub(super) input: Cow<'a, str>,
    pub(super) output: Cow<'a, str>,
    pub(super) documents: Vec<Document<'a>>,
    pub(super) session: Cow<'a, str>,
    pub(super) user: Cow<'a, str>,
    pub(super) service: &'a str,
    pub(super) message: Cow<'a, str>,
}

/// `_status`: the span's status, ERROR also when `error.type` is set.
pub(super) fn status(row: &RowPlan<'_>) -> &'static str {
    match row.code {
        1 => "OK",
        2 => "ERROR",
        _ if row.values.get(ERROR_TYPE).is_some_and(truthy) => "ERROR",
        _ => "UNSET",
    }
}

/// The values of a planned row, of a resource with ``service`` (None: its name is not a
/// string); None: Python makes it.
pub(super) fn values<'a>(
    py: Python<'_>,
    service: Option<&'a str>,
    row: &RowPlan<'a>,
) -> Option<RowValues<'a>> {
    let service = service?;
    let values = &row.values;
    let status = status(row);
    let message = if row.message.is_empty() {
        exception(py, &row.events)?
    } else {
        Cow::Borrowed(row.message)
    };
    Some(RowValues {
        trace_id: HexId::of(row.trace_id),
        span_id: HexId::of(row.span_id),
        parent: HexId::of(row.parent),
        name: row.name,
        kind: row.kind,
        start: row.start,
        end: row.start.max(row.end),
        status,
        attributes: bounded_attributes(py, values)?,
        input: first_text(py, values, &INPUT_KEYS)?,
        output: first_text(py, values, &OUTPUT_KEYS)?,
        documents: documents(py, values, row.kind)?,
        session: first_text(py, values, &SESSION_KEYS)?,
        user: text(Some(py), values.get(USER_ID))?,
        service,
        message: chars(message, MAX_VALUE_CHARS),
    })
}

/// The `TraceSpan` of a planned row, made by ``class`` (fields positionally, in declaration
/// order); None: Python makes it.
pub(super) fn build<'py>(
    py: Python<'py>,
    service: Option<&Bound<'py, PyString>>,
    row: &RowPlan<'_>,
    class: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyAny>> {
    let service = service?.to_str().ok()?;
    object(py, &values(py, Some(service), row)?, class)
}

/// The `TraceSpan` of a row's values, made by ``class``.
pub(super) fn object<'py>(
    py: Python<'py>,
    row: &RowValues<'_>,
    class: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyAny>> {
    let attributes = PyDict::new(py);
    for (key, value) in &row.attributes {
        attributes
            .set_item(PyString::intern(py, key), PyString::new(py, value))
            .ok()?;
    }
    let documents = PyTuple::new(
        py,
        row.documents
            .iter()
            .map(|(text, score)| (PyString::new(py, text), score.map(|s| PyFloat::new(py, s)))),
    )
    .ok()?;
    let args: [Bound<'py, PyAny>; 16] = [
        PyString::new(py, &row.trace_id).into_any(),
        PyString::new(py, &row.span_id).into_any(),
        PyString::new(py, &row.parent).into_any(),
        PyString::new(py, row.name).into_any(),
        PyString::intern(py, row.kind).into_any(),
        row.start.into_pyobject(py).ok()?.into_any(),
        row.end.into_pyobject(py).ok()?.into_any(),
        PyString::intern(py, row.status).into_any(),
        attributes.into_any(),
        PyString::new(py, &row.input).into_any(),
        PyString::new(py, &row.output).into_any(),
        documents.into_any(),
        PyString::new(py, &row.session).into_any(),
        PyString::new(py, &row.user).into_any(),
        PyString::new(py, row.service).into_any(),
        PyString::new(py, &row.message).into_any(),
    ];
    class.call1(PyTuple::new(py, args).ok()?).ok()
}

/// The first ``n`` characters of a text.
fn chars(text: Cow<'_, str>, n: usize) -> Cow<'_, str> {
    if text.len() <= n {
        return text; // never more characters than bytes
    }
    match text.char_indices().nth(n) {
        None => text,
        Some((end, _)) => match text {
            Cow::Borrowed(s) => Cow::Borrowed(&s[..end]),
            Cow::Owned(mut s) => {
                s.truncate(end);
                Cow::Owned(s)
            }
        },
    }
}

/// Whether a key has a typed column (`_TYPED` of span_record.py) or is a document's.
fn typed(key: &str) -> bool {
    INPUT_KEYS.contains(&key)
        || OUTPUT_KEYS.contains(&key)
        || SESSION_KEYS.contains(&key)
        || key == USER_ID
        || key == RETRIEVAL_DOCUMENTS
        || [RETRIEVED, RERANKED, RERANK_INPUT]
            .iter()
            .any(|p| key.starts_with(p))
}

/// `_bounded_attributes`: the other values as text, each and all together bounded.
fn bounded_attributes<'a>(
    py: Python<'_>,
    values: &Values<'a>,
) -> Option<Vec<(&'a str, Cow<'a, str>)>> {
    let mut out: Vec<(&'a str, Cow<'a, str>)> = Vec::new();
    let mut budget = MAX_ATTRIBUTE_CHARS as i64;
    for &(key, value) in &values.entries {
        if typed(key) {
            continue;
        }
        let text = chars(text(Some(py), Some(value))?, MAX_VALUE_CHARS);
        budget -= (key.chars().count() + text.chars().count()) as i64;
        if budget < 0 {
            break;
        }
        out.push((key, text)); // keys are unique already (`Values::of`)
    }
    Some(out)
}

/// `_first_text`: the first value that is neither absent nor empty, as bounded text.
fn first_text<'a>(py: Python<'_>, values: &Values<'a>, keys: &[&str]) -> Option<Cow<'a, str>> {
    for key in keys {
        match values.get(key) {
            None | Some(Value::Str("")) => {}
            Some(Value::Bytes([])) => {} // "" once hex
            value => return Some(chars(text(Some(py), value)?, MAX_TEXT_CHARS)),
        }
    }
    Some(Cow::Borrowed(""))
}

/// A document: its text and score.
pub(super) type Document<'a> = (Cow<'a, str>, Option<f64>);

/// `documents`: ``gen_ai.retrieval.documents`` (JSON), else a retrieval's or a reranker's
/// flattened OpenInference documents.
fn documents<'a>(py: Python<'_>, values: &Values<'a>, kind: &str) -> Option<Vec<Document<'a>>> {
    match values.get(RETRIEVAL_DOCUMENTS) {
        Some(Value::Bytes(b)) if !b.is_empty() => return None, // JSON in hex, to Python
        Some(Value::Str(raw)) if !raw.is_empty() => return json_documents(raw),
        _ => {}
    }
    match kind {
        "retrieval" => indexed(py, values, RETRIEVED),
        "rerank" => {
            let out = indexed(py, values, RERANKED)?;
            if out.is_empty() {
                indexed(py, values, RERANK_INPUT)
            } else {
                Some(out)
            }
        }
        _ => Some(Vec::new()),
    }
}

/// `_json_documents`; None also for invalid JSON (Python keeps it as one document).
fn json_documents(raw: &str) -> Option<Vec<Document<'_>>> {
    let Json::Array(items) = parse_json(raw)? else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    for doc in items.iter().take(MAX_DOCUMENTS) {
        match doc {
            Json::Object(_) => out.push((
                chars(
                    Cow::Owned(json_text(doc.get("content"))?),
                    MAX_DOCUMENT_CHARS,
                ),
                json_score(doc.get("score"))?,
            )),
            Json::Str(s) => out.push((chars(Cow::Owned(s.to_string()), MAX_DOCUMENT_CHARS), None)),
            _ => {}
        }
    }
    Some(out)
}

/// `_text` of a JSON value (a float: Python's repr, left to it).
fn json_text(value: Option<&Json<'_>>) -> Option<String> {
    Some(match value {
        None | Some(Json::Null) => String::new(),
        Some(Json::Str(s)) => s.to_string(),
        Some(Json::Bool(b)) => (if *b { "True" } else { "False" }).to_string(),
        Some(Json::Int(i)) => i.to_string(),
        Some(Json::Float(_)) => return None,
        Some(value) => {
            let mut out = String::new();
            dump(value, &mut out)?;
            out
        }
    })
}

/// `_score` of a JSON value: Some(None) when it is no finite number.
fn json_score(value: Option<&Json<'_>>) -> Option<Option<f64>> {
    Some(match value {
        None | Some(Json::Null | Json::Array(_) | Json::Object(_)) => None,
        Some(Json::Bool(b)) => Some(f64::from(u8::from(*b))),
        Some(Json::Int(i)) => Some(*i as f64), // nearest, ties to even: as Python's float()
        Some(Json::Float(raw)) => float_value(raw),
        Some(Json::Str(s)) => return string_score(s),
    })
}

/// `_score` of a text: `float()` of it, where Rust reads it alike.
fn string_score(s: &str) -> Option<Option<f64>> {
    if s.is_empty() {
        return Some(None); // ValueError
    }
    if !plain_decimal(s) {
        return None; // spaces, "_", "inf" ...: Python's float() decides
    }
    Some(s.parse::<f64>().ok().filter(|f| f.is_finite()))
}

/// `_score` of an attribute value.
fn value_score(value: Option<Value<'_>>) -> Option<Option<f64>> {
    Some(match value {
        None | Some(Value::Unset | Value::Array(_) | Value::KvList(_)) => None,
        Some(Value::Bool(b)) => Some(f64::from(u8::from(b))),
        Some(Value::Int(i)) => Some(i as f64),
        Some(Value::StrIndex(i)) => Some(f64::from(i)),
        Some(Value::Double(d)) => Some(d).filter(|d| d.is_finite()),
        Some(Value::Str(s)) => return string_score(s),
        Some(Value::Bytes([])) => None,
        Some(Value::Bytes(_)) => return None, // hex digits, which float() may read
    })
}

/// `_indexed_documents`: ``<prefix><i>.document.content`` / ``.score`` in index order.
fn indexed<'a>(py: Python<'_>, values: &Values<'a>, prefix: &str) -> Option<Vec<Document<'a>>> {
    // (index, [content, score]); keys are unique (`Values::of`), so each slot is set once.
    let mut found: Vec<(u64, [Option<Value<'a>>; 2])> = Vec::new();
    for &(key, value) in &values.entries {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        let (index, field) = split_infix(rest, ".document.").unwrap_or((rest, ""));
        if field != "content" && field != "score" {
            continue;
        }
        let Some(index) = index_of(index)? else {
            continue;
        };
        let slot = match found.iter().position(|(i, _)| *i == index) {
            Some(at) => at,
            None => {
                found.push((index, [None, None]));
                found.len() - 1
            }
        };
        found[slot].1[usize::from(field == "score")] = Some(value);
    }
    found.sort_unstable_by_key(|(index, _)| *index);
    let mut out = Vec::with_capacity(found.len().min(MAX_DOCUMENTS));
    for (_, [content, score]) in found.into_iter().take(MAX_DOCUMENTS) {
        out.push((
            chars(text(Some(py), content)?, MAX_DOCUMENT_CHARS),
            value_score(score)?,
        ));
    }
    Some(out)
}

/// `_exception`: ``Type: message`` of the first ``exception`` event.
fn exception<'a>(py: Python<'_>, events: &[&'a [u8]]) -> Option<Cow<'a, str>> {
    for buf in events {
        let (name, attributes) = otlp::event_parts(buf).ok()?;
        if name != "exception" {
            continue;
        }
        let values = Values::of(attributes)?;
        let kind = text(Some(py), values.get("exception.type"))?;
        let message = text(Some(py), values.get("exception.message"))?;
        return Some(match (kind.is_empty(), message.is_empty()) {
            (false, false) => Cow::Owned(format!("{kind}: {message}")),
            (false, true) => kind,
            _ => message,
        });
    }
    Some(Cow::Borrowed(""))
}
