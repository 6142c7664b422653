//! The screens' Python classes: which texts a detector's patterns may match, so that
//! the regular expressions run on those alone.

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::detach::{screen_many, text_of};
use crate::screens::{self, Needles};
use crate::text;

/// Lower-cases an accepted text, or None (a character beyond the accepted set).
fn lowered(text: &str) -> Option<Vec<u8>> {
    text::charset(text)?;
    Some(text.as_bytes().to_ascii_lowercase())
}

/// Screen of a pattern whose every match holds one of a few substrings.
///
/// ``may_match(text)``: ``any(needle in text.lower() for needle in needles)``, or None to
/// leave it to Python.
#[pyclass(frozen, module = "watchkeeper.native")]
pub(crate) struct NeedleScreen {
    needles: Needles,
}

#[pymethods]
impl NeedleScreen {
    #[new]
    fn new(needles: Vec<String>) -> Self {
        NeedleScreen {
            needles: Needles::new(needles.into_iter().map(String::into_bytes)),
        }
    }

    fn may_match(&self, text: &Bound<'_, PyString>) -> Option<bool> {
        self.check(text_of(text)?)
    }

    /// ``[may_match(t) for t in texts]``, the GIL released while they are screened.
    fn may_match_many<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<Bound<'py, PyString>>,
    ) -> Vec<Option<bool>> {
        screen_many(py, &texts, |text| self.check(text))
    }
}

impl NeedleScreen {
    fn check(&self, text: &str) -> Option<bool> {
        lowered(text).map(|low| self.needles.any_in(&low))
    }
}

/// Screen of the prompt-injection patterns (``prompt_injection._may_match``).
///
/// ``may_match(text)``: True when the lower-cased text holds a needle, a system role
/// (``system\s*:`` or ``#\s*system``) or ``payload`` characters of base64 in a row.
#[pyclass(frozen, module = "watchkeeper.native")]
pub(crate) struct InjectionScreen {
    needles: Needles,
    payload: usize,
}

#[pymethods]
impl InjectionScreen {
    #[new]
    fn new(needles: Vec<String>, payload: usize) -> Self {
        InjectionScreen {
            needles: Needles::new(needles.into_iter().map(String::into_bytes)),
            payload,
        }
    }

    fn may_match(&self, text: &Bound<'_, PyString>) -> Option<bool> {
        self.check(text_of(text)?)
    }

    /// ``[may_match(t) for t in texts]``, the GIL released while they are screened.
    fn may_match_many<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<Bound<'py, PyString>>,
    ) -> Vec<Option<bool>> {
        screen_many(py, &texts, |text| self.check(text))
    }
}

impl InjectionScreen {
    fn check(&self, text: &str) -> Option<bool> {
        let low = lowered(text)?;
        Some(
            self.needles.any_in(&low)
                || screens::system_role(&low)
                || screens::payload_run(&low, self.payload),
        )
    }
}

/// Screen of the PII patterns (``pii.find_pii``): an ``@``, or a run of digits and
/// separators (``screens::may_hold_pii``); and where in the text to look.
#[pyclass(frozen, module = "watchkeeper.native")]
pub(crate) struct PiiScreen {}

#[pymethods]
impl PiiScreen {
    #[new]
    fn new() -> Self {
        PiiScreen {}
    }

    /// ``[]`` when no PII pattern can match (``pii._may_hold_pii`` is False: no ``@`` and
    /// no long run of digits); else the ``(start, end, has_digit)`` runs of characters in
    /// ``[\w.+\-@ ()]`` that hold an ``@`` or a digit: every match of a PII pattern lies
    /// inside one. None to leave the text to Python.
    fn segments(&self, text: &Bound<'_, PyString>) -> Option<Vec<(usize, usize, bool)>> {
        pii_segments_of(text_of(text)?)
    }

    /// ``[segments(t) for t in texts]``, the GIL released while they are screened.
    fn segments_many<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<Bound<'py, PyString>>,
    ) -> Vec<Option<Vec<(usize, usize, bool)>>> {
        screen_many(py, &texts, pii_segments_of)
    }
}

fn pii_segments_of(text: &str) -> Option<Vec<(usize, usize, bool)>> {
    text::charset(text)?;
    let bytes = text.as_bytes();
    if !screens::may_hold_pii(bytes) {
        return Some(Vec::new());
    }
    Some(screens::pii_segments(bytes))
}
