//! The screens' Python classes: which texts a detector's patterns may match, so that
//! the regular expressions run on those alone.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PySlice, PyString, PyTuple};

use crate::detach::{screen_many, text_of};
use crate::screens::{self, Needles};
use crate::{InjectionFeatures, injection, pii, text};

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
pub(crate) type Found = Vec<(&'static str, String)>;

#[pymethods]
impl PiiScreen {
    #[new]
    fn new() -> Self {
        PiiScreen {}
    }

    /// The ``(kind, value)`` pairs ``find_pii`` finds in ``text`` (its result grouped by
    /// kind), in the order found: ``()`` for most texts (the shared empty tuple: no object
    /// made). None to leave the text to Python.
    fn find<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        text_of(text)
            .and_then(found_in)
            .map(|pairs| pairs_object(py, pairs))
            .transpose()
    }

    /// ``[find(t) for t in texts]``, the GIL released while they are read.
    fn find_many<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<Bound<'py, PyString>>,
    ) -> PyResult<Vec<Option<Bound<'py, PyAny>>>> {
        screen_many(py, &texts, found_in)
            .into_iter()
            .map(|found| found.map(|pairs| pairs_object(py, pairs)).transpose())
            .collect()
    }
}

/// ``find``'s result: the pairs as a list of tuples, or the empty tuple for none.
fn pairs_object(py: Python<'_>, pairs: Found) -> PyResult<Bound<'_, PyAny>> {
    if pairs.is_empty() {
        return Ok(PyTuple::empty(py).into_any());
    }
    pairs.into_pyobject(py).map(Bound::into_any)
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

/// ``TotalsScreen``'s ``marks``: the features of written texts, each mark's stand-in, and
/// the bytes standing for marks.
type MarksHeld = (Py<InjectionFeatures>, HashMap<char, char>, Vec<u8>);

/// The prompt-injection classifier's best window of a text (``InjectionModel.scores``).
///
/// ``best(text)``: of a text of at most ``max_chars`` characters the classifier reads with
/// ``features`` (ASCII), or with ``marks`` = ``(marked, stand_ins, taken)`` (beyond ASCII
/// only by marks with a stand-in), the highest window total divided by the square root of
/// its window's length (``window`` tokens, or the text's own count when shorter, at least
/// ``min_window``); None for the others, left to Python.
#[pyclass(frozen, module = "watchkeeper.native")]
pub(crate) struct TotalsScreen {
    features: Py<InjectionFeatures>,
    marks: Option<MarksHeld>,
    window: usize,
    max_chars: usize,
    min_window: usize,
}

#[pymethods]
impl TotalsScreen {
    #[new]
    #[pyo3(signature = (features, window, max_chars, min_window, marks=None))]
    fn new(
        features: Py<InjectionFeatures>,
        window: usize,
        max_chars: usize,
        min_window: usize,
        marks: Option<MarksHeld>,
    ) -> Self {
        TotalsScreen {
            features,
            marks,
            window: window.max(1),
            max_chars,
            min_window,
        }
    }

    fn best(&self, text: &Bound<'_, PyString>) -> Option<f64> {
        self.check(text_of(text)?)
    }

    /// ``[best(t) for t in texts]``, the GIL released while they are read.
    fn best_many<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<Bound<'py, PyString>>,
    ) -> Vec<Option<f64>> {
        screen_many(py, &texts, |text| self.check(text))
    }
}

impl TotalsScreen {
    fn check(&self, text: &str) -> Option<f64> {
        let marks = self
            .marks
            .as_ref()
            .map(|(marked, stand_ins, taken)| injection::Marks {
                features: &marked.get().features,
                stand_ins,
                taken,
            });
        let plain = &self.features.get().features;
        let (count, totals) =
            injection::totals_within(plain, marks.as_ref(), text, self.window, self.max_chars)?;
        Some(injection::best(
            count,
            &totals,
            self.window,
            self.min_window,
        ))
    }
}

/// What one screen finds in one text, before any Python object is made.
pub(crate) enum Verdict {
    Flag(bool),
    Pii(Found),
    Best(f64),
}

/// A screen [`AheadScreens`] runs: one of the classes above.
enum Check<'a> {
    Needles(&'a NeedleScreen),
    Injection(&'a InjectionScreen),
    Pii,
    Totals(&'a TotalsScreen),
}

impl Check<'_> {
    fn verdict(&self, text: &str) -> Option<Verdict> {
        match self {
            Check::Needles(screen) => screen.check(text).map(Verdict::Flag),
            Check::Injection(screen) => screen.check(text).map(Verdict::Flag),
            Check::Pii => found_in(text).map(Verdict::Pii),
            Check::Totals(screen) => screen.check(text).map(Verdict::Best),
        }
    }
}

/// Screens run together on the inputs or outputs of a run (``TextAnalyser.analyse_ahead``),
/// each on its texts' first characters.
pub(crate) struct AheadScreens<'a> {
    /// Each screen, whether it reads the inputs (else the outputs), and the characters
    /// of each text it reads.
    checks: Vec<(Check<'a>, bool, usize)>,
}

/// A screen as ``analyse_ahead`` is given it: the screen, True for the inputs, the head.
pub(crate) type ScreenArg<'py> = (Bound<'py, PyAny>, bool, usize);

impl<'a> AheadScreens<'a> {
    /// The screens of `given`, which must be objects of the screen classes.
    pub(crate) fn of(given: &'a [ScreenArg<'_>]) -> PyResult<Self> {
        let mut checks = Vec::with_capacity(given.len());
        for (screen, input, head) in given {
            let check = if let Ok(s) = screen.cast::<NeedleScreen>() {
                Check::Needles(s.get())
            } else if let Ok(s) = screen.cast::<InjectionScreen>() {
                Check::Injection(s.get())
            } else if screen.cast::<PiiScreen>().is_ok() {
                Check::Pii
            } else {
                Check::Totals(screen.cast::<TotalsScreen>()?.get())
            };
            checks.push((check, *input, *head));
        }
        Ok(AheadScreens { checks })
    }

    /// Each screen's verdict on each text of its side (None: left to Python), with no
    /// Python object made: it runs with the GIL released.
    pub(crate) fn run(&self, heads: &Heads<'_>) -> Vec<Vec<Option<Verdict>>> {
        self.checks
            .iter()
            .map(|(check, input, chars)| {
                (0..heads.len(*input))
                    .map(|at| check.verdict(heads.head(*input, at, *chars)?))
                    .collect()
            })
            .collect()
    }

    /// Each side (True for the inputs) and the characters a screen reads of its texts.
    pub(crate) fn sizes(&self) -> impl Iterator<Item = (bool, usize)> + '_ {
        self.checks.iter().map(|(_, input, chars)| (*input, *chars))
    }

    /// Per screen, ``{text: verdict}`` for the texts of its side it gave a verdict on
    /// (`found`, from [`Self::run`]): a bool, ``PiiScreen.find``'s pairs, or a float.
    pub(crate) fn by_text<'py>(
        &self,
        py: Python<'py>,
        found: Vec<Vec<Option<Verdict>>>,
        inputs: &[Bound<'py, PyString>],
        outputs: &[Bound<'py, PyString>],
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let mut out = Vec::with_capacity(found.len());
        for ((_, input, _), verdicts) in self.checks.iter().zip(found) {
            let held = PyDict::new(py);
            let side = if *input { inputs } else { outputs };
            for (text, verdict) in side.iter().zip(verdicts) {
                match verdict {
                    None => {}
                    Some(Verdict::Flag(flag)) => held.set_item(text, flag)?,
                    Some(Verdict::Best(best)) => held.set_item(text, best)?,
                    Some(Verdict::Pii(pairs)) => held.set_item(text, pairs_object(py, pairs)?)?,
                }
            }
            out.push(held);
        }
        Ok(out)
    }
}

/// ``text[:chars]``: its first `chars` characters.
pub(crate) fn head_of(text: &str, chars: usize) -> &str {
    let bytes = text.as_bytes();
    if bytes.len() <= chars {
        return text;
    }
    if bytes[..chars].is_ascii() {
        return &text[..chars];
    }
    match text.char_indices().nth(chars) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Heads cut by Python from texts with no UTF-8 (a lone surrogate, maybe beyond the head):
/// ``(input, index, characters, head)``.
pub(crate) type Cuts<'py> = Vec<(bool, usize, usize, Bound<'py, PyString>)>;

/// ``text[:chars]`` of each text of `inputs` (True) or `outputs` with no UTF-8, for each
/// of `sizes`: the head of such a text may have one.
pub(crate) fn cut_heads<'py>(
    inputs: &[Bound<'py, PyString>],
    outputs: &[Bound<'py, PyString>],
    sizes: &[(bool, usize)],
) -> PyResult<Cuts<'py>> {
    let mut cuts = Vec::new();
    for (input, side) in [(true, inputs), (false, outputs)] {
        for (at, text) in side.iter().enumerate() {
            if text_of(text).is_some() {
                continue;
            }
            for &(_, chars) in sizes.iter().filter(|(of, _)| *of == input) {
                let head = text.get_item(PySlice::new(text.py(), 0, chars as isize, 1))?;
                cuts.push((input, at, chars, head.cast_into::<PyString>()?));
            }
        }
    }
    Ok(cuts)
}

/// A run's inputs and outputs as the core reads them: their heads, cut in characters.
pub(crate) struct Heads<'a> {
    inputs: Vec<Option<&'a str>>,
    outputs: Vec<Option<&'a str>>,
    cut: Vec<(bool, usize, usize, Option<&'a str>)>,
}

impl<'a> Heads<'a> {
    pub(crate) fn new(
        inputs: &'a [Bound<'_, PyString>],
        outputs: &'a [Bound<'_, PyString>],
        cuts: &'a Cuts<'_>,
    ) -> Self {
        Heads {
            inputs: inputs.iter().map(text_of).collect(),
            outputs: outputs.iter().map(text_of).collect(),
            cut: cuts
                .iter()
                .map(|(input, at, chars, head)| (*input, *at, *chars, text_of(head)))
                .collect(),
        }
    }

    /// How many inputs (True) or outputs.
    pub(crate) fn len(&self, input: bool) -> usize {
        if input {
            self.inputs.len()
        } else {
            self.outputs.len()
        }
    }

    /// ``text[:chars]`` of input (True) or output `at`, or None when it has no UTF-8.
    pub(crate) fn head(&self, input: bool, at: usize, chars: usize) -> Option<&'a str> {
        let whole = if input {
            self.inputs[at]
        } else {
            self.outputs[at]
        };
        match whole {
            Some(text) => Some(head_of(text, chars)),
            None => self
                .cut
                .iter()
                .find(|(side, index, size, _)| (*side, *index, *size) == (input, at, chars))
                .and_then(|found| found.3),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::head_of;

    #[test]
    fn heads_are_cut_in_characters() {
        assert_eq!(head_of("abcdef", 3), "abc");
        assert_eq!(head_of("abc", 3), "abc");
        assert_eq!(head_of("a\u{2019}bcd", 3), "a\u{2019}b");
        assert_eq!(head_of("\u{2019}\u{2019}", 3), "\u{2019}\u{2019}");
        assert_eq!(head_of("ab\u{2019}", 2), "ab");
    }
}
