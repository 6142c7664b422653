//! The screens' Python classes: which texts a detector's patterns may match, so that
//! the regular expressions run on those alone.

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::detach::{screen_many, text_of};
use crate::pii;
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

/// The PII patterns (``pii.find_pii``), matched in the core.
#[pyclass(frozen, module = "watchkeeper.native")]
pub(crate) struct PiiScreen {}

/// What ``PiiScreen.find`` gives: ``(kind, value)`` of each PII value, in text order.
type Found = Vec<(&'static str, String)>;

#[pymethods]
impl PiiScreen {
    #[new]
    fn new() -> Self {
        PiiScreen {}
    }

    /// The ``(kind, value)`` pairs ``find_pii`` finds in ``text`` (its result grouped by
    /// kind), in the order found: ``[]`` for most texts. None to leave the text to Python.
    fn find(&self, text: &Bound<'_, PyString>) -> Option<Found> {
        found_in(text_of(text)?)
    }

    /// ``[find(t) for t in texts]``, the GIL released while they are read.
    fn find_many<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<Bound<'py, PyString>>,
    ) -> Vec<Option<Found>> {
        screen_many(py, &texts, found_in)
    }
}

fn found_in(text: &str) -> Option<Found> {
    text::charset(text)?;
    let found = pii::find_pii(text);
    Some(
        found
            .into_iter()
            .map(|(kind, value)| (kind.name(), value.to_owned()))
            .collect(),
    )
}
