//! `watchkeeper.native._core`: the compiled core of watchkeeper's text analysis.
//!
//! Every function returns what the Python code of `watchkeeper.detectors.text` and of the
//! safety and refusal detectors returns, or None where it does not handle the input (a
//! character beyond the accepted set, a lone surrogate): the caller then runs the Python
//! code. The tests in `tests/detectors/test_native.py` hold the two to the same results.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyFrozenSet, PyString, PyTuple};

mod otlp;
mod screens;
mod text;

use screens::Needles;

/// A fast hash for short words (rustc's FxHash). Not collision-resistant: the word cache is
/// filled from traffic, so it is bounded (``max_words``) and cleared when full.
#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// What is known about one token, looked up once per token of a text.
struct Word {
    /// Its content form as a Python string (shared by every text holding the token), or
    /// None for a stopword, a number or a lone character.
    content: Option<Py<PyString>>,
    /// `zlib.crc32` of the content form (the stable hash of `sketch`).
    crc: u32,
    /// Languages (bits, in the order of `TextAnalyser.languages`) it is a function word of.
    languages: u32,
}

/// Analysis of a text's first characters: what `tokens.py` and `language.py` compute.
///
/// Built once from the Python tables (stopwords, function words), so they stay defined in
/// one place.
#[pyclass(frozen, module = "watchkeeper.native")]
struct TextAnalyser {
    stopwords: HashSet<Box<[u8]>, FxBuild>,
    /// Language labels, sorted: ties in votes go to the first, as `max(sorted(votes))` does.
    languages: Vec<Py<PyString>>,
    language_of: HashMap<Box<[u8]>, u32, FxBuild>,
    latin: Py<PyString>,
    no_script: Py<PyString>,
    sketch_size: usize,
    max_words: usize,
    words: Mutex<HashMap<Box<[u8]>, Word, FxBuild>>,
}

impl TextAnalyser {
    fn is_stopword(&self, word: &[u8]) -> bool {
        self.stopwords.contains(word)
    }

    fn new_word(&self, py: Python<'_>, token: &[u8]) -> Word {
        let form = text::content_form(token, |w| self.is_stopword(w));
        Word {
            // Tokens are ASCII or ASCII with curly apostrophes: valid UTF-8.
            content: form.map(|f| PyString::new(py, std::str::from_utf8(f).unwrap()).unbind()),
            crc: form.map_or(0, crc32fast::hash),
            languages: self.language_of.get(token).copied().unwrap_or(0),
        }
    }
}

/// The UTF-8 text of a Python string, or None for one holding lone surrogates.
fn text_of<'a>(text: &'a Bound<'_, PyString>) -> Option<&'a str> {
    text.to_str().ok()
}

#[pymethods]
impl TextAnalyser {
    #[new]
    #[pyo3(signature = (stopwords, function_words, sketch_size, max_words = 100_000))]
    fn new(
        py: Python<'_>,
        stopwords: HashSet<String>,
        function_words: HashMap<String, Vec<String>>,
        sketch_size: usize,
        max_words: usize,
    ) -> PyResult<Self> {
        let mut labels: Vec<&String> = function_words.values().flatten().collect();
        labels.sort();
        labels.dedup();
        if labels.len() > 32 {
            return Err(PyValueError::new_err("at most 32 languages"));
        }
        let mut language_of: HashMap<Box<[u8]>, u32, FxBuild> = HashMap::default();
        for (word, langs) in &function_words {
            let mut bits = 0u32;
            for lang in langs {
                bits |= 1 << labels.iter().position(|l| *l == lang).unwrap();
            }
            language_of.insert(word.as_bytes().into(), bits);
        }
        Ok(TextAnalyser {
            stopwords: stopwords.iter().map(|w| w.as_bytes().into()).collect(),
            languages: labels
                .iter()
                .map(|l| PyString::intern(py, l).unbind())
                .collect(),
            language_of,
            latin: PyString::intern(py, "latin").unbind(),
            no_script: PyString::intern(py, "none").unbind(),
            sketch_size,
            max_words,
            words: Mutex::new(HashMap::default()),
        })
    }

    /// ``(digest, content_words, sketch, numbers, entities, language)`` of ``head`` (a text
    /// cut to the characters analysed), or None to leave it to the Python code.
    ///
    /// ``digest`` is ``zlib.crc32`` of the lower-cased tokens joined by spaces; ``sketch``
    /// the ``sketch_size`` smallest distinct ``zlib.crc32`` of the content words, sorted.
    fn analyse<'py>(
        &self,
        py: Python<'py>,
        head: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(text) = text_of(head) else {
            return Ok(None);
        };
        let Some(charset) = text::charset(text) else {
            return Ok(None);
        };
        let original = text.as_bytes();
        let low = original.to_ascii_lowercase();
        let mut spans = Vec::with_capacity(low.len() / 4);
        text::tokenize(&low, charset, &mut spans);

        let mut joined = Vec::with_capacity(low.len());
        for &(a, b) in &spans {
            if !joined.is_empty() {
                joined.push(b' ');
            }
            joined.extend_from_slice(&low[a..b]);
        }
        let digest = crc32fast::hash(&joined);

        let mut content = Vec::with_capacity(spans.len());
        let mut hashes = Vec::with_capacity(spans.len());
        let mut votes = [0u32; 32];
        {
            let mut words = self.words.lock().unwrap_or_else(|e| e.into_inner());
            if words.len() > self.max_words {
                words.clear();
            }
            for &(a, b) in &spans {
                let token = &low[a..b];
                let word = match words.get(token) {
                    Some(word) => word,
                    None => words
                        .entry(token.into())
                        .or_insert(self.new_word(py, token)),
                };
                if let Some(form) = &word.content {
                    content.push(form.bind(py).clone());
                    hashes.push(word.crc);
                }
                let mut bits = word.languages;
                while bits != 0 {
                    votes[bits.trailing_zeros() as usize] += 1;
                    bits &= bits - 1;
                }
            }
        }
        hashes.sort_unstable();
        hashes.dedup();
        hashes.truncate(self.sketch_size);

        let mut numbers: Vec<Vec<u8>> = Vec::new();
        if low.iter().any(u8::is_ascii_digit) {
            for &(a, b) in &spans {
                if text::is_number(&low[a..b]) {
                    numbers.push(text::normal_number(&low[a..b]));
                }
            }
            numbers.sort_unstable();
            numbers.dedup();
        }
        let mut entity_spans = Vec::new();
        text::entity_spans(original, &mut entity_spans);
        let entities: Vec<&[u8]> = entity_spans
            .iter()
            .map(|&(a, b)| &low[a..b])
            .filter(|name| !self.is_stopword(name))
            .collect();

        let language = if !text::has_latin_letter(original) {
            &self.no_script
        } else {
            let mut best = None;
            let mut best_votes = 0;
            for (i, &n) in votes.iter().enumerate().take(self.languages.len()) {
                if n > best_votes {
                    best = Some(i);
                    best_votes = n;
                }
            }
            best.map_or(&self.latin, |i| &self.languages[i])
        };

        let strings = |items: &[&[u8]]| {
            PyFrozenSet::new(py, items.iter().map(|s| std::str::from_utf8(s).unwrap()))
        };
        let numbers: Vec<&[u8]> = numbers.iter().map(Vec::as_slice).collect();
        let result = (
            digest,
            PyTuple::new(py, content)?,
            PyTuple::new(py, hashes)?,
            strings(&numbers)?,
            strings(&entities)?,
            language.bind(py).clone(),
        );
        Ok(Some(result.into_pyobject(py)?))
    }

    /// Lower-cased tokens of ``head`` (``tokens.tokenize``), or None to leave it to Python.
    fn tokenize<'py>(
        &self,
        py: Python<'py>,
        head: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(text) = text_of(head) else {
            return Ok(None);
        };
        let Some(charset) = text::charset(text) else {
            return Ok(None);
        };
        let low = text.as_bytes().to_ascii_lowercase();
        let mut spans = Vec::new();
        text::tokenize(&low, charset, &mut spans);
        let tokens = spans
            .iter()
            .map(|&(a, b)| std::str::from_utf8(&low[a..b]).unwrap());
        Ok(Some(PyTuple::new(py, tokens)?))
    }
}

/// Lower-cases an accepted text, or None (a character beyond the accepted set, a surrogate).
fn lowered(text: &Bound<'_, PyString>) -> Option<Vec<u8>> {
    let text = text_of(text)?;
    text::charset(text)?;
    Some(text.as_bytes().to_ascii_lowercase())
}

/// Screen of a pattern whose every match holds one of a few substrings.
///
/// ``may_match(text)``: ``any(needle in text.lower() for needle in needles)``, or None to
/// leave it to Python.
#[pyclass(frozen, module = "watchkeeper.native")]
struct NeedleScreen {
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
        lowered(text).map(|low| self.needles.any_in(&low))
    }
}

/// Screen of the prompt-injection patterns (``prompt_injection._may_match``).
///
/// ``may_match(text)``: True when the lower-cased text holds a needle, a system role
/// (``system\s*:`` or ``#\s*system``) or ``payload`` characters of base64 in a row.
#[pyclass(frozen, module = "watchkeeper.native")]
struct InjectionScreen {
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
        let low = lowered(text)?;
        Some(
            self.needles.any_in(&low)
                || screens::system_role(&low)
                || screens::payload_run(&low, self.payload),
        )
    }
}

/// Screen of the PII patterns (``pii.find_pii``): an ``@``, or a run of digits and
/// separators as ``\d[\d ()./-]{5,}\d`` finds one.
#[pyclass(frozen, module = "watchkeeper.native")]
struct PiiScreen {}

#[pymethods]
impl PiiScreen {
    #[new]
    fn new() -> Self {
        PiiScreen {}
    }

    fn may_match(&self, text: &Bound<'_, PyString>) -> Option<bool> {
        let text = text_of(text)?;
        text::charset(text)?;
        let bytes = text.as_bytes();
        Some(bytes.contains(&b'@') || screens::digit_run(bytes))
    }
}

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::{InjectionScreen, NeedleScreen, PiiScreen, TextAnalyser};
    #[pymodule_export]
    use super::otlp::decode_traces;
}
