//! `watchkeeper.native._core`: the compiled core of watchkeeper's text analysis.
//!
//! Every function returns what the Python code of `watchkeeper.detectors.text` and of the
//! safety and refusal detectors returns, or None where it does not handle the input (a
//! character beyond the accepted set, a lone surrogate): the caller then runs the Python
//! code. The tests in `tests/detectors/test_native.py` hold the two to the same results.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard, TryLockError};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyFrozenSet, PyList, PyString, PyTuple};

mod calls;
mod claims;
mod columns;
mod consistency;
mod cusum;
mod effect;
mod groundedness;
mod injection;
mod otlp;
mod scan;
mod screens;
mod text;
mod words;

use screens::Needles;
use words::WordCache;

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
        // The multiply leaves the low bits (the bucket) depending only on the first bytes:
        // mix the high bits down (splitmix64's finaliser), or words sharing a prefix collide.
        let mut z = self.hash;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// Token spans (byte ranges) of a text.
type Spans = Vec<(usize, usize)>;

/// What is known about one token, looked up once per token of a text.
#[derive(Clone, Copy)]
struct Word {
    /// `zlib.crc32` of the content form (the stable hash of `sketch`).
    crc: u32,
    /// Languages (bits, in the order of `TextAnalyser.languages`) it is a function word of.
    languages: u32,
    /// Its content form, at this index of `Words::forms` (shared by every text holding
    /// the token); `NO_CONTENT` for a stopword, a number, a lone letter.
    content: u32,
}

const NO_CONTENT: u32 = u32::MAX;

/// Texts from which a list method releases the GIL (`detach_for`): for fewer, releasing
/// it and waiting to take it back (up to the switch interval while another thread runs
/// Python) costs more than it frees.
const DETACH_AT: usize = 8;

/// The word cache and the content forms it refers to, cleared together.
struct Words {
    cache: WordCache<Word>,
    /// Content forms, indexed by `Word::content`.
    forms: Vec<Box<str>>,
    /// Their Python strings, made when first needed: words found while the GIL is released
    /// (`analyse_many`) get theirs afterwards.
    strings: Vec<Option<Py<PyString>>>,
    /// Times the cache was emptied: content indices read before a change are stale.
    generation: u64,
    max_words: usize,
}

impl Words {
    /// Empties the cache when it holds `max_words` (between texts, never during one).
    fn bound(&mut self) {
        if self.cache.len() >= self.max_words {
            self.cache.clear();
            self.forms.clear();
            self.strings.clear();
            self.generation += 1;
        }
    }

    /// The Python string of content form `i` (a str is not tracked by the GC: making one
    /// with the cache locked cannot run a finaliser).
    fn string(&mut self, py: Python<'_>, i: u32) -> Py<PyString> {
        let slot = &mut self.strings[i as usize];
        match slot {
            Some(held) => held.clone_ref(py),
            None => {
                let made = PyString::new(py, &self.forms[i as usize]).unbind();
                *slot = Some(made.clone_ref(py));
                made
            }
        }
    }
}

/// The language a text's words vote for.
#[derive(Clone, Copy)]
enum Language {
    /// No letter of the Latin script.
    NoScript,
    /// Latin letters, no function word of a known language.
    Latin,
    /// This index of `TextAnalyser::languages`.
    Label(usize),
}

/// What `analyse` finds in a text, before any Python object is made (so it can be found
/// with the GIL released).
struct Found {
    digest: u32,
    /// Content words (indices of `Words::forms`), when asked for.
    content: Option<Vec<u32>>,
    sketch: Vec<u32>,
    /// Distinct numbers, sorted.
    numbers: Vec<Vec<u8>>,
    /// ``zlib.crc32`` of the numbers joined by spaces (0 without any).
    numbers_hash: u32,
    language: Language,
    guard: u32,
    /// `Words::generation` when the content indices were read.
    generation: u64,
}

/// The buffers of one analysis, kept between calls rather than allocated for each.
#[derive(Default)]
struct Scratch {
    scan: scan::Scan,
    spans: Spans,
    /// The lowered tokens joined by spaces (what the digest hashes), and room to spare.
    joined: Vec<u8>,
    /// The content words (indices of `Words::forms`).
    content: Vec<u32>,
    /// The hashes of the content words: the sketch holds the smallest.
    hashes: Vec<u32>,
    names: Spans,
}

impl Scratch {
    /// Reads `text` and finds its tokens, or None when its charset is not handled.
    fn load(&mut self, text: &str) -> Option<()> {
        self.scan.load(text.as_bytes());
        let charset = self.scan.charset(text)?;
        self.spans.clear();
        self.scan.tokenize(charset, &mut self.spans);
        Some(())
    }
}

/// What `TextAnalyser.analyse` finds in a text: the facts `tokens.TextFacts` holds, by name.
///
/// ``words_digest`` is ``zlib.crc32`` of the lower-cased tokens joined by spaces;
/// ``content_words`` the content words (None unless asked for); ``sketch`` the
/// ``sketch_size`` smallest distinct ``zlib.crc32`` of the content words, sorted (kept as
/// numbers here: the consistency index reads them without a Python int each);
/// ``numbers`` the numbers; ``language`` the language label; ``guard_digest``
/// ``zlib.crc32`` of the sorted numbers joined by spaces, ``|``, and the sorted names
/// joined by spaces; ``numbers_hash`` that of the sorted numbers alone (0 without any).
/// The names themselves are not kept: only the guard reads them where the core runs.
#[pyclass(frozen, module = "watchkeeper.native")]
struct Analysis {
    #[pyo3(get)]
    words_digest: u32,
    #[pyo3(get)]
    content_words: Option<Py<PyTuple>>,
    sketch: Vec<u32>,
    #[pyo3(get)]
    numbers: Py<PyFrozenSet>,
    #[pyo3(get)]
    language: Py<PyString>,
    #[pyo3(get)]
    guard_digest: u32,
    #[pyo3(get)]
    numbers_hash: u32,
}

#[pymethods]
impl Analysis {
    /// The sketch as a tuple of ints (``tokens.content_sketch``), made when read.
    #[getter]
    fn sketch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.sketch)
    }
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
    empty: Py<PyFrozenSet>,
    words: Mutex<Words>,
    scratch: Mutex<Scratch>,
}

impl TextAnalyser {
    fn is_stopword(&self, word: &[u8]) -> bool {
        self.stopwords.contains(word)
    }

    fn new_word(&self, token: &[u8], forms: &mut Vec<Box<str>>) -> Word {
        let form = text::content_form(token, |w| self.is_stopword(w));
        let content = match form {
            Some(f) => {
                // Tokens are ASCII or ASCII with curly apostrophes: valid UTF-8.
                forms.push(std::str::from_utf8(f).unwrap().into());
                (forms.len() - 1) as u32
            }
            None => NO_CONTENT,
        };
        Word {
            crc: form.map_or(0, crc32fast::hash),
            languages: self.language_of.get(token).copied().unwrap_or(0),
            content,
        }
    }

    fn lock_words(&self) -> MutexGuard<'_, Words> {
        self.words.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the analyser's buffers, or with new ones when they are in use (by
    /// another thread, or by this one again from a finaliser run while making an object).
    fn with_scratch<R>(&self, f: impl FnOnce(&mut Scratch) -> R) -> R {
        match self.scratch.try_lock() {
            Ok(mut held) => f(&mut held),
            Err(TryLockError::Poisoned(held)) => f(&mut held.into_inner()),
            Err(TryLockError::WouldBlock) => f(&mut Scratch::default()),
        }
    }

    /// Looks every token up in `words` (making what is new), calling `each` with what is
    /// known of it. Needs no Python object: it runs with the GIL released too.
    fn each_word(
        &self,
        words: &mut Words,
        low: &[u8],
        spans: &[(usize, usize)],
        mut each: impl FnMut((usize, usize), Word),
    ) {
        words.bound();
        for &(a, b) in spans {
            let Words {
                cache,
                forms,
                strings,
                ..
            } = &mut *words;
            let word = cache.get(low, a, b, || {
                let word = self.new_word(&low[a..b], forms);
                if word.content != NO_CONTENT {
                    strings.push(None);
                }
                word
            });
            each((a, b), word);
        }
    }

    /// The content words (indices of `Words::forms`) of the text `scratch` has loaded, in
    /// order, into `content` (emptied first).
    fn content_indices(&self, words: &mut Words, scratch: &Scratch, content: &mut Vec<u32>) {
        content.clear();
        self.each_word(words, scratch.scan.padded(), &scratch.spans, |_, word| {
            if word.content != NO_CONTENT {
                content.push(word.content);
            }
        });
    }

    /// What `analyse` finds in the text `scratch` has loaded (`words` locked by the caller).
    fn measure(&self, scratch: &mut Scratch, words: &mut Words, with_words: bool) -> Found {
        let Scratch {
            scan,
            spans,
            joined,
            content,
            hashes,
            names,
        } = scratch;
        let padded = scan.padded();
        let low = scan.low();

        // Each token is copied with one fixed-size move of `INLINE` bytes (the text is
        // padded): the joined tokens are at most the text and a space long, plus that much.
        joined.clear();
        joined.resize(low.len() + 1 + words::INLINE, 0);
        let mut at = 0;
        content.clear();
        hashes.clear();
        let mut votes = [0u32; 32];
        self.each_word(words, padded, spans, |(a, b), word| {
            let len = b - a;
            if len <= words::INLINE {
                joined[at..at + words::INLINE].copy_from_slice(&padded[a..a + words::INLINE]);
            } else {
                joined[at..at + len].copy_from_slice(&padded[a..b]);
            }
            at += len;
            joined[at] = b' ';
            at += 1;
            if word.content != NO_CONTENT {
                if with_words {
                    content.push(word.content);
                }
                hashes.push(word.crc);
            }
            let mut bits = word.languages;
            while bits != 0 {
                votes[bits.trailing_zeros() as usize] += 1;
                bits &= bits - 1;
            }
        });
        let digest = crc32fast::hash(&joined[..at.saturating_sub(1)]);
        // The `sketch_size` smallest distinct hashes. Sorting a text's few dozen once is
        // simpler, and no slower, than keeping the smallest sorted as they come.
        hashes.sort_unstable();
        hashes.dedup();
        hashes.truncate(self.sketch_size);

        let mut numbers: Vec<Vec<u8>> = Vec::new();
        if scan.has_digit() {
            for &(a, b) in spans.iter() {
                if text::is_number(&low[a..b]) {
                    numbers.push(text::normal_number(&low[a..b]));
                }
            }
            numbers.sort_unstable();
            numbers.dedup();
        }
        names.clear();
        scan.entity_spans(names);
        let mut entities: Vec<&[u8]> = names
            .iter()
            .map(|&(a, b)| &low[a..b])
            .filter(|name| !self.is_stopword(name))
            .collect();
        entities.sort_unstable();
        entities.dedup();
        let stated = numbers.join(&b' ');
        let numbers_hash = if numbers.is_empty() {
            0
        } else {
            crc32fast::hash(&stated)
        };
        let mut guard = crc32fast::Hasher::new();
        guard.update(&stated);
        guard.update(b"|");
        guard.update(&entities.join(&b' '));

        let language = if !scan.has_letter() {
            Language::NoScript
        } else {
            let mut best = Language::Latin;
            let mut best_votes = 0;
            for (i, &n) in votes.iter().enumerate().take(self.languages.len()) {
                if n > best_votes {
                    best = Language::Label(i);
                    best_votes = n;
                }
            }
            best
        };
        Found {
            digest,
            content: with_words.then(|| content.clone()),
            sketch: hashes.clone(),
            numbers,
            numbers_hash,
            language,
            guard: guard.finalize(),
            generation: words.generation,
        }
    }

    /// The Python strings of `found`'s content words, or None when not asked for (read
    /// with `words` locked, and still current).
    fn content_of(py: Python<'_>, found: &Found, words: &mut Words) -> Option<Vec<Py<PyString>>> {
        let content = found.content.as_ref()?;
        Some(content.iter().map(|&i| words.string(py, i)).collect())
    }

    /// The `Analysis` that `analyse` returns, from what `measure` found. Makes GC-tracked
    /// objects: call it with the word cache unlocked (a collection may run a finaliser,
    /// which may analyse a text on this thread).
    fn to_python<'py>(
        &self,
        py: Python<'py>,
        found: &Found,
        content: Option<Vec<Py<PyString>>>,
    ) -> PyResult<Bound<'py, Analysis>> {
        let numbers = if found.numbers.is_empty() {
            self.empty.clone_ref(py)
        } else {
            PyFrozenSet::new(
                py,
                found
                    .numbers
                    .iter()
                    .map(|s| std::str::from_utf8(s).unwrap()),
            )?
            .unbind()
        };
        let language = match found.language {
            Language::NoScript => &self.no_script,
            Language::Latin => &self.latin,
            Language::Label(i) => &self.languages[i],
        };
        let content_words = match content {
            Some(content) => Some(PyTuple::new(py, content)?.unbind()),
            None => None,
        };
        Bound::new(
            py,
            Analysis {
                words_digest: found.digest,
                content_words,
                sketch: found.sketch.clone(),
                numbers,
                language: language.clone_ref(py),
                guard_digest: found.guard,
                numbers_hash: found.numbers_hash,
            },
        )
    }

    /// `analyse` of one text, with the GIL held throughout.
    fn analyse_one<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        with_words: bool,
    ) -> PyResult<Option<Bound<'py, Analysis>>> {
        self.with_scratch(|scratch| {
            if scratch.load(text).is_none() {
                return Ok(None);
            }
            let mut words = self.lock_words();
            let found = self.measure(scratch, &mut words, with_words);
            let content = Self::content_of(py, &found, &mut words);
            drop(words);
            self.to_python(py, &found, content).map(Some)
        })
    }
}

/// The UTF-8 text of a Python string, or None for one holding lone surrogates.
fn text_of<'a>(text: &'a Bound<'_, PyString>) -> Option<&'a str> {
    text.to_str().ok()
}

/// The contexts as Python strings; None when one is not a string (the scorers then give
/// no score, as their Python twins do).
fn context_strings<'py>(
    contexts: &Bound<'py, PyAny>,
) -> PyResult<Option<Vec<Bound<'py, PyString>>>> {
    let mut held = Vec::new();
    for item in contexts.try_iter()? {
        match item?.cast_into::<PyString>() {
            Ok(context) => held.push(context),
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(held))
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
            empty: PyFrozenSet::empty(py)?.unbind(),
            words: Mutex::new(Words {
                cache: WordCache::new(Word {
                    crc: 0,
                    languages: 0,
                    content: NO_CONTENT,
                }),
                forms: Vec::new(),
                strings: Vec::new(),
                generation: 0,
                max_words,
            }),
            scratch: Mutex::default(),
        })
    }

    /// The `Analysis` of ``head`` (a text cut to the characters analysed), or None to leave
    /// it to the Python code. Content words are made only ``with_words`` (they are Python
    /// strings, where the rest is a few numbers).
    #[pyo3(signature = (head, with_words = true))]
    fn analyse<'py>(
        &self,
        py: Python<'py>,
        head: &Bound<'py, PyString>,
        with_words: bool,
    ) -> PyResult<Option<Bound<'py, Analysis>>> {
        let Some(text) = text_of(head) else {
            return Ok(None);
        };
        self.analyse_one(py, text, with_words)
    }

    /// ``[analyse(h, w) for h, w in zip(heads, with_words)]``, with the GIL released for
    /// all but making the results' Python objects, so that the calling thread's analysis
    /// runs beside the other threads' Python.
    ///
    /// The word cache stays locked while the GIL is released, and is not locked again
    /// before the GIL is back: a thread that holds the GIL and waits for the cache only
    /// waits for the analysis itself. Content words found meanwhile get their Python
    /// strings afterwards; a text whose content indices went stale (the cache was emptied
    /// meanwhile, being full) is analysed again.
    fn analyse_many<'py>(
        &self,
        py: Python<'py>,
        heads: Vec<Bound<'py, PyString>>,
        with_words: Vec<bool>,
    ) -> PyResult<Vec<Option<Bound<'py, Analysis>>>> {
        if heads.len() != with_words.len() {
            return Err(PyValueError::new_err(format!(
                "{} texts but {} with_words flags",
                heads.len(),
                with_words.len()
            )));
        }
        // The UTF-8 of each string is read (or made) with the GIL held; `heads` keeps the
        // strings alive, so the borrowed bytes stay valid while it is released.
        let texts: Vec<Option<&str>> = heads.iter().map(text_of).collect();
        let measure_all = || -> Vec<Option<Found>> {
            let mut words = self.lock_words();
            self.with_scratch(|scratch| {
                texts
                    .iter()
                    .zip(&with_words)
                    .map(|(text, &words_too)| {
                        scratch.load((*text)?)?;
                        Some(self.measure(scratch, &mut words, words_too))
                    })
                    .collect()
            })
        };
        let found = detach_for(py, texts.len(), measure_all);
        let mut words = self.lock_words();
        let content: Vec<Option<Option<Vec<Py<PyString>>>>> = found
            .iter()
            .map(|found| {
                let found = found.as_ref()?;
                (found.generation == words.generation)
                    .then(|| Self::content_of(py, found, &mut words))
            })
            .collect();
        drop(words);
        found
            .iter()
            .zip(content)
            .zip(texts.iter().zip(&with_words))
            .map(
                |((found, content), (text, &words_too))| match (found, content) {
                    (None, _) => Ok(None),
                    (Some(found), Some(content)) => self.to_python(py, found, content).map(Some),
                    // Stale: the content indices point into a cache emptied since.
                    (Some(_), None) => self.analyse_one(py, text.unwrap_or_default(), words_too),
                },
            )
            .collect()
    }

    /// Content words of ``head`` (``tokens.content_words``), or None to leave it to Python.
    fn content_words<'py>(
        &self,
        py: Python<'py>,
        head: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(text) = text_of(head) else {
            return Ok(None);
        };
        self.with_scratch(|scratch| {
            if scratch.load(text).is_none() {
                return Ok(None);
            }
            let mut content = Vec::with_capacity(scratch.spans.len());
            let mut words = self.lock_words();
            self.content_indices(&mut words, scratch, &mut content);
            let content: Vec<_> = content.iter().map(|&i| words.string(py, i)).collect();
            drop(words);
            Ok(Some(PyTuple::new(py, content)?))
        })
    }

    /// Each text's content words looked up in each table, with the GIL released (from
    /// `DETACH_AT` texts on): per text, per table, ``(words, found, best)`` — how many
    /// content words it has (``len(tokens.content_words(head))``), how many of them are in
    /// the table, and the highest value among those (-1 for none); None for a text left
    /// to Python. No Python string is made for the words.
    fn look_up_many<'py>(
        &self,
        py: Python<'py>,
        heads: Vec<Bound<'py, PyString>>,
        tables: Vec<Py<WordTable>>,
    ) -> Vec<Option<Vec<(usize, usize, i64)>>> {
        let texts: Vec<Option<&str>> = heads.iter().map(text_of).collect();
        let tables: Vec<&WordTable> = tables.iter().map(Py::get).collect();
        let look_up_all = || -> Vec<Option<Vec<(usize, usize, i64)>>> {
            let mut words = self.lock_words();
            self.with_scratch(|scratch| {
                texts
                    .iter()
                    .map(|text| {
                        scratch.load((*text)?)?;
                        let mut content = std::mem::take(&mut scratch.content);
                        self.content_indices(&mut words, scratch, &mut content);
                        let found = tables
                            .iter()
                            .map(|table| table.look_up(&words.forms, &content))
                            .collect();
                        scratch.content = content;
                        Some(found)
                    })
                    .collect()
            })
        };
        detach_for(py, texts.len(), look_up_all)
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

/// Lower-cases an accepted text, or None (a character beyond the accepted set).
fn lowered(text: &str) -> Option<Vec<u8>> {
    text::charset(text)?;
    Some(text.as_bytes().to_ascii_lowercase())
}

/// `screen` of each text (None where it leaves the text to Python), with the GIL released
/// from `DETACH_AT` texts on: a screen reads bytes only, so the thread that runs the list
/// lets the others run Python meanwhile.
fn screen_many<'py, T: Send>(
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
fn detach_for<T: Send>(py: Python<'_>, texts: usize, work: impl FnOnce() -> T + Send) -> T {
    if texts < DETACH_AT {
        work()
    } else {
        py.detach(work)
    }
}

/// Words with a value each (a detector's vocabulary, its topic keywords), for
/// `TextAnalyser::look_up_many`. Immutable: a detector whose words change makes a new one.
#[pyclass(frozen, module = "watchkeeper.native")]
struct WordTable {
    values: HashMap<Box<str>, i64, FxBuild>,
}

impl WordTable {
    /// ``(words, found, best)`` of the content words `content` (indices of `forms`).
    fn look_up(&self, forms: &[Box<str>], content: &[u32]) -> (usize, usize, i64) {
        let mut found = 0;
        let mut best = -1;
        for &i in content {
            if let Some(&value) = self.values.get(&forms[i as usize]) {
                found += 1;
                best = best.max(value);
            }
        }
        (content.len(), found, best)
    }
}

#[pymethods]
impl WordTable {
    #[new]
    fn new(values: HashMap<String, i64>) -> Self {
        WordTable {
            values: values
                .into_iter()
                .map(|(word, value)| (word.into_boxed_str(), value))
                .collect(),
        }
    }

    fn __len__(&self) -> usize {
        self.values.len()
    }
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
/// separators as ``\d[\d ()./-]{5,}\d`` finds one; and where in the text to look.
#[pyclass(frozen, module = "watchkeeper.native")]
struct PiiScreen {}

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
    if memchr::memchr(b'@', bytes).is_none() && !screens::digit_run(bytes) {
        return Some(Vec::new());
    }
    Some(screens::pii_segments(bytes))
}

/// ``LexicalGroundedness``: support of an answer by its retrieved contexts, in [0, 1]
/// (NaN when the answer has no content words), with analysed passages cached.
///
/// ``score(answer, contexts)`` returns what ``LexicalGroundedness()(answer, contexts)``
/// returns, or None to leave the call to Python (a text beyond the accepted characters).
#[pyclass(frozen, module = "watchkeeper.native")]
struct Groundedness {
    stopwords: HashSet<Box<[u8]>, FxBuild>,
    max_context_chars: usize,
    cache: Mutex<groundedness::EvidenceCache>,
}

#[pymethods]
impl Groundedness {
    #[new]
    fn new(stopwords: HashSet<String>, max_context_chars: usize, cache_size: usize) -> Self {
        Groundedness {
            stopwords: stopwords.iter().map(|w| w.as_bytes().into()).collect(),
            max_context_chars,
            cache: Mutex::new(groundedness::EvidenceCache::new(cache_size)),
        }
    }

    fn score(
        &self,
        answer: &Bound<'_, PyString>,
        contexts: &Bound<'_, PyAny>,
    ) -> PyResult<Option<f64>> {
        let Some(answer) = text_of(answer) else {
            return Ok(None);
        };
        let Some(held) = context_strings(contexts)? else {
            return Ok(None);
        };
        let Some(texts) = held.iter().map(text_of).collect::<Option<Vec<_>>>() else {
            return Ok(None);
        };
        let is_stopword = |w: &[u8]| self.stopwords.contains(w);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        Ok(cache.score(answer, &texts, self.max_context_chars, &is_stopword))
    }
}

/// ``ClaimGroundedness``: support of an answer by its retrieved contexts claim by claim,
/// in [0, 1] (NaN when no claim states anything), with analysed passages cached.
///
/// Made from the word lists the Python scorer reads (stopwords, negations, antonyms as
/// ``{word: opposites}``, pleasantry words). ``score(answer, contexts)`` returns what
/// ``ClaimGroundedness()(answer, contexts)`` returns, or None to leave the call to Python
/// (a text beyond the accepted characters).
#[pyclass(frozen, module = "watchkeeper.native")]
struct ClaimScorer {
    lexicon: claims::Lexicon,
    max_context_chars: usize,
    cache: Mutex<claims::ClaimCache>,
}

fn byte_set(words: HashSet<String>) -> HashSet<Box<[u8]>, FxBuild> {
    words.iter().map(|w| w.as_bytes().into()).collect()
}

#[pymethods]
impl ClaimScorer {
    #[new]
    #[pyo3(signature = (
        stopwords, negations, antonyms, pleasantries, max_context_chars, cache_size,
        synonyms = Vec::new()
    ))]
    fn new(
        stopwords: HashSet<String>,
        negations: HashSet<String>,
        antonyms: HashMap<String, Vec<String>>,
        pleasantries: HashSet<String>,
        max_context_chars: usize,
        cache_size: usize,
        synonyms: Vec<Vec<String>>,
    ) -> Self {
        let antonyms = antonyms
            .into_iter()
            .map(|(w, o)| {
                (
                    w.as_bytes().into(),
                    o.iter().map(|x| x.as_bytes().into()).collect(),
                )
            })
            .collect();
        ClaimScorer {
            lexicon: claims::Lexicon {
                stopwords: byte_set(stopwords),
                negations: byte_set(negations),
                antonyms,
                pleasantries: byte_set(pleasantries),
                synonyms: claims::Synonyms::new(synonyms),
            },
            max_context_chars,
            cache: Mutex::new(claims::ClaimCache::new(cache_size)),
        }
    }

    fn score(
        &self,
        answer: &Bound<'_, PyString>,
        contexts: &Bound<'_, PyAny>,
    ) -> PyResult<Option<f64>> {
        let Some(answer) = text_of(answer) else {
            return Ok(None);
        };
        let Some(held) = context_strings(contexts)? else {
            return Ok(None);
        };
        let Some(texts) = held.iter().map(text_of).collect::<Option<Vec<_>>>() else {
            return Ok(None);
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        Ok(cache.score(answer, &texts, self.max_context_chars, &self.lexicon))
    }
}

/// ``FeatureLookup``'s window totals for the prompt-injection classifier.
///
/// Made from the word numbers (``{word: number}``), the number of a word in no feature,
/// and the feature keys with their weights. ``totals(text, window)`` returns the token
/// count of ``text`` and the total of each of its ``windows(count, window)``, or None to
/// leave a text beyond ASCII to Python.
#[pyclass(frozen, module = "watchkeeper.native")]
struct InjectionFeatures {
    features: injection::Features,
}

/// ``totals_many``'s ``marks``: the features of written texts, each mark's stand-in, and
/// the bytes standing for marks.
type MarksArg<'py> = (Bound<'py, InjectionFeatures>, HashMap<char, char>, Vec<u8>);

#[pymethods]
impl InjectionFeatures {
    #[new]
    fn new(
        numbers: HashMap<Vec<u8>, i64>,
        unknown: i64,
        keys: Vec<i64>,
        weights: Vec<f64>,
    ) -> Self {
        InjectionFeatures {
            features: injection::Features::new(numbers, unknown, keys, weights),
        }
    }

    fn totals(&self, text: &Bound<'_, PyString>, window: usize) -> Option<(usize, Vec<f64>)> {
        self.features.totals(text_of(text)?, window.max(1))
    }

    /// ``[totals(t, window) for t in texts]`` for texts of at most ``max_chars``
    /// characters (None for longer ones), the GIL released; with ``marks`` =
    /// ``(marked, stand_ins, taken)``, a text beyond ASCII is written with ``stand_ins``
    /// (character -> its ASCII stand-in) and totalled by ``marked`` (None when a character
    /// has no stand-in, or the text holds a byte of ``taken``).
    #[pyo3(signature = (texts, window, max_chars, marks=None))]
    fn totals_many<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<Bound<'py, PyString>>,
        window: usize,
        max_chars: usize,
        marks: Option<MarksArg<'py>>,
    ) -> Vec<Option<(usize, Vec<f64>)>> {
        let marks = marks
            .as_ref()
            .map(|(marked, stand_ins, taken)| injection::Marks {
                features: &marked.get().features,
                stand_ins,
                taken,
            });
        let (plain, window) = (&self.features, window.max(1));
        screen_many(py, &texts, |text| {
            injection::totals_within(plain, marks.as_ref(), text, window, max_chars)
        })
    }

    /// The totals of each window of tokens already cut (UTF-8 bytes, lower-cased).
    fn token_totals(&self, tokens: &Bound<'_, PyList>, window: usize) -> PyResult<Vec<f64>> {
        let mut words = Vec::with_capacity(tokens.len());
        for token in tokens.iter() {
            words.push(self.features.number(token.cast::<PyBytes>()?.as_bytes()));
        }
        Ok(self.features.totals_of(&words, window.max(1)))
    }
}

/// ``EquivalenceIndex`` and the answer scoring of ``ConsistencyDrift``, on text facts.
///
/// ``observe(question, answer, answers_per_group)`` groups an input by its facts
/// (``words_digest``, ``content_sketch``, ``guard_digest`` of an `Analysis` or a
/// `Question`), scores the answer (``content_sketch`` and ``numbers_hash`` of an `Analysis`
/// or an `Answer`) against the group's earlier answers (None when there are none), and
/// keeps it if the group has room; ``observe_many(questions, answers, answers_per_group)``
/// does that for each pair in turn. ``state()`` and ``restore(state)`` convert to and from
/// the Python index's state: ``(groups, index, next, evicted)`` with groups least recently
/// used first as ``(gid, sketch, guard, keys, members, outputs)`` and index entries as
/// ``(key, gid)``, keys being ``("=", digest)`` or ``(guard, hash)``.
#[pyclass(frozen, module = "watchkeeper.native")]
struct ConsistencyIndex {
    inner: Mutex<consistency::Index>,
    sketch_size: usize,
}

/// One group as ``EquivalenceIndex.state()`` lists it (keys as Python objects of type `K`).
type GroupState<K> = (i64, Vec<u32>, u32, Vec<K>, u64, Vec<(Vec<u32>, u32)>);
/// ``EquivalenceIndex.state()``: groups, index entries, next group id, groups evicted.
type IndexState<K> = (Vec<GroupState<K>>, Vec<(K, i64)>, i64, u64);

/// An input as the index groups it: ``(words_digest, sketch, guard_digest)`` of
/// ``tokens``, for a text the core did not analyse (an `Analysis` serves as it is).
#[pyclass(frozen, module = "watchkeeper.native")]
struct Question {
    words_digest: u32,
    sketch: Vec<u32>,
    guard_digest: u32,
}

#[pymethods]
impl Question {
    #[new]
    fn new(words_digest: u32, sketch: Vec<u32>, guard_digest: u32) -> Self {
        Question {
            words_digest,
            sketch,
            guard_digest,
        }
    }
}

/// An answer as the index scores it: ``(sketch, numbers_hash)`` of ``tokens``, for a
/// text the core did not analyse (an `Analysis` serves as it is).
#[pyclass(frozen, module = "watchkeeper.native")]
struct Answer {
    sketch: Vec<u32>,
    numbers_hash: u32,
}

#[pymethods]
impl Answer {
    #[new]
    fn new(sketch: Vec<u32>, numbers_hash: u32) -> Self {
        Answer {
            sketch,
            numbers_hash,
        }
    }
}

/// The first `k` numbers of a sketch (``content_sketch(text, k)`` of a longer one).
fn first(sketch: &[u32], k: usize) -> Vec<u32> {
    sketch[..sketch.len().min(k)].to_vec()
}

/// A question and an answer (each an `Analysis`, or a `Question` and an `Answer`) as the
/// index reads them: ``(digest, sketch, guard)`` with the sketch cut to `k`, and
/// ``(sketch, numbers hash)``.
type Observation = ((u32, Vec<u32>, u32), (Vec<u32>, u32));

fn observation(
    question: &Bound<'_, PyAny>,
    answer: &Bound<'_, PyAny>,
    k: usize,
) -> PyResult<Observation> {
    let question = if let Ok(found) = question.cast::<Analysis>() {
        let found = found.get();
        (
            found.words_digest,
            first(&found.sketch, k),
            found.guard_digest,
        )
    } else {
        let asked = question.cast::<Question>()?.get();
        (
            asked.words_digest,
            first(&asked.sketch, k),
            asked.guard_digest,
        )
    };
    let answer = if let Ok(found) = answer.cast::<Analysis>() {
        let found = found.get();
        (found.sketch.clone(), found.numbers_hash)
    } else {
        let told = answer.cast::<Answer>()?.get();
        (told.sketch.clone(), told.numbers_hash)
    };
    Ok((question, answer))
}

fn key_to_py(py: Python<'_>, key: consistency::Key) -> PyResult<Py<PyAny>> {
    Ok(match key {
        consistency::Key::Exact(digest) => ("=", digest).into_pyobject(py)?.into_any().unbind(),
        consistency::Key::Lsh(guard, hash) => (guard, hash).into_pyobject(py)?.into_any().unbind(),
    })
}

fn key_from_py(key: &Bound<'_, PyAny>) -> PyResult<consistency::Key> {
    if let Ok((tag, digest)) = key.extract::<(String, u32)>()
        && tag == "="
    {
        return Ok(consistency::Key::Exact(digest));
    }
    let (guard, hash) = key.extract::<(u32, u32)>()?;
    Ok(consistency::Key::Lsh(guard, hash))
}

#[pymethods]
impl ConsistencyIndex {
    #[new]
    fn new(
        max_groups: usize,
        threshold: f64,
        sketch_size: usize,
        index_keys: usize,
    ) -> PyResult<Self> {
        if max_groups < 1 || index_keys < 1 {
            return Err(PyValueError::new_err(
                "max_groups and index_keys must be at least 1",
            ));
        }
        let index = consistency::Index::new(max_groups, threshold, sketch_size, index_keys);
        Ok(ConsistencyIndex {
            inner: Mutex::new(index),
            sketch_size,
        })
    }

    fn observe(
        &self,
        question: &Bound<'_, PyAny>,
        answer: &Bound<'_, PyAny>,
        answers_per_group: usize,
    ) -> PyResult<Option<f64>> {
        let (question, answer) = observation(question, answer, self.sketch_size)?;
        let mut index = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (digest, sketch, guard) = question;
        Ok(index.observe(
            (digest, &sketch, guard),
            answer,
            answers_per_group,
            self.sketch_size,
        ))
    }

    /// ``observe`` of each (question, answer) in turn, with the GIL released for the index
    /// work: one call per batch.
    fn observe_many(
        &self,
        py: Python<'_>,
        questions: &Bound<'_, PyList>,
        answers: &Bound<'_, PyList>,
        answers_per_group: usize,
    ) -> PyResult<Vec<Option<f64>>> {
        if questions.len() != answers.len() {
            return Err(PyValueError::new_err(
                "observe_many needs one answer per question",
            ));
        }
        let mut pairs = Vec::with_capacity(questions.len());
        for (question, answer) in questions.iter().zip(answers.iter()) {
            pairs.push(observation(&question, &answer, self.sketch_size)?);
        }
        let k = self.sketch_size;
        Ok(py.detach(|| {
            let mut index = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            pairs
                .into_iter()
                .map(|((digest, sketch, guard), answer)| {
                    index.observe((digest, &sketch, guard), answer, answers_per_group, k)
                })
                .collect()
        }))
    }

    fn state(&self, py: Python<'_>) -> PyResult<IndexState<Py<PyAny>>> {
        let index = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut groups = Vec::with_capacity(index.groups.len());
        for gid in index.order() {
            let group = &index.groups[&gid];
            let keys = group
                .keys
                .iter()
                .map(|&k| key_to_py(py, k))
                .collect::<PyResult<Vec<_>>>()?;
            groups.push((
                gid,
                group.sketch.clone(),
                group.guard,
                keys,
                group.members,
                group.outputs.clone(),
            ));
        }
        let mut entries = Vec::with_capacity(index.index.len());
        for (&key, &gid) in &index.index {
            entries.push((key_to_py(py, key)?, gid));
        }
        Ok((groups, entries, index.next, index.evicted))
    }

    fn restore(
        &self,
        groups: Vec<GroupState<Bound<'_, PyAny>>>,
        entries: Vec<(Bound<'_, PyAny>, i64)>,
        next: i64,
        evicted: u64,
    ) -> PyResult<()> {
        let mut index = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut fresh = consistency::Index::new(
            index.max_groups,
            index.threshold,
            index.sketch_size,
            index.index_keys,
        );
        for (gid, sketch, guard, keys, members, outputs) in groups {
            let keys = keys.iter().map(key_from_py).collect::<PyResult<Vec<_>>>()?;
            let group = fresh.push_group(gid, sketch, guard, keys);
            group.members = members;
            group.outputs = outputs;
        }
        for (key, gid) in entries {
            fresh.index.insert(key_from_py(&key)?, gid);
        }
        fresh.next = next;
        fresh.evicted = evicted;
        *index = fresh;
        Ok(())
    }
}

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::calls::{decode_calls, decode_run, decode_trace_run};
    #[pymodule_export]
    use super::columns::record_columns;
    #[pymodule_export]
    use super::cusum::{cell_scores, cusum_steps};
    #[pymodule_export]
    use super::effect::{effect_extend, page_run};
    #[pymodule_export]
    use super::otlp::decode_traces;
    #[pymodule_export]
    use super::{
        Analysis, Answer, ClaimScorer, ConsistencyIndex, Groundedness, InjectionFeatures,
        InjectionScreen, NeedleScreen, PiiScreen, Question, TextAnalyser, WordTable,
    };
}

#[cfg(test)]
mod bench {
    use super::*;
    use std::time::Instant;

    fn time<F: FnMut(&str) -> usize>(label: &str, texts: &[&str], mut f: F) {
        let rounds = 100;
        let mut best = f64::MAX;
        let mut sink = 0;
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..rounds {
                for text in texts {
                    sink += f(text);
                }
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / (rounds * texts.len()) as f64);
        }
        println!("{label:20} {best:.3} us/text ({sink})");
    }

    #[test]
    #[ignore]
    fn bench_parts() {
        let all = std::fs::read_to_string("/tmp/texts.txt").unwrap();
        let texts: Vec<&str> = all.split('\x1e').collect();
        let needles: Vec<Vec<u8>> = [
            "ignore",
            "disregard",
            "forget",
            "override",
            "bypass",
            "prompt",
            "instruction",
            "developer",
            "you are now",
            "now on you are",
            "act as",
            "pretend",
            "roleplay as",
            "jailbr",
            "do anything now",
            "dan mode",
            "god mode",
            "restrictions",
            "limitations",
            "filters",
            "censorship",
            "ethical",
            "im_start",
            "endoftext",
            "inst]",
            "<system",
            "<|system",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let screen = Needles::new(needles);
        let mut spans = Vec::new();
        time("lower", &texts, |t| t.as_bytes().to_ascii_lowercase().len());
        time("charset", &texts, |t| text::charset(t).is_some() as usize);
        time("needles", &texts, |t| {
            screen.any_in(&t.as_bytes().to_ascii_lowercase()) as usize
        });
        time("system", &texts, |t| {
            screens::system_role(t.as_bytes()) as usize
        });
        time("payload", &texts, |t| {
            screens::payload_run(t.as_bytes(), 120) as usize
        });
        time("digit run", &texts, |t| {
            screens::digit_run(t.as_bytes()) as usize
        });
        time("tokenize", &texts, |t| {
            spans.clear();
            text::tokenize(
                &t.as_bytes().to_ascii_lowercase(),
                text::charset(t).unwrap(),
                &mut spans,
            );
            spans.len()
        });
        let mut map: HashMap<Box<[u8]>, u64, FxBuild> = HashMap::default();
        time("tokenize+lookup", &texts, |t| {
            spans.clear();
            let low = t.as_bytes().to_ascii_lowercase();
            text::tokenize(&low, text::charset(t).unwrap(), &mut spans);
            let mut hits = 0;
            for &(a, b) in &spans {
                match map.get(&low[a..b]) {
                    Some(v) => hits += *v as usize,
                    None => {
                        map.insert(low[a..b].into(), 1);
                    }
                }
            }
            hits
        });
        let stop: HashSet<Box<[u8]>, FxBuild> = "a about above after again against all also am an and any are as at be because been before being below between both but by can cannot could did do does doing down during each few for from further get got had has have having he her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other ought our ours ourselves out over own please same she should so some such tell than that the their theirs them themselves then there these they this those through to too under until up us very was we were what when where which while who whom why will with would you your yours yourself yourselves hi hey hello thanks thank okay ok yes yeah know like want need one".split(' ').map(|w| w.as_bytes().into()).collect();
        time("tokenize+stop+crc", &texts, |t| {
            spans.clear();
            let low = t.as_bytes().to_ascii_lowercase();
            text::tokenize(&low, text::charset(t).unwrap(), &mut spans);
            let mut h = 0u32;
            for &(a, b) in &spans {
                if let Some(form) = text::content_form(&low[a..b], |w| stop.contains(w)) {
                    h ^= crc32fast::hash(form);
                }
            }
            h as usize
        });
        let mut cache: WordCache<u32> = WordCache::new(0);
        time("tokenize+wordcache", &texts, |t| {
            spans.clear();
            let mut low = t.as_bytes().to_ascii_lowercase();
            let n = low.len();
            low.extend_from_slice(&[0u8; 16]);
            text::tokenize(&low[..n], text::charset(t).unwrap(), &mut spans);
            let mut h = 0u32;
            for &(a, b) in &spans {
                h ^= cache.get(&low, a, b, || crc32fast::hash(&low[a..b]));
            }
            h as usize
        });
        let mut entities = Vec::new();
        time("entities", &texts, |t| {
            entities.clear();
            text::entity_spans(t.as_bytes(), &mut entities);
            entities.len()
        });
    }
}
