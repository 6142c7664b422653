//! The Arrow buffers of the store's columns of call records (`store/columns.py`), made in
//! one pass over the records: each value is read once from its record and copied into its
//! column's buffer, where the Python code builds a list per column for pyarrow to convert.
//!
//! Python stays the reference: for any value this code would not store exactly as pyarrow
//! converts it (not an exact `str`, `int` or `float`, a lone surrogate, an integer out of
//! its column's range, a column past 2 GiB), it returns None and the Python code builds
//! every column. `tests/collector/test_record_columns.py` holds both to the same tables.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};

/// What a column holds, and so which buffers it gets (all little-endian, offsets `i32`).
#[derive(Clone, Copy)]
enum Kind {
    /// `string`: offsets, bytes
    Str,
    /// `timestamp[ns]` / `int64`: values
    I64,
    /// `uint64`: values
    U64,
    /// `uint32`: values
    U32,
    /// `float64`: values
    F64,
    /// `len()` of a `str` (code points) or `list`, at most `u32::MAX`: `uint32` values
    LenU32,
    /// `len()` of a `str` or `list`, at most `u16::MAX`: `uint16` values
    LenU16,
    /// `list<string>`: list offsets, string offsets, bytes
    StrList,
    /// `map<string, string>` of a `dict`: map offsets, key offsets, key bytes, value
    /// offsets, value bytes
    StrMap,
}

impl Kind {
    fn of(code: u8) -> Option<Kind> {
        Some(match code {
            0 => Kind::Str,
            1 => Kind::I64,
            2 => Kind::U64,
            3 => Kind::U32,
            4 => Kind::F64,
            5 => Kind::LenU32,
            6 => Kind::LenU16,
            7 => Kind::StrList,
            8 => Kind::StrMap,
            _ => return None,
        })
    }
}

/// A string column's values, kept until its buffers are made: the total length is then
/// known, so the bytes are copied once, straight into the `bytes` object.
#[derive(Default)]
struct Strings<'py> {
    values: Vec<Bound<'py, PyString>>,
    total: usize,
}

impl<'py> Strings<'py> {
    fn new(rows: usize) -> Strings<'py> {
        Strings {
            values: Vec::with_capacity(rows),
            total: 0,
        }
    }

    /// Keeps ``value`` when it is an exact `str` that is valid UTF-8 and fits; else None.
    fn push(&mut self, value: &Bound<'py, PyAny>) -> Option<()> {
        let text = value.cast_exact::<PyString>().ok()?;
        self.total += text.to_str().ok()?.len();
        if self.total > i32::MAX as usize {
            return None;
        }
        self.values.push(text.clone());
        Some(())
    }

    fn count(&self) -> i32 {
        // fits: no more strings than bytes, and the bytes were checked to fit
        self.values.len() as i32
    }

    /// The offsets and the bytes.
    fn into_py(self, py: Python<'py>) -> PyResult<[Bound<'py, PyBytes>; 2]> {
        let mut texts = Vec::with_capacity(self.values.len());
        for value in &self.values {
            texts.push(value.to_str()?);
        }
        let offsets = PyBytes::new_with(py, (texts.len() + 1) * 4, |out| {
            let mut end = 0usize;
            out[..4].copy_from_slice(&0i32.to_le_bytes());
            for (text, slot) in texts.iter().zip(out[4..].chunks_exact_mut(4)) {
                end += text.len();
                slot.copy_from_slice(&(end as i32).to_le_bytes());
            }
            Ok(())
        })?;
        let data = PyBytes::new_with(py, self.total, |out| {
            let mut at = 0;
            for text in &texts {
                out[at..at + text.len()].copy_from_slice(text.as_bytes());
                at += text.len();
            }
            Ok(())
        })?;
        Ok([offsets, data])
    }
}

/// One column's buffers as they grow.
enum Column<'py> {
    Str(Strings<'py>),
    Fixed(Vec<u8>),
    List(Vec<u8>, Strings<'py>),
    Map(Vec<u8>, Strings<'py>, Strings<'py>),
}

fn first_offset(rows: usize) -> Vec<u8> {
    let mut offsets = Vec::with_capacity((rows + 1) * 4);
    offsets.extend_from_slice(&0i32.to_le_bytes());
    offsets
}

impl<'py> Column<'py> {
    fn new(kind: Kind, rows: usize) -> Column<'py> {
        match kind {
            Kind::Str => Column::Str(Strings::new(rows)),
            Kind::StrList => Column::List(first_offset(rows), Strings::new(rows)),
            Kind::StrMap => Column::Map(first_offset(rows), Strings::new(rows), Strings::new(rows)),
            _ => Column::Fixed(Vec::with_capacity(rows * 8)),
        }
    }

    /// Appends one record's ``value``; None when Python must build the columns.
    fn push(&mut self, kind: Kind, value: &Bound<'py, PyAny>) -> Option<()> {
        match (self, kind) {
            (Column::Str(strings), _) => strings.push(value),
            (Column::List(offsets, strings), _) => {
                for item in value.cast_exact::<PyList>().ok()?.iter() {
                    strings.push(&item)?;
                }
                offsets.extend_from_slice(&strings.count().to_le_bytes());
                Some(())
            }
            (Column::Map(offsets, keys, values), _) => {
                for (key, item) in value.cast_exact::<PyDict>().ok()?.iter() {
                    keys.push(&key)?;
                    values.push(&item)?;
                }
                offsets.extend_from_slice(&keys.count().to_le_bytes());
                Some(())
            }
            (Column::Fixed(out), kind) => push_fixed(out, kind, value),
        }
    }

    fn into_py(self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let bytes = |data: Vec<u8>| PyBytes::new(py, &data);
        Ok(match self {
            Column::Str(s) => s.into_py(py)?.to_vec(),
            Column::Fixed(values) => vec![bytes(values)],
            Column::List(lists, s) => [[bytes(lists)].as_slice(), &s.into_py(py)?].concat(),
            Column::Map(maps, k, v) => {
                [[bytes(maps)].as_slice(), &k.into_py(py)?, &v.into_py(py)?].concat()
            }
        })
    }
}

/// Appends a fixed-width value: exact `int`s in range, exact `float`s, lengths.
fn push_fixed(out: &mut Vec<u8>, kind: Kind, value: &Bound<'_, PyAny>) -> Option<()> {
    let int = || value.cast_exact::<PyInt>().ok();
    match kind {
        Kind::I64 => out.extend_from_slice(&int()?.extract::<i64>().ok()?.to_le_bytes()),
        Kind::U64 => out.extend_from_slice(&int()?.extract::<u64>().ok()?.to_le_bytes()),
        Kind::U32 => out.extend_from_slice(&int()?.extract::<u32>().ok()?.to_le_bytes()),
        Kind::F64 => {
            out.extend_from_slice(&value.cast_exact::<PyFloat>().ok()?.value().to_le_bytes())
        }
        Kind::LenU32 => {
            let n = u32::try_from(length(value)?).unwrap_or(u32::MAX);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Kind::LenU16 => {
            let n = u16::try_from(length(value)?).unwrap_or(u16::MAX);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Kind::Str | Kind::StrList | Kind::StrMap => return None,
    }
    Some(())
}

/// `len()` of an exact `str` (code points) or `list`.
fn length(value: &Bound<'_, PyAny>) -> Option<usize> {
    if let Ok(text) = value.cast_exact::<PyString>() {
        return text.len().ok();
    }
    Some(value.cast_exact::<PyList>().ok()?.len())
}

/// The buffers of ``fields`` (attribute name, kind code) of every record of ``records``:
/// per field, a list of `bytes` (see `Kind`), in the order of ``fields``. None when a value
/// is not one this code stores exactly as pyarrow converts it: the caller's Python code
/// then builds the columns.
#[pyfunction]
pub fn record_columns<'py>(
    py: Python<'py>,
    records: &Bound<'py, PyList>,
    fields: Vec<(Bound<'py, PyString>, u8)>,
) -> PyResult<Option<Vec<Vec<Bound<'py, PyBytes>>>>> {
    let rows = records.len();
    let mut kinds = Vec::with_capacity(fields.len());
    for (_, code) in &fields {
        match Kind::of(*code) {
            Some(kind) => kinds.push(kind),
            None => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "unknown column kind",
                ));
            }
        }
    }
    let mut columns: Vec<Column> = kinds.iter().map(|&k| Column::new(k, rows)).collect();
    for record in records.iter() {
        for ((name, _), (column, &kind)) in fields.iter().zip(columns.iter_mut().zip(&kinds)) {
            let value = record.getattr(name)?;
            if column.push(kind, &value).is_none() {
                return Ok(None);
            }
        }
    }
    let mut made = Vec::with_capacity(columns.len());
    for column in columns {
        made.push(column.into_py(py)?);
    }
    Ok(Some(made))
}
