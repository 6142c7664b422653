//! The trajectory signals of a trace whose spans all came in one payload, found in the same
//! pass that makes its records and rows: the twin of `trajectory_signals` of
//! `watchkeeper/collector/traces/signals/trajectory.py` on the trace the signal stage would
//! assemble (`OpenTraces`, `assemble`, `steps`), for the pipeline's thread to skip holding,
//! assembling and scoring it in Python.
//!
//! As everywhere in the core, anything this code is not sure to reproduce gives no summary
//! and the Python stage scores the trace: a trace without a root, a span id twice, a
//! retrieval (its RAG signals are Python's), a session (its turn is scored in Python), a
//! declared tool schema, tool arguments this JSON reader leaves to Python, a token count
//! that is not plain digits, texts near the stage's bounds.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyString, PyTuple};

use super::json::{Json, float_value, parse_json, quote};
use super::span_row::{self, INPUT_KEYS, MAX_ATTRIBUTE_CHARS, MAX_VALUE_CHARS, OUTPUT_KEYS};
use super::{PayloadPlan, Plan, Planned, Values};
use crate::otlp::{self, Value};

/// `OpenTraces.max_text_chars`: the stage reads texts cut there (the caller checks it).
const STAGE_TEXT_CHARS: usize = 2000;
/// Tokens beyond 2**53 are not exact through Python's `float`.
const MAX_TOKENS: u64 = 1 << 53;
/// `LOOP_REPEATS` and `MAX_LOOP_PERIOD` of trajectory.py.
const LOOP_REPEATS: usize = 3;
const MAX_LOOP_PERIOD: usize = 3;

const TOOL: &str = "tool";
const AGENT: &str = "agent";
const CHAIN: &str = "chain";
const LLM: &str = "llm";
const RETRIEVAL: &str = "retrieval";

/// The names `trajectory` gives its values (as stored), interned once; a value names its
/// signal by its place here, which is also the order `trajectory` gives them in.
const SIGNALS: [&str; 9] = [
    "trajectory.tool_error",
    "trajectory.steps",
    "trajectory.no_answer",
    "trajectory.ended_after_tool_error",
    "trajectory.answer_after_tool_error",
    "trajectory.tool_error_rate",
    "trajectory.repeated_tool_calls",
    "trajectory.tool_loop",
    "trajectory.tokens",
];
const TOOL_ERROR: usize = 0;
const STEPS: usize = 1;
const NO_ANSWER: usize = 2;
const ENDED_AFTER_TOOL_ERROR: usize = 3;
const ANSWER_AFTER_TOOL_ERROR: usize = 4;
const TOOL_ERROR_RATE: usize = 5;
const REPEATED_TOOL_CALLS: usize = 6;
const TOOL_LOOP: usize = 7;
const TOKENS: usize = 8;

/// What the signals read of one span.
pub(super) struct Step<'a> {
    /// ids as they came (16 and 8 bytes: hex keeps their order)
    trace_id: &'a [u8],
    span_id: &'a [u8],
    root: bool,
    kind: &'static str,
    start: u64,
    end: u64,
    error: bool,
    /// OK, ERROR or UNSET
    status: &'static str,
    name: &'a str,
    /// whether its output, as the stage holds it (cut), has more than spaces
    answers: bool,
    /// a tool's arguments as the stage holds them; None: cut there
    input: Option<&'a str>,
    tool_name: &'a str,
    tokens: u64,
    /// `watchkeeper.route` (a call's route; a row's attribute)
    route: &'a str,
    /// an agent's `gen_ai.agent.name`
    agent: &'a str,
    call: bool,
}

/// One span of a trace: its step, or why the trace goes to Python.
pub(super) fn step<'a>(planned: &'a Planned<'a>) -> Option<Option<Step<'a>>> {
    match planned {
        Planned::Skip => Some(None), // no row, no record: the stage never sees it
        Planned::Call(call) => call_step(call).map(Some),
        Planned::Row(row) => row_step(row).map(Some),
    }
}

fn call_step<'a>(call: &'a Plan<'a>) -> Option<Step<'a>> {
    if !call.conversation_id.is_empty() || call.extra.iter().any(|(k, _)| python_key(k)) {
        return None;
    }
    let tokens = call.input_tokens.checked_add(call.output_tokens)?;
    if call.input_tokens >= MAX_TOKENS || call.output_tokens >= MAX_TOKENS {
        return None;
    }
    Some(Step {
        trace_id: call.trace_id,
        span_id: call.span_id,
        root: call.parent.is_empty(),
        kind: LLM,
        start: call.start,
        end: call.start + call.duration,
        error: call.status == 2,
        status: status(call.status),
        name: call.name,
        answers: answers(&call.output_text),
        input: None,
        tool_name: "",
        tokens,
        route: &call.route,
        agent: "",
        call: true,
    })
}

fn status(code: u8) -> &'static str {
    match code {
        1 => "OK",
        2 => "ERROR",
        _ => "UNSET",
    }
}

fn row_step<'a>(row: &'a super::span_row::RowPlan<'a>) -> Option<Step<'a>> {
    let values = &row.values;
    if row.kind == RETRIEVAL || !within_budget(values) {
        return None;
    }
    if values.entries.iter().any(|(k, _)| python_key(k)) {
        return None;
    }
    let status = span_row::status(row);
    let tool = row.kind == TOOL;
    let input = if tool {
        first_str(values, &INPUT_KEYS)?
    } else {
        ""
    };
    Some(Step {
        trace_id: row.trace_id,
        span_id: row.span_id,
        root: row.parent.is_empty(),
        kind: row.kind,
        start: row.start,
        end: row.start.max(row.end),
        error: status == "ERROR",
        status,
        name: row.name,
        answers: answers(first_str(values, &OUTPUT_KEYS)?),
        input: (input.len() <= STAGE_TEXT_CHARS).then_some(input),
        tool_name: if tool {
            first_truthy_str(values, &["gen_ai.tool.name", "tool.name"])?
        } else {
            ""
        },
        tokens: if tool { row_tokens(values)? } else { 0 },
        route: first_truthy_str(values, &["watchkeeper.route"])?,
        agent: if row.kind == AGENT {
            first_truthy_str(values, &["gen_ai.agent.name"])?
        } else {
            ""
        },
        call: false,
    })
}

/// A key whose presence leaves the trace to Python (a session, a declared tool schema, an
/// OpenInference tool definition): a match on the literal keys compares lengths first.
fn python_key(key: &str) -> bool {
    matches!(
        key,
        "gen_ai.conversation.id"
            | "session.id"
            | "tool.parameters"
            | "tool.json_schema"
            | "gen_ai.tool.parameters"
            | "gen_ai.tool.definitions"
    ) || key.starts_with("llm.tools.")
}

/// Whether `_bounded_attributes` keeps every attribute: their keys and texts (counted in
/// bytes, never fewer than characters; a value that is not a string at its longest text)
/// stay under the budget.
fn within_budget(values: &Values<'_>) -> bool {
    let mut total = 0usize;
    for (key, value) in &values.entries {
        total += key.len()
            + match value {
                Value::Str(s) => s.len(),
                Value::Bytes(b) | Value::Array(b) | Value::KvList(b) => 2 * b.len() + 16,
                _ => 32,
            };
    }
    total < MAX_ATTRIBUTE_CHARS
}

/// `_first_text` of string values (None: a value of another type, left to Python).
fn first_str<'a>(values: &Values<'a>, keys: &[&str]) -> Option<&'a str> {
    for key in keys {
        match values.get(key) {
            None | Some(Value::Str("")) => {}
            Some(Value::Str(s)) => return Some(s),
            Some(_) => return None,
        }
    }
    Some("")
}

/// The first truthy string of ``keys`` as the row's attributes hold it (""; None: a value
/// of another type, or long enough to be cut).
fn first_truthy_str<'a>(values: &Values<'a>, keys: &[&str]) -> Option<&'a str> {
    for key in keys {
        match values.get(key) {
            None | Some(Value::Str("")) => {}
            Some(Value::Str(s)) if s.len() <= MAX_VALUE_CHARS => return Some(s),
            Some(_) => return None,
        }
    }
    Some("")
}

/// `steps.tokens` of a row: input plus output, each the GenAI key's count, else
/// OpenInference's (None: a count `float()` might read otherwise).
fn row_tokens(values: &Values<'_>) -> Option<u64> {
    let mut sum = 0u64;
    for (ours, theirs) in [
        ("gen_ai.usage.input_tokens", "llm.token_count.prompt"),
        ("gen_ai.usage.output_tokens", "llm.token_count.completion"),
    ] {
        let n = match count(values.get(ours))? {
            0 => count(values.get(theirs))?,
            n => n,
        };
        sum += n;
    }
    (sum < MAX_TOKENS).then_some(sum)
}

fn count(value: Option<Value<'_>>) -> Option<u64> {
    match value {
        None | Some(Value::Str("")) => Some(0),
        Some(Value::Int(i)) => Some(u64::try_from(i).unwrap_or(0).min(MAX_TOKENS)),
        Some(Value::Str(s)) if s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// Python's `str.isspace` for the characters `str.strip` removes.
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Whether the text the stage holds (its first `STAGE_TEXT_CHARS` characters) has more
/// than spaces.
fn answers(text: &str) -> bool {
    text.chars().take(STAGE_TEXT_CHARS).any(|c| !py_space(c))
}

/// The trajectory signals of one trace, with what the stage stores them on.
pub(super) struct Summary<'a> {
    pub(super) trace_id: &'a [u8],
    pub(super) spans: usize,
    pub(super) start: u64,
    /// `trajectory_signals`, named as stored (`trajectory.*`), in its order
    pub(super) values: Vec<(usize, f64)>,
    pub(super) top: Top<'a>,
}

/// The trace's top span (its root) and its key's route and agent.
pub(super) struct Top<'a> {
    pub(super) span_id: &'a [u8],
    pub(super) call: bool,
    pub(super) start: u64,
    pub(super) duration: u64,
    pub(super) name: &'a str,
    pub(super) status: &'static str,
    pub(super) route: &'a str,
    pub(super) agent: &'a str,
    /// index of the resource part whose service name the top span has
    pub(super) part: usize,
}

/// The steps of a payload (with the index of each one's resource part) by trace id, in
/// the order traces first came.
pub(super) type Traces<'a> = Vec<(&'a [u8], Vec<(usize, Step<'a>)>)>;

/// A payload's steps grouped by trace; None when some span needs Python.
pub(super) fn payload_steps<'a>(parts: &'a [(usize, &'a Planned<'a>)]) -> Option<Traces<'a>> {
    let mut traces: Traces<'a> = Vec::new();
    for &(part, planned) in parts {
        let Some(step) = step(planned)? else {
            continue;
        };
        match traces.iter_mut().find(|(id, _)| *id == step.trace_id) {
            Some((_, steps)) => steps.push((part, step)),
            None => {
                // Payloads hold one trace as a rule: room for all their spans at once.
                let trace_id = step.trace_id;
                let mut steps = Vec::with_capacity(parts.len());
                steps.push((part, step));
                traces.push((trace_id, steps));
            }
        }
    }
    Some(traces)
}

/// The summary of a trace's steps, or None: the stage scores it in Python (no root, a
/// span id twice, arguments to read in Python ...).
pub(super) fn summarise<'a>(
    trace_id: &'a [u8],
    steps: Vec<(usize, Step<'a>)>,
) -> Option<Summary<'a>> {
    let mut steps = steps;
    steps.sort_by(|a, b| (a.1.start, a.1.span_id).cmp(&(b.1.start, b.1.span_id)));
    if steps.windows(2).any(|w| w[0].1.span_id == w[1].1.span_id) {
        return None;
    }
    let (part, root) = steps.iter().find(|(_, s)| s.root)?;
    let ordered: Vec<&Step<'a>> = steps.iter().map(|(_, s)| s).collect();
    let agent = ordered
        .iter()
        .find(|s| s.kind == AGENT)
        .map_or("", |s| if s.agent.is_empty() { s.name } else { s.agent });
    let route = if root.route.is_empty() {
        root.name
    } else {
        root.route
    };
    let values = trajectory(&ordered, root)?;
    if values.is_empty() && steps.len() == 1 {
        // A call alone: the stage marks it complete at less cost than a summary's.
        return None;
    }
    Some(Summary {
        trace_id,
        spans: steps.len(),
        start: steps[0].1.start,
        values,
        top: Top {
            span_id: root.span_id,
            call: root.call,
            start: root.start,
            duration: root.end - root.start,
            name: root.name,
            status: root.status,
            route,
            agent,
            part: *part,
        },
    })
}

/// `trajectory_signals` (None: Python's reading of some tool arguments is needed).
fn trajectory(ordered: &[&Step<'_>], top: &Step<'_>) -> Option<Vec<(usize, f64)>> {
    let tools: Vec<&Step<'_>> = ordered.iter().copied().filter(|s| s.kind == TOOL).collect();
    let taken: Vec<&Step<'_>> = ordered
        .iter()
        .copied()
        .filter(|s| s.kind == TOOL || s.kind == LLM)
        .collect();
    if tools.is_empty() && !ordered.iter().any(|s| s.kind == AGENT) {
        return Some(Vec::new());
    }
    let failed = tools.iter().filter(|t| t.error).count();
    let answered = answered(ordered, top);
    let mut found = Vec::with_capacity(SIGNALS.len());
    found.extend([
        (TOOL_ERROR, f(failed > 0)),
        (STEPS, taken.len() as f64),
        (NO_ANSWER, f(!answered)),
        (
            ENDED_AFTER_TOOL_ERROR,
            f(failed > 0 && ended_after_tool_error(&taken)),
        ),
        (
            ANSWER_AFTER_TOOL_ERROR,
            f(answered && failed > 0 && unrecovered(&tools)),
        ),
    ]);
    if !tools.is_empty() {
        let calls = tool_calls(&tools)?;
        let distinct = {
            let mut sorted: Vec<&(&str, String)> = calls.iter().collect();
            sorted.sort();
            sorted.dedup();
            sorted.len()
        };
        found.push((TOOL_ERROR_RATE, failed as f64 / tools.len() as f64));
        found.push((REPEATED_TOOL_CALLS, (calls.len() - distinct) as f64));
        found.push((TOOL_LOOP, f(loops(&calls))));
    }
    let used: u64 = taken.iter().map(|s| s.tokens).sum();
    if used > 0 {
        found.push((TOKENS, used as f64));
    }
    Some(found)
}

fn f(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Whether `steps.answer` has more than spaces: the top span's output when it answers,
/// else the output of the last LLM call that ended (without failing).
fn answered(ordered: &[&Step<'_>], top: &Step<'_>) -> bool {
    if matches!(top.kind, AGENT | CHAIN | LLM) && top.answers {
        return true;
    }
    // `sorted` by (end, start) is stable: among equals the later in start order is last.
    ordered
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == LLM && !s.error)
        .max_by_key(|(i, s)| (s.end, s.start, *i))
        .is_some_and(|(_, s)| s.answers)
}

/// The step that ended last (the first of equals, as `max`) is a failed tool call.
fn ended_after_tool_error(taken: &[&Step<'_>]) -> bool {
    let mut last: Option<&Step<'_>> = None;
    for step in taken {
        if last.is_none_or(|l| (step.end, step.start) > (l.end, l.start)) {
            last = Some(step);
        }
    }
    last.is_some_and(|l| l.kind == TOOL && l.error)
}

fn tool_name<'a>(tool: &'a Step<'a>) -> &'a str {
    if tool.tool_name.is_empty() {
        tool.name
    } else {
        tool.tool_name
    }
}

/// `_unrecovered`: some tool failed and no later call of it succeeded.
fn unrecovered(tools: &[&Step<'_>]) -> bool {
    tools.iter().enumerate().any(|(i, tool)| {
        tool.error
            && !tools[i + 1..]
                .iter()
                .any(|t| tool_name(t) == tool_name(tool) && !t.error)
    })
}

/// Each tool call as (name, canonical arguments); None when arguments need Python. With
/// one call only its name matters (nothing to repeat), so its arguments are not read.
fn tool_calls<'a>(tools: &[&'a Step<'a>]) -> Option<Vec<(&'a str, String)>> {
    let read = tools.len() > 1;
    tools
        .iter()
        .map(|tool| {
            let canonical = if read {
                canonical(tool.input?)?
            } else {
                String::new()
            };
            Some((tool_name(tool), canonical))
        })
        .collect()
}

/// The arguments in a form equal exactly when `orjson.dumps(..., OPT_SORT_KEYS)` of the
/// parsed arguments is (no arguments read as ``{}``).
fn canonical(arguments: &str) -> Option<String> {
    let mut out = String::new();
    if arguments.is_empty() {
        out.push_str("{}");
        return Some(out);
    }
    write_canonical(&parse_json(arguments)?, &mut out)?;
    Some(out)
}

fn write_canonical(value: &Json<'_>, out: &mut String) -> Option<()> {
    match value {
        Json::Null => out.push('n'),
        Json::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Json::Int(i) => out.push_str(&format!("i{i};")),
        Json::Float(raw) => out.push_str(&format!("d{};", float_value(raw)?.to_bits())),
        Json::Str(s) => quote(s, out),
        Json::Array(items) => {
            out.push('[');
            for item in items {
                write_canonical(item, out)?;
                out.push(',');
            }
            out.push(']');
        }
        Json::Object(fields) => {
            let mut sorted: Vec<&(Cow<'_, str>, Json<'_>)> = fields.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (key, item) in sorted {
                quote(key, out);
                out.push(':');
                write_canonical(item, out)?;
                out.push(',');
            }
            out.push('}');
        }
    }
    Some(())
}

/// `_loops`: the same call `LOOP_REPEATS` times, or a run of two or three tool names
/// repeating itself that many times in a row.
fn loops(calls: &[(&str, String)]) -> bool {
    if calls.len() < LOOP_REPEATS {
        return false;
    }
    let mut counts: HashMap<&(&str, String), usize> = HashMap::new();
    for call in calls {
        let n = counts.entry(call).or_insert(0);
        *n += 1;
        if *n >= LOOP_REPEATS {
            return true;
        }
    }
    let names: Vec<&str> = calls.iter().map(|(name, _)| *name).collect();
    (2..=MAX_LOOP_PERIOD).any(|period| {
        let span = period * LOOP_REPEATS;
        names.len() >= span
            && (0..=names.len() - span)
                .any(|start| (0..span).all(|i| names[start + i] == names[start + i % period]))
    })
}

/// A trace id as it came: 16 bytes (spans with other ids have no row, and calls with
/// them go to Python).
pub(super) type TraceKey = [u8; 16];

pub(super) fn trace_key(id: &[u8]) -> TraceKey {
    id.try_into().unwrap_or_default()
}

/// The summaries of a run's payloads: a trace whose spans came in two payloads has none.
#[derive(Default)]
pub(super) struct RunSummaries<'py> {
    at: HashMap<TraceKey, usize>,
    found: Vec<Option<Bound<'py, PyAny>>>,
}

impl<'py> RunSummaries<'py> {
    pub(super) fn add(&mut self, traces: Vec<(TraceKey, Option<Bound<'py, PyAny>>)>) {
        for (trace_id, summary) in traces {
            match self.at.entry(trace_id) {
                Entry::Occupied(at) => self.found[*at.get()] = None,
                Entry::Vacant(at) => {
                    at.insert(self.found.len());
                    self.found.push(summary);
                }
            }
        }
    }

    pub(super) fn finish(self) -> Vec<Bound<'py, PyAny>> {
        self.found.into_iter().flatten().collect()
    }
}

/// How summaries become Python values: `TraceSummary`s when its class is given (made as
/// its `_make` does, without the Python call of its `__new__`), else plain tuples.
pub(super) struct SummaryMaker<'py> {
    class: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    /// per set of signals (a bit per `SIGNALS` entry), a dict of them in order: a copy
    /// takes its keys' table at once, where a new dict grows and rehashes as it fills
    shapes: RefCell<Vec<Option<Bound<'py, PyDict>>>>,
    /// the values most signals take (flags, counts), made once: `SHARED_FLOATS` of them
    floats: Vec<Bound<'py, PyFloat>>,
}

/// Whole numbers from 0 that the summaries' floats share.
const SHARED_FLOATS: u8 = 64;

impl<'py> SummaryMaker<'py> {
    pub(super) fn new(py: Python<'py>, class: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        let class = match class {
            None => None,
            Some(class) => {
                let tuple_new = py.get_type::<PyTuple>().getattr(intern!(py, "__new__"))?;
                Some((tuple_new, class.clone()))
            }
        };
        let floats = (0..SHARED_FLOATS)
            .map(|n| PyFloat::new(py, f64::from(n)))
            .collect();
        Ok(SummaryMaker {
            class,
            shapes: RefCell::new(vec![None; 1 << SIGNALS.len()]),
            floats,
        })
    }

    /// The trajectory values as a dict by stored name, in their order.
    fn values(&self, py: Python<'py>, values: &[(usize, f64)]) -> Option<Bound<'py, PyDict>> {
        let names = signal_names(py);
        let shape = values.iter().fold(0usize, |shape, (at, _)| shape | 1 << at);
        let mut shapes = self.shapes.borrow_mut();
        let template = shapes.get_mut(shape)?;
        if template.is_none() {
            let dict = PyDict::new(py);
            for (at, _) in values {
                dict.set_item(names.get(*at)?.bind(py), py.None()).ok()?;
            }
            *template = Some(dict);
        }
        let dict = template.as_ref()?.copy().ok()?;
        for (at, value) in values {
            dict.set_item(names.get(*at)?.bind(py), self.float(py, *value))
                .ok()?;
        }
        Some(dict)
    }

    fn float(&self, py: Python<'py>, value: f64) -> Bound<'py, PyFloat> {
        let n = value as u8; // saturating: NaN to 0
        // -0.0 is not shared: its sign shows in Python (`repr`, `math.copysign`).
        match self.floats.get(usize::from(n)) {
            Some(float) if f64::from(n) == value && value.is_sign_positive() => float.clone(),
            _ => PyFloat::new(py, value),
        }
    }

    fn make(&self, items: Bound<'py, PyTuple>) -> Option<Bound<'py, PyAny>> {
        match &self.class {
            None => Some(items.into_any()),
            Some((tuple_new, class)) => tuple_new.call1((class, items)).ok(),
        }
    }
}

/// Every trace of a planned payload, with its summary (see `decode_trace_run`) when it has
/// one. ``services``: each resource part's service name (None: not a string).
pub(super) fn payload_summaries<'py>(
    py: Python<'py>,
    plan: &PayloadPlan<'_>,
    services: &[Option<Bound<'py, PyString>>],
    maker: &SummaryMaker<'py>,
) -> Vec<(TraceKey, Option<Bound<'py, PyAny>>)> {
    let spans: Vec<(usize, &Planned<'_>)> = plan
        .iter()
        .enumerate()
        .flat_map(|(part, (_, spans))| spans.iter().map(move |planned| (part, planned)))
        .collect();
    let Some(traces) = payload_steps(&spans) else {
        return trace_ids(plan);
    };
    traces
        .into_iter()
        .map(|(trace_id, steps)| {
            let summary = summarise(trace_id, steps)
                .and_then(|s| to_tuple(py, &s, services, maker))
                .and_then(|items| maker.make(items));
            (trace_key(trace_id), summary)
        })
        .collect()
}

/// The payload's trace ids, none summarised.
fn trace_ids<'py>(plan: &PayloadPlan<'_>) -> Vec<(TraceKey, Option<Bound<'py, PyAny>>)> {
    let mut ids: Vec<(TraceKey, Option<Bound<'py, PyAny>>)> = Vec::new();
    for (_, spans) in plan {
        for planned in spans {
            let id = trace_key(match planned {
                Planned::Skip => continue,
                Planned::Call(call) => call.trace_id,
                Planned::Row(row) => row.trace_id,
            });
            if !ids.iter().any(|(known, _)| *known == id) {
                ids.push((id, None));
            }
        }
    }
    ids
}

static SIGNAL_NAMES: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

fn signal_names(py: Python<'_>) -> &[Py<PyString>] {
    SIGNAL_NAMES.get_or_init(py, || {
        SIGNALS
            .iter()
            .map(|n| PyString::intern(py, n).unbind())
            .collect()
    })
}

fn status_name<'py>(py: Python<'py>, status: &str) -> Bound<'py, PyString> {
    match status {
        "OK" => intern!(py, "OK").clone(),
        "ERROR" => intern!(py, "ERROR").clone(),
        _ => intern!(py, "UNSET").clone(),
    }
}

fn to_tuple<'py>(
    py: Python<'py>,
    summary: &Summary<'_>,
    services: &[Option<Bound<'py, PyString>>],
    maker: &SummaryMaker<'py>,
) -> Option<Bound<'py, PyTuple>> {
    let service = services.get(summary.top.part)?.as_ref()?;
    let values = maker.values(py, &summary.values)?;
    let top = &summary.top;
    let items: [Bound<'py, PyAny>; 13] = [
        otlp::py_hex(py, summary.trace_id).into_any(),
        summary.spans.into_pyobject(py).ok()?.into_any(),
        summary.start.into_pyobject(py).ok()?.into_any(),
        values.into_any(),
        otlp::py_hex(py, top.span_id).into_any(),
        top.call.into_pyobject(py).ok()?.to_owned().into_any(),
        top.start.into_pyobject(py).ok()?.into_any(),
        top.duration.into_pyobject(py).ok()?.into_any(),
        PyString::new(py, top.name).into_any(),
        status_name(py, top.status).into_any(),
        service.clone().into_any(),
        PyString::new(py, top.route).into_any(),
        PyString::new(py, top.agent).into_any(),
    ];
    PyTuple::new(py, items).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_arguments_ignore_key_order_and_spacing_not_types() {
        let same = ["{\"a\": 1, \"b\": [1.0]}", "{ \"b\" : [1.00], \"a\":1 }"];
        assert_eq!(canonical(same[0]), canonical(same[1]));
        assert_ne!(canonical("{\"a\": 1}"), canonical("{\"a\": 1.0}"));
        assert_eq!(canonical(""), canonical("{}"));
        assert_eq!(canonical("not json"), None);
        assert_eq!(canonical("{\"a\": 1, \"a\": 2}"), None);
    }

    #[test]
    fn loops_are_three_same_calls_or_a_short_run_repeated() {
        let call = |name: &'static str, args: &str| (name, args.to_string());
        let same = vec![
            call("a", "1"),
            call("b", "1"),
            call("a", "1"),
            call("a", "1"),
        ];
        assert!(loops(&same));
        let refined = vec![call("a", "1"), call("a", "2"), call("a", "3")];
        assert!(!loops(&refined));
        let turns: Vec<_> = (0..6)
            .map(|i| call(if i % 2 == 0 { "a" } else { "b" }, &i.to_string()))
            .collect();
        assert!(loops(&turns));
        assert!(!loops(&turns[..5]));
    }

    #[test]
    fn python_spaces_do_not_answer() {
        assert!(!answers(" \t\n\x1c\x1f\u{3000}"));
        assert!(answers("  a"));
        assert!(!answers(&format!("{}a", " ".repeat(STAGE_TEXT_CHARS))));
    }
}
