//! Reading Python strings' text, and releasing the GIL while the core works on many.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// Texts from which a list method releases the GIL (`detach_for`): for fewer, releasing
/// it and waiting to take it back (up to the switch interval while another thread runs
/// Python) costs more than it frees.
const DETACH_AT: usize = 8;

/// The UTF-8 text of a Python string, or None for one holding lone surrogates.
pub(crate) fn text_of<'a>(text: &'a Bound<'_, PyString>) -> Option<&'a str> {
    text.to_str().ok()
}

/// `screen` of each text (None where it leaves the text to Python), with the GIL released
/// from `DETACH_AT` texts on: a screen reads bytes only, so the thread that runs the list
/// lets the others run Python meanwhile.
pub(crate) fn screen_many<'py, T: Send>(
    py: Python<'py>,
    texts: &[Bound<'py, PyString>],
    screen: impl Fn(&str) -> Option<T> + Sync,
) -> Vec<Option<T>> {
    // The UTF-8 of each string is read with the GIL held; `texts` keeps the strings alive.
    let texts: Vec<Option<&str>> = texts.iter().map(text_of).collect();
    let run = || texts.iter().map(|text| text.and_then(&screen)).collect();
    detach_for(py, texts.len(), run)
}

/// Runs `work` on `texts` texts, with the GIL released from `DETACH_AT` texts on.
pub(crate) fn detach_for<T: Send>(
    py: Python<'_>,
    texts: usize,
    work: impl FnOnce() -> T + Send,
) -> T {
    if texts < DETACH_AT {
        work()
    } else {
        py.detach(work)
    }
}
