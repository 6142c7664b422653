//! The `spans` rows of a run as Arrow column buffers, for the rows that need no Python
//! object: those of the traces the core summarised (`trace_summary`), which the signal
//! stage scores without reading their spans. `store/span_columns.py` puts the buffers
//! together into the table `spans_table` would make of the same rows' `TraceSpan`s.
//!
//! Buffers are Arrow's own layout (little-endian offsets from 0, values, an LSB-first
//! validity bitmap), so pyarrow wraps them without copying.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::span_row::RowValues;

/// A string column: offsets (one more than rows) and UTF-8 bytes.
#[derive(Default)]
struct Strings {
    offsets: Vec<i32>,
    data: Vec<u8>,
}

impl Strings {
    fn push(&mut self, text: &str) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.data.extend_from_slice(text.as_bytes());
        self.offsets.push(self.data.len() as i32);
    }

    fn reserve_like(&mut self, room: &impl Fn(usize) -> usize) {
        self.offsets.reserve_exact(room(self.offsets.len()));
        self.data.reserve_exact(room(self.data.len()));
    }

    fn buffers<'py>(&self, py: Python<'py>) -> PyResult<[Bound<'py, PyBytes>; 2]> {
        let offsets: &[i32] = if self.offsets.is_empty() {
            &[0]
        } else {
            &self.offsets
        };
        Ok([bytes_of(py, offsets)?, PyBytes::new(py, &self.data)])
    }
}

/// Offsets of a list column (each row's end), from 0.
#[derive(Default)]
struct Offsets(Vec<i32>);

impl Offsets {
    fn close(&mut self, end: usize) {
        if self.0.is_empty() {
            self.0.push(0);
        }
        self.0.push(end as i32);
    }

    fn buffer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        if self.0.is_empty() {
            return bytes_of(py, &[0i32]);
        }
        bytes_of(py, &self.0)
    }
}

/// The run's rows, column by column, in `spans_table`'s order.
#[derive(Default)]
pub(super) struct SpanColumns {
    rows: usize,
    timestamp: Vec<u64>,
    duration: Vec<u64>,
    /// TraceId, SpanId, ParentSpanId, SpanName, Kind, ServiceName, StatusCode,
    /// StatusMessage, SessionId, UserId, InputText, OutputText
    strings: [Strings; 12],
    documents: Offsets,
    document_texts: Strings,
    scores: Vec<f64>,
    /// one bit per score: set when the document has one
    scored: Vec<u8>,
    attributes: Offsets,
    keys: Strings,
    values: Strings,
    /// the rows in runs of consecutive rows of one trace at one position (see `push`):
    /// the stages read a run's trace id as a Python value, and go a run at a time
    runs: Runs,
}

/// Runs of rows: each run's trace id, rows, and position (the run's rows made as objects
/// before it: where its rows sit among them, so that the span bound counts a trace's spans
/// in the order Python would).
#[derive(Default)]
struct Runs {
    trace_ids: Vec<String>,
    rows: Vec<u64>,
    positions: Vec<u64>,
}

impl Runs {
    fn push(&mut self, trace_id: &str, position: u64) {
        let last = self.trace_ids.len().wrapping_sub(1);
        if self.positions.get(last) == Some(&position) && self.trace_ids[last] == trace_id {
            self.rows[last] += 1;
        } else {
            self.trace_ids.push(trace_id.to_owned());
            self.rows.push(1);
            self.positions.push(position);
        }
    }
}

impl SpanColumns {
    /// One row more, after the run's first ``position`` rows made as objects.
    pub(super) fn push(&mut self, row: &RowValues<'_>, position: usize) {
        self.runs.push(&row.trace_id, position as u64);
        self.timestamp.push(row.start);
        self.duration.push(row.end - row.start);
        let texts: [&str; 12] = [
            &row.trace_id,
            &row.span_id,
            &row.parent,
            row.name,
            row.kind,
            row.service,
            row.status,
            &row.message,
            &row.session,
            &row.user,
            &row.input,
            &row.output,
        ];
        for (column, text) in self.strings.iter_mut().zip(texts) {
            column.push(text);
        }
        for (text, score) in &row.documents {
            self.document_texts.push(text);
            let at = self.scores.len();
            if at.is_multiple_of(8) {
                self.scored.push(0);
            }
            if score.is_some() {
                self.scored[at / 8] |= 1 << (at % 8);
            }
            self.scores.push(score.unwrap_or(0.0));
        }
        self.documents.close(self.scores.len());
        for (key, value) in &row.attributes {
            self.keys.push(key);
            self.values.push(value);
        }
        self.attributes
            .close(self.keys.offsets.len().saturating_sub(1));
        self.rows += 1;
    }

    /// Room for ``more`` payloads' rows, at the rate ``done`` payloads made them (and an
    /// eighth more): a run of thousands of payloads would otherwise copy every buffer as it
    /// doubles, a dozen times over.
    pub(super) fn reserve_like(&mut self, done: usize, more: usize) {
        if done == 0 || self.rows == 0 {
            return;
        }
        let room = |len: usize| {
            let like = len.saturating_mul(more) / done;
            like + like / 8
        };
        let (rows, documents) = (room(self.timestamp.len()), room(self.scores.len()));
        self.timestamp.reserve_exact(rows);
        self.duration.reserve_exact(rows);
        for column in self.strings.iter_mut() {
            column.reserve_like(&room);
        }
        self.documents.0.reserve_exact(rows);
        self.document_texts.reserve_like(&room);
        self.scores.reserve_exact(documents);
        self.scored.reserve_exact(documents / 8 + 1);
        self.attributes.0.reserve_exact(rows);
        self.keys.reserve_like(&room);
        self.values.reserve_like(&room);
        let runs = room(self.runs.rows.len());
        self.runs.trace_ids.reserve_exact(runs);
        self.runs.rows.reserve_exact(runs);
        self.runs.positions.reserve_exact(runs);
    }

    /// Whether ``rows`` fit in the columns: Arrow's string offsets are 32-bit.
    pub(super) fn fits<'r, 'a: 'r>(&self, rows: impl Iterator<Item = &'r RowValues<'a>>) -> bool {
        let mut sizes = [0usize; 15];
        for row in rows {
            let texts = [
                row.trace_id.len() + row.span_id.len() + row.parent.len(),
                row.name.len(),
                row.service.len(),
                row.message.len() + row.session.len() + row.user.len(),
                row.input.len(),
                row.output.len(),
            ];
            for (size, add) in sizes.iter_mut().zip(texts) {
                *size += add;
            }
            sizes[12] += row.documents.iter().map(|(t, _)| t.len()).sum::<usize>();
            sizes[13] += row.attributes.iter().map(|(k, _)| k.len()).sum::<usize>();
            sizes[14] += row.attributes.iter().map(|(_, v)| v.len()).sum::<usize>();
        }
        let held = [&self.document_texts, &self.keys, &self.values]
            .into_iter()
            .chain(&self.strings)
            .map(|column| column.data.len())
            .max()
            .unwrap_or(0);
        // Columns summed in groups above: a bound, not each column's exact size.
        held + sizes.iter().max().copied().unwrap_or(0) < i32::MAX as usize
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// ``(rows, trace_ids, timestamp, duration, strings, documents, document_texts,
    /// scores, scored, attributes, keys, values, run_rows, positions)``: each column a
    /// buffer, or a pair of offsets and data for text; per run of rows (see `Runs`), its
    /// trace id in a list of str, its rows and its position as unsigned 64-bit integers.
    pub(super) fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let strings = PyList::empty(py);
        for column in &self.strings {
            strings.append(PyTuple::new(py, column.buffers(py)?)?)?;
        }
        let runs = &self.runs;
        let trace_ids = PyList::new(py, runs.trace_ids.iter().map(|id| PyString::new(py, id)))?;
        let items: [Bound<'py, PyAny>; 14] = [
            self.rows.into_pyobject(py)?.into_any(),
            trace_ids.into_any(),
            bytes_of(py, &self.timestamp)?.into_any(),
            bytes_of(py, &self.duration)?.into_any(),
            strings.into_any(),
            self.documents.buffer(py)?.into_any(),
            PyTuple::new(py, self.document_texts.buffers(py)?)?.into_any(),
            bytes_of(py, &self.scores)?.into_any(),
            PyBytes::new(py, &self.scored).into_any(),
            self.attributes.buffer(py)?.into_any(),
            PyTuple::new(py, self.keys.buffers(py)?)?.into_any(),
            PyTuple::new(py, self.values.buffers(py)?)?.into_any(),
            bytes_of(py, &runs.rows)?.into_any(),
            bytes_of(py, &runs.positions)?.into_any(),
        ];
        PyTuple::new(py, items)
    }
}

/// Numbers as their little-endian bytes (Arrow's layout on every platform pyarrow runs on),
/// written straight into the new bytes object.
fn bytes_of<'py, T: Copy + ToLe>(py: Python<'py>, values: &[T]) -> PyResult<Bound<'py, PyBytes>> {
    PyBytes::new_with(py, std::mem::size_of_val(values), |out| {
        for (slot, value) in out.chunks_exact_mut(T::SIZE).zip(values) {
            value.write_le(slot);
        }
        Ok(())
    })
}

trait ToLe {
    const SIZE: usize;
    fn write_le(self, out: &mut [u8]);
}

impl ToLe for i32 {
    const SIZE: usize = 4;
    fn write_le(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_le_bytes());
    }
}

impl ToLe for u64 {
    const SIZE: usize = 8;
    fn write_le(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_le_bytes());
    }
}

impl ToLe for f64 {
    const SIZE: usize = 8;
    fn write_le(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_le_bytes());
    }
}
