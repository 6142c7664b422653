//! The collector's normaliser (`_call` of `watchkeeper/collector/processors/normalize.py`)
//! for the common spans, run on the decoder's output (`otlp.rs`) without building the
//! span's Python values first.
//!
//! Python stays the reference: for anything this code is not sure to reproduce exactly — a
//! feedback span, a span to reject (ids, timestamp: the reasons and details are Python's),
//! a nested or mixed-type value, a float in a JSON document, a token count that is not a
//! plain decimal, more than `MAX_ATTRIBUTES` attributes — it returns the span as
//! `decode_traces` does and the Python code finishes it. Every `Option` below means the
//! same thing: None is "let Python do it". `tests/collector/test_native_decode.py` holds
//! both paths to the same records.

use std::borrow::Cow;
use std::collections::BTreeMap;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyList, PyString, PyTuple};

use crate::otlp::{self, SpanFields, Value};
use json::{Json, dump, parse_json, quote};

mod json;
mod span_columns;
mod span_row;
mod trace_summary;

/// `_MIN_TIME_NS` and `_MAX_CLOCK_SKEW_NS` of normalize.py.
const MIN_TIME_NS: u64 = 946_684_800 * 1_000_000_000;
const MAX_CLOCK_SKEW_NS: u64 = 86_400 * 1_000_000_000;
/// `MAX_ATTRIBUTE_CHARS` of normalize.py.
const MAX_ATTRIBUTE_CHARS: usize = 4096;
/// Repeated keys are found by a linear search: spans with more attributes go to Python.
const MAX_ATTRIBUTES: usize = 128;

/// `_TYPED` of normalize.py: keys copied into typed columns, not into `attributes`.
const TYPED: [&str; 23] = [
    OPERATION_NAME,
    PROVIDER_NAME,
    "gen_ai.system",
    REQUEST_MODEL,
    RESPONSE_MODEL,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    FINISH_REASONS,
    INPUT_MESSAGES,
    OUTPUT_MESSAGES,
    CONVERSATION_ID,
    USER_ID,
    ROUTE,
    SAMPLE_RATE,
    ERROR_TYPE,
    "input.value",
    "output.value",
    "llm.model_name",
    "llm.provider",
    "llm.system",
    "llm.token_count.prompt",
    "llm.token_count.completion",
    "session.id",
];
/// `_UNTYPED_BODIES` of normalize.py.
const UNTYPED_BODIES: [&str; 3] = [
    "llm.input_messages",
    "llm.output_messages",
    "retrieval.documents",
];

// The keys of `watchkeeper.sdk.attributes` read here.
const OPERATION_NAME: &str = "gen_ai.operation.name";
const PROVIDER_NAME: &str = "gen_ai.provider.name";
const REQUEST_MODEL: &str = "gen_ai.request.model";
const RESPONSE_MODEL: &str = "gen_ai.response.model";
const INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
const OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
const FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
const INPUT_MESSAGES: &str = "gen_ai.input.messages";
const OUTPUT_MESSAGES: &str = "gen_ai.output.messages";
const CONVERSATION_ID: &str = "gen_ai.conversation.id";
const RETRIEVAL_DOCUMENTS: &str = "gen_ai.retrieval.documents";
const ERROR_TYPE: &str = "error.type";
const USER_ID: &str = "user.id";
const SERVICE_NAME: &str = "service.name";
const ROUTE: &str = "watchkeeper.route";
const SAMPLE_RATE: &str = "watchkeeper.sample_rate";
const SPAN_KIND: &str = "openinference.span.kind";
/// `kinds.SPAN_KIND_KEY`: the kind `@observe` names where no convention does.
const OWN_SPAN_KIND: &str = "watchkeeper.span.kind";

// The kinds of `traces/kinds.py`, and its tables.
const LLM: &str = "llm";
const OTHER: &str = "other";
const KINDS: [&str; 8] = [
    LLM,
    "tool",
    "agent",
    "retrieval",
    "rerank",
    "embedding",
    "chain",
    OTHER,
];
const OPERATION_KINDS: [(&str, &str); 9] = [
    ("chat", LLM),
    ("text_completion", LLM),
    ("generate_content", LLM),
    ("execute_tool", "tool"),
    ("invoke_agent", "agent"),
    ("create_agent", "agent"),
    ("embeddings", "embedding"),
    ("retrieval", "retrieval"),
    ("rerank", "rerank"),
];
const OPENINFERENCE_KINDS: [(&str, &str); 7] = [
    ("LLM", LLM),
    ("TOOL", "tool"),
    ("AGENT", "agent"),
    ("RETRIEVER", "retrieval"),
    ("RERANKER", "rerank"),
    ("EMBEDDING", "embedding"),
    ("CHAIN", "chain"),
];

/// The kind a table gives ``name``.
fn lookup(table: &[(&str, &'static str)], name: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(key, _)| *key == name)
        .map(|&(_, kind)| kind)
}

/// `decode_traces`, except that each span the normaliser would turn into a call comes back
/// as that call, built by ``record`` (the `CallRecord` class, given its fields
/// positionally in declaration order, ``source`` left empty), and each span it would skip
/// (not an LLM call) as None. The other spans come as `decode_traces` returns them, for
/// `normalize_decoded` to finish. ``now_ns`` bounds start times as `_call`'s ``now_ns``.
///
/// With ``span`` (the `TraceSpan` class), a skipped span comes back as its row for the
/// `spans` table, as `span_from_decoded` makes it, and None only when it has no row (its
/// ids or start time are unusable).
#[pyfunction]
#[pyo3(signature = (data, feedback_key, now_ns, record, span=None))]
pub fn decode_calls<'py>(
    py: Python<'py>,
    data: &[u8],
    feedback_key: &str,
    now_ns: u64,
    record: &Bound<'py, PyAny>,
    span: Option<&Bound<'py, PyAny>>,
) -> Option<Bound<'py, PyList>> {
    let empty = PyString::new(py, "");
    let classes = Classes {
        record,
        span,
        summaries: false,
        summary: None,
        columns: false,
    };
    decode(py, data, feedback_key, now_ns, &classes, &empty).map(|(groups, _)| groups)
}

/// The classes the core fills: `CallRecord`, and `TraceSpan` when the skipped spans' rows
/// are wanted.
struct Classes<'a, 'py> {
    record: &'a Bound<'py, PyAny>,
    span: Option<&'a Bound<'py, PyAny>>,
    /// summarise the traces whose spans came whole in a payload (`trace_summary`)
    summaries: bool,
    /// the `TraceSummary` class the summaries are made as (else tuples)
    summary: Option<&'a Bound<'py, PyAny>>,
    /// the rows of the summarised traces as column buffers instead of `TraceSpan`s
    columns: bool,
}

/// `decode_calls` of ``data`` with ``source`` in each record: the groups, and whether every
/// span became a record, a row or None (nothing left for Python to finish).
fn decode<'py>(
    py: Python<'py>,
    data: &[u8],
    feedback_key: &str,
    now_ns: u64,
    classes: &Classes<'_, 'py>,
    source: &Bound<'py, PyString>,
) -> Option<(Bound<'py, PyList>, bool)> {
    let mut finished = true;
    let groups = otlp::decode_request(py, data, |resource, buf| {
        let span = otlp::parse_span(buf, feedback_key)?;
        // What the Python path would decline, this path must decline too.
        otlp::check_events(&span)?;
        if let Some(done) = call(py, resource, &span, now_ns, classes, source) {
            return Ok(done);
        }
        finished = false;
        Ok(otlp::span_tuple(py, &span, buf)?.into_any())
    })?;
    Some((groups, finished))
}

/// A run's result: (calls, rows of the other spans, spans skipped, end, pending).
type Run<'py> = (
    Bound<'py, PyList>,
    Bound<'py, PyList>,
    usize,
    usize,
    Option<Bound<'py, PyList>>,
);

/// `run`'s result: `Run`, the summaries of the traces whole in a payload and the rows
/// made as columns.
type SummarisedRun<'py> = (
    Bound<'py, PyList>,
    Bound<'py, PyList>,
    usize,
    usize,
    Option<Bound<'py, PyList>>,
    Vec<Bound<'py, PyAny>>,
    span_columns::SpanColumns,
);

/// `decode_run`'s result: (calls, spans skipped, end, pending).
type CountedRun<'py> = (Bound<'py, PyList>, usize, usize, Option<Bound<'py, PyList>>);

/// Payloads read at a time without the GIL. Few enough that their bytes are still in the
/// cache when their records are made (all 10,000 of a batch at once cost 3 µs more per
/// payload), many enough that getting the GIL back, which can take a switch interval,
/// is rare: 64 at a time made the benchmark slower, 1,024 faster.
const RUN_CHUNK: usize = 1024;

/// A payload's parts, each span planned (see `plan`).
type PayloadPlan<'a> = Vec<(Option<&'a [u8]>, Vec<Planned<'a>>)>;

/// `Pipeline.prepare`'s loop over payloads, from ``payloads[start]`` on, for as long as each
/// is plain protobuf whose spans all become calls (or skips) here, from one source:
/// returns ``(calls, skipped, end, pending)``. ``end`` is the first payload not taken
/// (``len(payloads)`` when all were); ``pending`` is its `decode_calls` result when it
/// decoded but holds spans for Python to finish (or no spans at all), else None.
///
/// Each payload is a `Payload` (``data, source, encoding, origin``). A payload stops the run
/// where `decode_natively` would not take it: empty, over ``max_bytes``, an encoding other
/// than protobuf, or OTLP/JSON by `sniff_encoding` (JSON starts with ``{`` after
/// whitespace) when no encoding is given. One call for the batch saves the loop's Python
/// work per payload (about 3 µs of the thread that feeds the detectors), and the payloads
/// are read with the GIL released (about 5 µs of their 12): only their records are made
/// with it.
#[pyfunction]
pub fn decode_run<'py>(
    py: Python<'py>,
    payloads: &Bound<'py, PyList>,
    start: usize,
    feedback_key: &str,
    now_ns: u64,
    record: &Bound<'py, PyAny>,
    max_bytes: usize,
) -> PyResult<CountedRun<'py>> {
    let classes = Classes {
        record,
        span: None,
        summaries: false,
        summary: None,
        columns: false,
    };
    let (calls, _, skipped, end, pending, _, _) = run(
        py,
        payloads,
        start,
        feedback_key,
        now_ns,
        &classes,
        max_bytes,
    )?;
    Ok((calls, skipped, end, pending))
}

/// `decode_run` that also makes the rows of the spans that are not LLM calls, in the same
/// pass, with ``span`` (the `TraceSpan` class): returns ``(calls, rows, skipped, end,
/// pending)``; ``pending`` holds rows too (see `decode_calls`). A span whose row needs
/// Python stops the run there, like a call that does.
///
/// With ``summaries`` (a list), each trace whose spans all came in one payload of the run
/// and that `trace_summary` can score is appended to it as ``(trace_id, spans, start,
/// values, top_span_id, top_is_call, top_start, top_duration, top_name, top_status,
/// service, route, agent)``: ``values`` its trajectory signals by stored name (empty when
/// it has none); with ``summary`` (the `TraceSummary` class), as that class instead.
#[pyfunction]
#[pyo3(signature = (payloads, start, feedback_key, now_ns, record, span, max_bytes, summaries=None, columns=None, summary=None))]
#[allow(clippy::too_many_arguments)] // the arguments of `decode_run`, the row class, the summaries
pub fn decode_trace_run<'py>(
    py: Python<'py>,
    payloads: &Bound<'py, PyList>,
    start: usize,
    feedback_key: &str,
    now_ns: u64,
    record: &Bound<'py, PyAny>,
    span: &Bound<'py, PyAny>,
    max_bytes: usize,
    summaries: Option<&Bound<'py, PyList>>,
    columns: Option<&Bound<'py, PyList>>,
    summary: Option<&Bound<'py, PyAny>>,
) -> PyResult<Run<'py>> {
    let classes = Classes {
        record,
        span: Some(span),
        summaries: summaries.is_some(),
        summary,
        columns: summaries.is_some() && columns.is_some(),
    };
    let (calls, rows, skipped, end, pending, made, table) = run(
        py,
        payloads,
        start,
        feedback_key,
        now_ns,
        &classes,
        max_bytes,
    )?;
    if let Some(out) = summaries {
        for summary in made {
            out.append(summary)?;
        }
    }
    if let Some(out) = columns.filter(|_| !table.is_empty()) {
        out.append(table.to_python(py)?)?;
    }
    Ok((calls, rows, skipped, end, pending))
}

/// What `decode_run` and `decode_trace_run` share.
fn run<'py>(
    py: Python<'py>,
    payloads: &Bound<'py, PyList>,
    start: usize,
    feedback_key: &str,
    now_ns: u64,
    classes: &Classes<'_, 'py>,
    max_bytes: usize,
) -> PyResult<SummarisedRun<'py>> {
    let calls = PyList::empty(py);
    let mut summaries = trace_summary::RunSummaries::default();
    let maker = trace_summary::SummaryMaker::new(py, classes.summary)?;
    let rows = PyList::empty(py);
    let mut table = span_columns::SpanColumns::default();
    let mut skipped = 0usize;
    let mut first_source: Option<Bound<'py, PyString>> = None;
    let mut at = start;
    let with_rows = classes.span.is_some();
    while at < payloads.len() {
        let mut taken: Vec<(Bound<'py, PyBytes>, Bound<'py, PyString>)> = Vec::new();
        for i in at..payloads.len().min(at + RUN_CHUNK) {
            match plain(&payloads.get_item(i)?, &mut first_source, max_bytes)? {
                Some(payload) => taken.push(payload),
                None => break,
            }
        }
        if taken.is_empty() {
            break; // not for the core: the usual way
        }
        table.reserve_like(at - start, payloads.len() - at);
        let data: Vec<&[u8]> = taken.iter().map(|(bytes, _)| bytes.as_bytes()).collect();
        let plans = py.detach(|| {
            data.iter()
                .map_while(|bytes| plan_payload(bytes, feedback_key, now_ns, with_rows))
                .collect::<Vec<_>>()
        });
        let mut built = 0;
        for (plan, (_, source)) in plans.iter().zip(&taken) {
            let Some(made) = build_payload(py, plan, classes, &maker, source) else {
                break;
            };
            for one in made.records {
                calls.append(one)?;
            }
            let before = rows.len();
            for one in made.rows {
                rows.append(one)?;
            }
            if table.fits(made.columns.iter().map(|(_, row)| row)) {
                for (at, one) in &made.columns {
                    table.push(one, before + at);
                }
            } else if let Some(class) = classes.span {
                // Arrow's 32-bit offsets would overflow (huge texts repeated in every
                // span, a service name say): these rows go as objects, as without columns.
                for (_, one) in &made.columns {
                    let span = span_row::object(py, one, class).ok_or_else(|| {
                        pyo3::exceptions::PyValueError::new_err("TraceSpan refused a row")
                    })?;
                    rows.append(span)?;
                }
            }
            skipped += made.skips;
            summaries.add(made.summaries);
            built += 1;
        }
        at += built;
        if built == taken.len() {
            continue;
        }
        // This payload needs Python somewhere: decode it with the GIL held throughout.
        let (bytes, source) = &taken[built];
        match decode(py, bytes.as_bytes(), feedback_key, now_ns, classes, source) {
            Some((groups, true)) if !groups.is_empty() => {
                for group in groups.iter() {
                    for span in group.get_item(1)?.try_iter()? {
                        let span = span?;
                        if span.is_none() {
                            skipped += 1;
                        } else if classes
                            .span
                            .is_some_and(|c| span.is_instance(c).unwrap_or(false))
                        {
                            skipped += 1;
                            rows.append(span)?;
                        } else {
                            calls.append(span)?;
                        }
                    }
                }
                at += 1;
            }
            pending => {
                let pending = pending.map(|(groups, _)| groups);
                return Ok((calls, rows, skipped, at, pending, summaries.finish(), table));
            }
        }
    }
    Ok((calls, rows, skipped, at, None, summaries.finish(), table))
}

/// A payload's bytes and source when the core may take it (see `decode_run`), the first
/// payload's source fixing the run's.
fn plain<'py>(
    payload: &Bound<'py, PyAny>,
    first_source: &mut Option<Bound<'py, PyString>>,
    max_bytes: usize,
) -> PyResult<Option<(Bound<'py, PyBytes>, Bound<'py, PyString>)>> {
    let (Ok(data), Ok(source), Ok(encoding)) = (
        payload.get_item(0),
        payload.get_item(1),
        payload.get_item(2),
    ) else {
        return Ok(None);
    };
    let (Ok(data), Ok(source)) = (data.cast_into::<PyBytes>(), source.cast_into::<PyString>())
    else {
        return Ok(None);
    };
    match first_source {
        None => *first_source = Some(source.clone()),
        Some(first) if first.is(&source) || first.as_any().eq(&source)? => {}
        Some(_) => return Ok(None),
    }
    let sniff = if encoding.is_none() {
        true
    } else if encoding.eq(intern!(payload.py(), "protobuf"))? {
        false
    } else {
        return Ok(None);
    };
    let bytes = data.as_bytes();
    if bytes.is_empty() || bytes.len() > max_bytes || (sniff && json_start(bytes)) {
        return Ok(None);
    }
    Ok(Some((data, source)))
}

/// Every span of a payload planned without Python; None when any needs it, or when the
/// payload has no resource spans (Python dead-letters it).
fn plan_payload<'a>(
    data: &'a [u8],
    feedback_key: &str,
    now_ns: u64,
    rows: bool,
) -> Option<PayloadPlan<'a>> {
    let parts = otlp::request_parts(data).ok()?;
    if parts.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        let mut spans = Vec::with_capacity(part.spans.len());
        for buf in part.spans {
            let mut span = otlp::parse_span(buf, feedback_key).ok()?;
            otlp::check_events(&span).ok()?;
            let attributes = std::mem::take(&mut span.attributes);
            spans.push(plan(&span, attributes, now_ns, None, rows)?);
        }
        out.push((part.resource, spans));
    }
    Some(out)
}

/// What a planned payload makes.
struct Made<'a, 'py> {
    records: Vec<Bound<'py, PyAny>>,
    rows: Vec<Bound<'py, PyAny>>,
    /// the rows of summarised traces, when wanted as columns, each with the number of
    /// the payload's rows made as objects before it
    columns: Vec<(usize, span_row::RowValues<'a>)>,
    skips: usize,
    /// the payload's traces: their ids, and the summary of each that has one
    summaries: Vec<(trace_summary::TraceKey, Option<Bound<'py, PyAny>>)>,
}

/// A planned payload's records, rows and skips; None when a resource or a row declines
/// (as `decode_calls` would: the payload then goes that way).
fn build_payload<'a, 'py>(
    py: Python<'py>,
    plan: &'a PayloadPlan<'a>,
    classes: &Classes<'_, 'py>,
    maker: &trace_summary::SummaryMaker<'py>,
    source: &Bound<'py, PyString>,
) -> Option<Made<'a, 'py>> {
    let mut made = Made {
        records: Vec::new(),
        rows: Vec::new(),
        columns: Vec::new(),
        skips: 0,
        summaries: Vec::new(),
    };
    let mut resources = Vec::with_capacity(plan.len());
    for (resource, _) in plan {
        resources.push(otlp::resource_dict(py, *resource).ok()?);
    }
    let services: Vec<_> = resources.iter().map(|r| service_name(py, r)).collect();
    // The same names as the payload holds them, for the rows made as columns.
    let row_services: Vec<Option<&str>> = if classes.columns {
        plan.iter()
            .map(|(resource, _)| otlp::resource_service(*resource))
            .collect()
    } else {
        Vec::new()
    };
    if classes.summaries {
        made.summaries = trace_summary::payload_summaries(py, plan, &services, maker);
    }
    // Rows of a trace the core summarised are read by no Python code on the way to the
    // store (unless the stage turns the summary down): columns, not objects.
    let as_columns: Vec<trace_summary::TraceKey> = if classes.columns {
        made.summaries
            .iter()
            .filter(|(_, summary)| summary.is_some())
            .map(|(id, _)| *id)
            .collect()
    } else {
        Vec::new()
    };
    for (part, (((_, spans), resource), service)) in
        plan.iter().zip(&resources).zip(&services).enumerate()
    {
        for planned in spans {
            match planned {
                Planned::Skip => made.skips += 1,
                Planned::Call(call) => {
                    made.records.push(build(
                        py,
                        resource,
                        service.clone(),
                        call,
                        classes.record,
                        source,
                    )?);
                }
                Planned::Row(row)
                    if as_columns.contains(&trace_summary::trace_key(row.trace_id)) =>
                {
                    let before = made.rows.len();
                    made.columns
                        .push((before, span_row::values(py, *row_services.get(part)?, row)?));
                    made.skips += 1;
                }
                Planned::Row(row) => {
                    made.rows
                        .push(span_row::build(py, service.as_ref(), row, classes.span?)?);
                    made.skips += 1;
                }
            }
        }
    }
    Some(made)
}

/// `sniff_encoding`'s test for OTLP/JSON: ``{`` after ASCII whitespace (``\s`` of bytes).
fn json_start(data: &[u8]) -> bool {
    data.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .is_some_and(|&b| b == b'{')
}

/// `_call` of one span: its `CallRecord`, Python's None when it is not an LLM call (or,
/// with the row class, its row, None when it has none); None: Python finishes it.
fn call<'py>(
    py: Python<'py>,
    resource: &Bound<'py, PyDict>,
    span: &SpanFields<'_>,
    now_ns: u64,
    classes: &Classes<'_, 'py>,
    source: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    let attributes = span.attributes.clone();
    match plan(span, attributes, now_ns, Some(py), classes.span.is_some())? {
        Planned::Skip => Some(py.None().into_bound(py)),
        Planned::Call(plan) => {
            let service = service_name(py, resource);
            build(py, resource, service, &plan, classes.record, source)
        }
        Planned::Row(row) => {
            span_row::build(py, service_name(py, resource).as_ref(), &row, classes.span?)
        }
    }
}

/// What `_call` makes of a span, found without Python objects.
enum Planned<'a> {
    /// Not an LLM call: skipped (without a row: not wanted, or its ids or start time are
    /// unusable).
    Skip,
    Call(Box<Plan<'a>>),
    /// Not an LLM call: its row for the `spans` table.
    Row(span_row::RowPlan<'a>),
}

/// Every value of a call's record but the service name (read from the resource's dict).
struct Plan<'a> {
    /// the ids as they came (checked: 16 and 8 bytes; the parent any length)
    trace_id: &'a [u8],
    span_id: &'a [u8],
    parent: &'a [u8],
    start: u64,
    duration: u64,
    name: &'a str,
    route: Cow<'a, str>,
    operation: Cow<'a, str>,
    provider: Cow<'a, str>,
    request_model: Cow<'a, str>,
    response_model: Cow<'a, str>,
    input_text: Cow<'a, str>,
    output_text: Cow<'a, str>,
    input_messages: Cow<'a, str>,
    output_messages: Cow<'a, str>,
    input_tokens: u64,
    output_tokens: u64,
    finish_reasons: Vec<Cow<'a, str>>,
    contexts: Vec<Cow<'a, str>>,
    /// 1 OK, 2 ERROR, else UNSET.
    status: u8,
    message: &'a str,
    error_type: Cow<'a, str>,
    user_id: Cow<'a, str>,
    conversation_id: Cow<'a, str>,
    sample_rate: f64,
    extra: Vec<(&'a str, Cow<'a, str>)>,
}

/// `_call`'s reading of a span, up to the Python objects; None: Python's hand is needed.
/// Without ``py`` (the GIL released), a double attribute read as text declines too: its
/// text is Python's float formatting. ``rows``: plan the rows of the other spans too.
/// ``attributes``: the span's (its own buffer, which `Values` keeps).
fn plan<'a>(
    span: &SpanFields<'a>,
    attributes: Vec<(&'a str, Value<'a>)>,
    now_ns: u64,
    py: Option<Python<'_>>,
    rows: bool,
) -> Option<Planned<'a>> {
    if span.feedback {
        return None;
    }
    let values = Values::of(attributes)?;
    let kind = values.kind()?;
    if kind != LLM {
        if !rows {
            return Some(Planned::Skip);
        }
        return Some(span_row::plan(span, values, kind, now_ns));
    }
    if span.trace_id.len() != 16 || span.span_id.len() != 8 {
        return None; // rejected, with Python's reason and detail
    }
    if !(MIN_TIME_NS..=now_ns.saturating_add(MAX_CLOCK_SKEW_NS)).contains(&span.start) {
        return None;
    }
    let (input_messages, input_text, input_more) =
        values.messages(py, INPUT_MESSAGES, "llm.input_messages.", "user")?;
    let (output_messages, output_text, output_more) =
        values.messages(py, OUTPUT_MESSAGES, "llm.output_messages.", "assistant")?;
    // As `_call`: the messages JSON is kept only when it says more than the text.
    let input_messages = if input_more {
        input_messages
    } else {
        "".into()
    };
    let output_messages = if output_more {
        output_messages
    } else {
        "".into()
    };
    let input_text = or_else(input_text, || values.text(py, "input.value"))?;
    let output_text = or_else(output_text, || values.text(py, "output.value"))?;
    let error_type = values.text(py, ERROR_TYPE)?;
    let status = match span.code {
        1 => 1,
        2 => 2,
        _ if !error_type.is_empty() => 2,
        _ => 0,
    };
    Some(Planned::Call(Box::new(Plan {
        trace_id: span.trace_id,
        span_id: span.span_id,
        parent: span.parent,
        start: span.start,
        duration: span.end.saturating_sub(span.start),
        name: span.name,
        route: or_else(values.text(py, ROUTE)?, || Some(span.name.into()))?,
        operation: or_else(values.text(py, OPERATION_NAME)?, || Some("chat".into()))?,
        provider: text(
            py,
            values.first_truthy(&[PROVIDER_NAME, "gen_ai.system", "llm.provider", "llm.system"]),
        )?,
        request_model: text(py, values.first_truthy(&[REQUEST_MODEL, "llm.model_name"]))?,
        response_model: values.text(py, RESPONSE_MODEL)?,
        input_text,
        output_text,
        input_messages,
        output_messages,
        input_tokens: int(values.get_or(INPUT_TOKENS, "llm.token_count.prompt"))?,
        output_tokens: int(values.get_or(OUTPUT_TOKENS, "llm.token_count.completion"))?,
        finish_reasons: values.finish_reasons(py)?,
        contexts: values.contexts(py)?,
        status,
        message: span.message,
        error_type,
        user_id: values.text(py, USER_ID)?,
        conversation_id: text(py, values.first_truthy(&[CONVERSATION_ID, "session.id"]))?,
        sample_rate: sample_rate(values.get(SAMPLE_RATE))?,
        extra: values.extra(py)?,
    })))
}

/// The `CallRecord` of a planned call, of ``resource`` named ``service`` (None: its name
/// is not a string).
fn build<'py>(
    py: Python<'py>,
    resource: &Bound<'py, PyDict>,
    service: Option<Bound<'py, PyString>>,
    plan: &Plan<'_>,
    record: &Bound<'py, PyAny>,
    source: &Bound<'py, PyString>,
) -> Option<Bound<'py, PyAny>> {
    let service = service?;
    let attributes = PyDict::new(py);
    for (key, value) in &plan.extra {
        attributes
            .set_item(PyString::intern(py, key), PyString::new(py, value))
            .ok()?;
    }
    stamp_identity(resource, &attributes)?;
    let strings =
        |items: &[Cow<'_, str>]| PyList::new(py, items.iter().map(|s| PyString::new(py, s))).ok();
    let status = match plan.status {
        1 => intern!(py, "OK"),
        2 => intern!(py, "ERROR"),
        _ => intern!(py, "UNSET"),
    };
    let args: [Bound<'py, PyAny>; 28] = [
        otlp::py_hex(py, plan.trace_id).into_any(),
        otlp::py_hex(py, plan.span_id).into_any(),
        plan.start.into_pyobject(py).ok()?.into_any(),
        plan.duration.into_pyobject(py).ok()?.into_any(),
        otlp::py_hex(py, plan.parent).into_any(),
        service.into_any(),
        PyString::new(py, plan.name).into_any(),
        PyString::new(py, &plan.route).into_any(),
        PyString::new(py, &plan.operation).into_any(),
        PyString::new(py, &plan.provider).into_any(),
        PyString::new(py, &plan.request_model).into_any(),
        PyString::new(py, &plan.response_model).into_any(),
        PyString::new(py, &plan.input_text).into_any(),
        PyString::new(py, &plan.output_text).into_any(),
        PyString::new(py, &plan.input_messages).into_any(),
        PyString::new(py, &plan.output_messages).into_any(),
        plan.input_tokens.into_pyobject(py).ok()?.into_any(),
        plan.output_tokens.into_pyobject(py).ok()?.into_any(),
        strings(&plan.finish_reasons)?.into_any(),
        strings(&plan.contexts)?.into_any(),
        status.clone().into_any(),
        PyString::new(py, plan.message).into_any(),
        PyString::new(py, &plan.error_type).into_any(),
        PyString::new(py, &plan.user_id).into_any(),
        PyString::new(py, &plan.conversation_id).into_any(),
        PyFloat::new(py, plan.sample_rate).into_any(),
        source.clone().into_any(),
        attributes.into_any(),
    ];
    record.call1(PyTuple::new(py, args).ok()?).ok()
}

/// `str(resource.get("service.name", ""))`, exact only for a string (None: Python).
fn service_name<'py>(
    py: Python<'py>,
    resource: &Bound<'py, PyDict>,
) -> Option<Bound<'py, PyString>> {
    Some(match resource.get_item(intern!(py, SERVICE_NAME)).ok()? {
        None => PyString::new(py, ""),
        Some(name) => name.cast_exact::<PyString>().ok()?.clone(),
    })
}

const RELEASE_KEY: &str = "service.version";
const DEPLOY_KEY: &str = "deployment.id";
const DEPLOY_ALIAS: &str = "watchkeeper.deploy.id";
const IDENTITY_CHARS: usize = 128;

/// The app's release and deploy id, copied from the resource into the call's attributes
/// unless the span set them, as `versions/identity.py`'s `stamp_identity` does (None:
/// a value is not a string, and Python decides).
fn stamp_identity(resource: &Bound<'_, PyDict>, attributes: &Bound<'_, PyDict>) -> Option<()> {
    let (resource_release, resource_deploy) = identity(resource)?;
    let (own_release, own_deploy) = identity(attributes)?;
    let release = own_release.or(resource_release);
    let deploy = own_deploy.or(resource_deploy);
    if release.is_none() && deploy.is_none() {
        return Some(());
    }
    if let Some(release) = release {
        attributes.set_item(RELEASE_KEY, release).ok()?;
    }
    if let Some(deploy) = deploy {
        attributes.set_item(DEPLOY_KEY, deploy).ok()?;
    }
    if attributes.contains(DEPLOY_ALIAS).ok()? {
        attributes.del_item(DEPLOY_ALIAS).ok()?;
    }
    Some(())
}

/// `identity()` of `versions/identity.py`: the release and the first deploy id given.
fn identity(values: &Bound<'_, PyDict>) -> Option<(Option<String>, Option<String>)> {
    let release = identity_text(values, RELEASE_KEY)?;
    let deploy = match identity_text(values, DEPLOY_KEY)? {
        Some(deploy) => Some(deploy),
        None => identity_text(values, DEPLOY_ALIAS)?,
    };
    Some((release, deploy))
}

/// The first 128 characters of a non-empty string value (Some(None): absent or empty;
/// None: not a string).
fn identity_text(values: &Bound<'_, PyDict>, key: &str) -> Option<Option<String>> {
    match values.get_item(key).ok()? {
        None => Some(None),
        Some(value) => {
            let text = value.cast_exact::<PyString>().ok()?.to_str().ok()?;
            Some((!text.is_empty()).then(|| text.chars().take(IDENTITY_CHARS).collect()))
        }
    }
}

/// Python's `a or b` for texts.
fn or_else<'a>(
    first: Cow<'a, str>,
    second: impl FnOnce() -> Option<Cow<'a, str>>,
) -> Option<Cow<'a, str>> {
    if first.is_empty() {
        second()
    } else {
        Some(first)
    }
}

/// The span's attributes as `_attributes` makes the dict: one entry per key, where the key
/// first came, holding its last set value (unset values set nothing).
struct Values<'a> {
    entries: Vec<(&'a str, Value<'a>)>,
}

impl<'a> Values<'a> {
    /// None when a value is nested or holds anything but strings: Python converts those
    /// (and checks their nesting). The entries are made in the attributes' own buffer.
    fn of(attributes: Vec<(&'a str, Value<'a>)>) -> Option<Self> {
        if attributes.len() > MAX_ATTRIBUTES {
            return None;
        }
        let mut entries = attributes;
        let mut kept = 0;
        for at in 0..entries.len() {
            let (key, value) = entries[at];
            match value {
                Value::Unset => continue,
                Value::KvList(_) => return None,
                Value::Array(buf) => {
                    string_items(buf)?;
                }
                _ => {}
            }
            match entries[..kept].iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => {
                    entries[kept] = (key, value);
                    kept += 1;
                }
            }
        }
        entries.truncate(kept);
        Some(Values { entries })
    }

    fn get(&self, key: &str) -> Option<Value<'a>> {
        self.entries
            .iter()
            .find(|(k, _)| *k == key)
            .map(|&(_, value)| value)
    }

    /// `values.get(key, values.get(fallback))`.
    fn get_or(&self, key: &str, fallback: &str) -> Option<Value<'a>> {
        self.get(key).or_else(|| self.get(fallback))
    }

    /// `values.get(a) or values.get(b) or ...`: the first truthy value, else the last one.
    fn first_truthy(&self, keys: &[&str]) -> Option<Value<'a>> {
        let mut last = None;
        for key in keys {
            last = self.get(key);
            if last.is_some_and(truthy) {
                break;
            }
        }
        last
    }

    fn text(&self, py: Option<Python<'_>>, key: &str) -> Option<Cow<'a, str>> {
        text(py, self.get(key))
    }

    /// `traces.kinds.span_kind`: the span's kind (`is_llm_span`: it is `LLM`); None when
    /// Python decides (an OpenInference kind beyond ASCII, which `str.upper` may map to
    /// ASCII: "ı" to "I").
    fn kind(&self) -> Option<&'static str> {
        let operation = self.get(OPERATION_NAME);
        if let Some(kind) = operation.and_then(|op| match op {
            Value::Str(op) => lookup(&OPERATION_KINDS, op),
            _ => None,
        }) {
            return Some(kind);
        }
        match self.get(SPAN_KIND) {
            Some(Value::Str(kind)) if !kind.is_ascii() => return None,
            Some(Value::Str(kind)) => {
                if let Some(&(_, kind)) = OPENINFERENCE_KINDS
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(kind))
                {
                    return Some(kind);
                }
            }
            _ => {}
        }
        if let Some(Value::Str(own)) = self.get(OWN_SPAN_KIND)
            && let Some(&kind) = KINDS.iter().find(|&&kind| kind == own)
        {
            return Some(kind);
        }
        // A GenAI operation no table names yet (bytes are a hex string in Python), or a
        // GenAI span without one: an LLM call.
        let named = matches!(operation, Some(Value::Str(_) | Value::Bytes(_)));
        if named || self.entries.iter().any(|(k, _)| k.starts_with("gen_ai.")) {
            return Some(LLM);
        }
        Some(OTHER)
    }

    /// The messages JSON of one side (GenAI key, else OpenInference's flattened keys), and
    /// `_messages_text` of it: (messages, text, whether the messages say more).
    fn messages(
        &self,
        py: Option<Python<'_>>,
        key: &str,
        prefix: &str,
        role: &str,
    ) -> Option<(Cow<'a, str>, Cow<'a, str>, bool)> {
        let json = self.text(py, key)?;
        if json.is_empty() {
            return self.openinference_messages(py, prefix, role);
        }
        let (text, more) = match json {
            Cow::Borrowed(json) => messages_text(json, role)?,
            Cow::Owned(ref json) => {
                let (text, more) = messages_text(json, role)?;
                (Cow::Owned(text.into_owned()), more)
            }
        };
        Some((json, text, more))
    }

    /// `_openinference_messages` and `_messages_text` of its JSON, which is built only when
    /// kept (when there is more than one message).
    fn openinference_messages(
        &self,
        py: Option<Python<'_>>,
        prefix: &str,
        role: &str,
    ) -> Option<(Cow<'a, str>, Cow<'a, str>, bool)> {
        // index -> (role, content), later keys overwriting earlier ones as in the dict.
        let mut found: BTreeMap<u64, [Option<Cow<'a, str>>; 2]> = BTreeMap::new();
        for &(key, value) in &self.entries {
            let Some(rest) = key.strip_prefix(prefix) else {
                continue;
            };
            let (index, field) = split_infix(rest, ".message.").unwrap_or((rest, ""));
            if field != "role" && field != "content" {
                continue;
            }
            let Some(index) = index_of(index)? else {
                continue;
            };
            found.entry(index).or_default()[usize::from(field == "content")] =
                Some(text(py, Some(value))?);
        }
        if found.is_empty() {
            return Some(("".into(), "".into(), false));
        }
        // Each message is one text part: the text is the last wanted one's content.
        let more = found.len() != 1;
        let text = found
            .values()
            .rev()
            .find(|[r, _]| r.as_deref().unwrap_or("") == role)
            .map(|[_, content]| content.clone().unwrap_or_default());
        let more = more || text.is_none();
        let mut json = String::new();
        if more {
            json.push('[');
            for (i, [r, content]) in found.values().enumerate() {
                json.push_str(if i == 0 {
                    "{\"role\": "
                } else {
                    ", {\"role\": "
                });
                quote(r.as_deref().unwrap_or(""), &mut json);
                json.push_str(", \"parts\": [{\"type\": \"text\", \"content\": ");
                quote(content.as_deref().unwrap_or(""), &mut json);
                json.push_str("}]}");
            }
            json.push(']');
        }
        Some((json.into(), text.unwrap_or_default(), more))
    }

    /// `[str(v) for v in _as_list(values.get(FINISH_REASONS))]`.
    fn finish_reasons(&self, py: Option<Python<'_>>) -> Option<Vec<Cow<'a, str>>> {
        match self.get(FINISH_REASONS) {
            None => Some(Vec::new()),
            Some(Value::Array(buf)) => string_items(buf),
            value => Some(vec![text(py, value)?]),
        }
    }

    /// `_contexts`.
    fn contexts(&self, py: Option<Python<'_>>) -> Option<Vec<Cow<'a, str>>> {
        let documents = self.get(RETRIEVAL_DOCUMENTS);
        if matches!(documents, Some(Value::Bytes(b)) if !b.is_empty()) {
            return None; // a hex string to Python, which reads it as JSON
        }
        if let Some(Value::Str(raw)) = documents
            && !raw.is_empty()
        {
            let Json::Array(documents) = parse_json(raw)? else {
                return Some(Vec::new());
            };
            let mut out = Vec::new();
            for doc in &documents {
                match doc {
                    // `_text(doc.get("content", ""))`
                    Json::Object(_) => out.push(Cow::Owned(match doc.get("content") {
                        None | Some(Json::Null) => String::new(),
                        Some(Json::Str(s)) => s.to_string(),
                        Some(Json::Bool(b)) => (if *b { "True" } else { "False" }).to_string(),
                        Some(content) => {
                            let mut text = String::new();
                            dump(content, &mut text)?;
                            text
                        }
                    })),
                    Json::Str(s) => out.push(Cow::Owned(s.to_string())),
                    _ => {}
                }
            }
            return Some(out);
        }
        if self.get(SPAN_KIND).is_none() {
            return Some(Vec::new());
        }
        let mut indexed = Vec::new();
        for &(key, value) in &self.entries {
            let Some(middle) = key
                .strip_prefix("retrieval.documents.")
                .and_then(|rest| rest.strip_suffix(".document.content"))
            else {
                continue;
            };
            if let Some(index) = index_of(middle)? {
                indexed.push((index, text(py, Some(value))?));
            }
        }
        indexed.sort();
        Some(indexed.into_iter().map(|(_, text)| text).collect())
    }

    /// The `attributes` map: untyped keys, their texts cut to `MAX_ATTRIBUTE_CHARS`.
    fn extra(&self, py: Option<Python<'_>>) -> Option<Vec<(&'a str, Cow<'a, str>)>> {
        let mut out = Vec::new();
        for &(key, value) in &self.entries {
            if TYPED.contains(&key) || UNTYPED_BODIES.iter().any(|p| key.starts_with(p)) {
                continue;
            }
            let text = text(py, Some(value))?;
            // `[:MAX_ATTRIBUTE_CHARS]` counts characters; never more of them than bytes.
            let cut = if text.len() > MAX_ATTRIBUTE_CHARS {
                let nth = text.char_indices().nth(MAX_ATTRIBUTE_CHARS);
                nth.map_or(text.len(), |(end, _)| end)
            } else {
                text.len()
            };
            out.push((key, slice(text, cut)));
        }
        Some(out)
    }
}

/// The first ``end`` bytes of a text.
fn slice(text: Cow<'_, str>, end: usize) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..end]),
        Cow::Owned(mut s) => {
            s.truncate(end);
            Cow::Owned(s)
        }
    }
}

/// `str::split_once` at an ASCII ``infix``, without setting up a substring searcher for
/// each key (which cost more than the search does on these keys): a byte at a time, as
/// the keys are a few dozen bytes.
fn split_infix<'s>(text: &'s str, infix: &str) -> Option<(&'s str, &'s str)> {
    let (bytes, wanted) = (text.as_bytes(), infix.as_bytes());
    let first = *wanted.first()?;
    let last = bytes.len().checked_sub(wanted.len())?;
    let at = (0..=last).find(|&at| bytes[at] == first && bytes[at..].starts_with(wanted))?;
    Some((&text[..at], &text[at + wanted.len()..]))
}

/// The strings of an `ArrayValue`, or None when it holds anything else.
fn string_items(buf: &[u8]) -> Option<Vec<Cow<'_, str>>> {
    let mut items = Vec::new();
    otlp::for_each_value(buf, |item| match otlp::any_value(item)? {
        Value::Str(s) => {
            items.push(Cow::Borrowed(s));
            Ok(())
        }
        _ => Err(otlp::Decline),
    })
    .ok()?;
    Some(items)
}

/// The index in an OpenInference key (`<prefix><index>.…`), as `str.isdigit` then `int`
/// read it: Some(None) when it is not one, None (Python) for digits beyond ASCII or beyond
/// 18 of them.
fn index_of(digits: &str) -> Option<Option<u64>> {
    if digits.is_empty() {
        return Some(None);
    }
    if !digits.is_ascii() {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(None);
    }
    if digits.len() > 18 {
        return None;
    }
    Some(digits.parse().ok())
}

/// Python's truth value of an attribute value.
fn truthy(value: Value<'_>) -> bool {
    match value {
        Value::Unset => false,
        Value::Str(s) => !s.is_empty(),
        Value::Bool(b) => b,
        Value::Int(i) => i != 0,
        Value::StrIndex(i) => i != 0,
        Value::Double(d) => d != 0.0, // NaN is true, as in Python
        Value::Bytes(b) => !b.is_empty(),
        // An empty list is false; the message may still hold bytes (unknown fields).
        Value::Array(b) | Value::KvList(b) => string_items(b).is_none_or(|items| !items.is_empty()),
    }
}

/// `_text` of an attribute value (None: absent).
fn text<'a>(py: Option<Python<'_>>, value: Option<Value<'a>>) -> Option<Cow<'a, str>> {
    Some(match value {
        None | Some(Value::Unset) => Cow::Borrowed(""),
        Some(Value::Str(s)) => Cow::Borrowed(s),
        Some(Value::Bool(b)) => Cow::Borrowed(if b { "True" } else { "False" }),
        Some(Value::Int(i)) => Cow::Owned(i.to_string()),
        Some(Value::StrIndex(i)) => Cow::Owned(i.to_string()),
        // Python's own float formatting (shortest repr, "inf", "1e+300" ...).
        Some(Value::Double(d)) => {
            Cow::Owned(PyFloat::new(py?, d).str().ok()?.to_cow().ok()?.into_owned())
        }
        Some(Value::Bytes(b)) => Cow::Owned(otlp::hex(b)),
        Some(Value::Array(buf)) => {
            let mut out = String::from("[");
            for (i, item) in string_items(buf)?.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                quote(item, &mut out);
            }
            out.push(']');
            Cow::Owned(out)
        }
        Some(Value::KvList(_)) => return None,
    })
}

/// `_int`: clamped to `[0, 2**32 - 1]`; only plain decimal strings are read here.
fn int(value: Option<Value<'_>>) -> Option<u64> {
    let n: i128 = match value {
        None => 0,
        Some(Value::Int(i)) => i.into(),
        Some(Value::StrIndex(i)) => i.into(),
        Some(Value::Bool(b)) => b.into(),
        Some(Value::Str("")) => 0, // `int("")` raises ValueError: 0
        Some(Value::Str(s)) => {
            let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
            if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None; // whitespace, "_", digits beyond ASCII, 4300+ digits: Python
            }
            s.parse().ok()?
        }
        _ => return None,
    };
    Some(n.clamp(0, u32::MAX.into()) as u64)
}

/// `_float(value, default=1.0)`: a rate in (0, 1], else 1.0.
fn sample_rate(value: Option<Value<'_>>) -> Option<f64> {
    let rate = match value {
        // `float()` of an integer or a bool lies in (0, 1] only for 1.
        None | Some(Value::Int(_) | Value::StrIndex(_) | Value::Bool(_)) => return Some(1.0),
        Some(Value::Double(d)) => d,
        Some(Value::Str(s)) if plain_decimal(s) => s.parse().ok()?,
        _ => return None,
    };
    Some(if 0.0 < rate && rate <= 1.0 { rate } else { 1.0 })
}

/// `[+-]digits[.digits][(e|E)[+-]digits]`, at least one mantissa digit: a float literal that
/// Python's `float()` and Rust's `parse` both read, both correctly rounded (Python also
/// takes spaces, "_", "inf" ... : those are left to it).
fn plain_decimal(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let whole = digits(0);
    let mut i = whole;
    let mut fraction = 0;
    if b.get(i) == Some(&b'.') {
        fraction = digits(i + 1);
        i += 1 + fraction;
    }
    if whole + fraction == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent = digits(i);
        if exponent == 0 {
            return false;
        }
        i += exponent;
    }
    i == b.len()
}

/// `_messages_text` of a messages JSON: the text parts of the last message with the wanted
/// role, and whether the messages say more than that text.
fn messages_text<'s>(json: &'s str, role: &str) -> Option<(Cow<'s, str>, bool)> {
    let Json::Array(messages) = parse_json(json)? else {
        return Some(("".into(), true));
    };
    let more = messages.len() != 1;
    for message in messages.iter().rev() {
        let Json::Object(keys) = message else {
            continue;
        };
        if !matches!(message.get("role"), Some(Json::Str(r)) if r == role) {
            continue;
        }
        let Some(Json::Array(parts)) = message.get("parts") else {
            let content = match message.get("content") {
                Some(Json::Str(s)) => s.clone(),
                _ => "".into(),
            };
            return Some((content, true));
        };
        let mut texts: Vec<Cow<'s, str>> = Vec::with_capacity(parts.len());
        for part in parts {
            let Json::Object(_) = part else { continue };
            match part.get("type") {
                None => {}
                Some(Json::Str(t)) if t == "text" => {}
                _ => continue,
            }
            // `str(part.get("content", ""))`
            texts.push(match part.get("content") {
                None => "".into(),
                Some(Json::Str(s)) => s.clone(),
                Some(Json::Null) => "None".into(),
                Some(Json::Bool(b)) => (if *b { "True" } else { "False" }).into(),
                Some(Json::Int(i)) => i.to_string().into(),
                Some(_) => return None, // Python's repr of a list or dict
            });
        }
        let finish = usize::from(message.get("finish_reason").is_some());
        let more = more || texts.len() != parts.len() || keys.len() > 2 + finish;
        let text = if texts.len() == 1 {
            texts.pop().unwrap_or_default()
        } else {
            texts.join("\n").into()
        };
        return Some((text, more));
    }
    Some(("".into(), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_text_keeps_what_says_more() {
        let one = r#"[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]"#;
        assert_eq!(
            messages_text(one, "user").map(|(t, m)| (t.into_owned(), m)),
            Some(("hi".into(), false))
        );
        let two = r#"[{"role": "system", "content": "x"}, {"role": "user", "parts": [{"content": "a"}, {"type": "text", "content": "b"}]}]"#;
        assert_eq!(
            messages_text(two, "user").map(|(t, m)| (t.into_owned(), m)),
            Some(("a\nb".into(), true))
        );
        assert_eq!(
            messages_text("{}", "user").map(|(t, m)| (t.into_owned(), m)),
            Some(("".into(), true))
        );
    }

    #[test]
    fn floats_are_left_to_python_unless_plain() {
        for plain in ["1.0", "0.25", ".5", "1.", "-0", "1e-3", "+2E+2"] {
            assert!(plain_decimal(plain), "{plain}");
        }
        for other in [
            "", ".", "e1", "1e", " 1", "1_0", "inf", "nan", "1.0.0", "--1",
        ] {
            assert!(!plain_decimal(other), "{other}");
        }
    }

    #[test]
    fn split_infix_splits_as_split_once() {
        for text in [
            "0.document.content",
            "a.b.document.x",
            ".document.",
            "x",
            "é.document.",
            "1.document.document.2",
        ] {
            assert_eq!(
                split_infix(text, ".document."),
                text.split_once(".document.")
            );
        }
    }

    #[test]
    fn ints_are_clamped_as_python_does() {
        assert_eq!(int(Some(Value::Int(-5))), Some(0));
        assert_eq!(int(Some(Value::Int(i64::MAX))), Some(u64::from(u32::MAX)));
        assert_eq!(int(Some(Value::Str("+125"))), Some(125));
        assert_eq!(int(Some(Value::Str(" 1"))), None);
    }
}
