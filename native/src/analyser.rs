//! `TextAnalyser`: tokens, content words, sketch, digests and language of a text's head,
//! and `WordTable`, the vocabularies its content words are looked up in.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyString, PyTuple};

use crate::detach::{detach_for, text_of};
use crate::fxhash::FxBuild;
use crate::screen_classes::{AheadScreens, Heads, ScreenArg, cut_heads};
use crate::words::WordCache;
use crate::{scan, text, words};

/// ``(words, found, best)`` of a text's content words in a `WordTable`.
type WordCounts = (usize, usize, i64);

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

/// What `new_word` makes of a token that starts with a digit and is no function word: no
/// content form (hence no hash), no language.
const NUMBER_WORD: Word = Word {
    crc: 0,
    languages: 0,
    content: NO_CONTENT,
};

/// Word tables whose look-ups an analyser keeps (`Words::in_tables`): every route's
/// vocabulary and topic keywords, for a few routes.
const MEMO_TABLES: usize = 16;

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
    /// Per `WordTable` (by `WordTable::id`) the content forms were last looked up in, each
    /// form's value there once looked up (indexed like `forms`): a word met again is not
    /// hashed again. At most `MEMO_TABLES` tables are kept.
    in_tables: Vec<(u64, Vec<Option<Option<i64>>>)>,
}

impl Words {
    /// Empties the cache when it holds `max_words` (between texts, never during one).
    fn bound(&mut self) {
        if self.cache.len() >= self.max_words {
            self.cache.clear();
            self.forms.clear();
            self.strings.clear();
            self.in_tables.clear();
            self.generation += 1;
        }
    }

    /// ``(words, found, best)`` of the content words `content` in `table`.
    fn look_up(&mut self, table: &WordTable, content: &[u32]) -> WordCounts {
        let at = match self.in_tables.iter().position(|(id, _)| *id == table.id) {
            Some(at) => at,
            None => {
                // The oldest goes: tables are replaced, never changed (a detector whose
                // words changed makes a new one).
                if self.in_tables.len() == MEMO_TABLES {
                    self.in_tables.remove(0);
                }
                self.in_tables.push((table.id, Vec::new()));
                self.in_tables.len() - 1
            }
        };
        let memo = &mut self.in_tables[at].1;
        memo.resize(self.forms.len(), None);
        let (mut found, mut best) = (0, -1);
        for &i in content {
            let value = *memo[i as usize]
                .get_or_insert_with(|| table.values.get(&self.forms[i as usize]).copied());
            if let Some(value) = value {
                found += 1;
                best = best.max(value);
            }
        }
        (content.len(), found, best)
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
    /// Distinct numbers, sorted, joined by spaces (empty without any).
    numbers: Vec<u8>,
    /// ``zlib.crc32`` of the numbers joined by spaces (0 without any).
    numbers_hash: u32,
    language: Language,
    guard: u32,
    /// `Words::generation` when the content indices were read.
    generation: u64,
    /// Per table asked for, the ``(words, found, best)`` of the content words (only with
    /// the content words).
    counts: Vec<WordCounts>,
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
/// ``numbers`` the numbers (a frozenset made when read: the detectors read their hash and
/// the guard, seldom the numbers); ``language`` the language label; ``guard_digest``
/// ``zlib.crc32`` of the sorted numbers joined by spaces, ``|``, and the sorted names
/// joined by spaces; ``numbers_hash`` that of the sorted numbers alone (0 without any).
/// The names themselves are not kept: only the guard reads them where the core runs.
#[pyclass(frozen, module = "watchkeeper.native")]
pub(crate) struct Analysis {
    #[pyo3(get)]
    pub(crate) words_digest: u32,
    #[pyo3(get)]
    content_words: Option<Py<PyTuple>>,
    pub(crate) sketch: Vec<u32>,
    /// Distinct numbers, sorted, joined by spaces (empty without any).
    numbers: Box<[u8]>,
    #[pyo3(get)]
    language: Py<PyString>,
    #[pyo3(get)]
    pub(crate) guard_digest: u32,
    #[pyo3(get)]
    pub(crate) numbers_hash: u32,
}

#[pymethods]
impl Analysis {
    /// The sketch as a tuple of ints (``tokens.content_sketch``), made when read.
    #[getter]
    fn sketch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.sketch)
    }

    /// The numbers as a frozenset of str, made when read.
    #[getter]
    fn numbers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
        if self.numbers.is_empty() {
            return PyFrozenSet::empty(py);
        }
        // Numbers are ASCII digits, `.` and `,`: valid UTF-8 without a space.
        PyFrozenSet::new(
            py,
            self.numbers
                .split(|&b| b == b' ')
                .map(|n| std::str::from_utf8(n).unwrap()),
        )
    }
}

/// Analysis of a text's first characters: what `tokens.py` and `language.py` compute.
///
/// Built once from the Python tables (stopwords, function words), so they stay defined in
/// one place.
#[pyclass(frozen, module = "watchkeeper.native")]
pub(crate) struct TextAnalyser {
    stopwords: HashSet<Box<[u8]>, FxBuild>,
    /// Language labels, sorted: ties in votes go to the first, as `max(sorted(votes))` does.
    languages: Vec<Py<PyString>>,
    language_of: HashMap<Box<[u8]>, u32, FxBuild>,
    latin: Py<PyString>,
    no_script: Py<PyString>,
    sketch_size: usize,
    /// No function word starts with a digit: every token that does is `NUMBER_WORD`, known
    /// without the word cache (numbers are most of the words a text brings that no other
    /// text has, ids and amounts, and would fill the cache).
    digits_plain: bool,
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
        let Words {
            cache,
            forms,
            strings,
            ..
        } = words;
        for &(a, b) in spans {
            // One call of `each` (inlined, as it is the measure's inner loop).
            let word = if self.digits_plain && low[a].is_ascii_digit() {
                NUMBER_WORD
            } else {
                cache.get(low, a, b, || {
                    let word = self.new_word(&low[a..b], forms);
                    if word.content != NO_CONTENT {
                        strings.push(None);
                    }
                    word
                })
            };
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
    fn measure(
        &self,
        scratch: &mut Scratch,
        words: &mut Words,
        with_words: bool,
        tables: &[&WordTable],
    ) -> Found {
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
            numbers: stated,
            numbers_hash,
            language,
            guard: guard.finalize(),
            generation: words.generation,
            counts: if with_words {
                tables
                    .iter()
                    .map(|table| words.look_up(table, content))
                    .collect()
            } else {
                Vec::new()
            },
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
                numbers: found.numbers.as_slice().into(),
                language: language.clone_ref(py),
                guard_digest: found.guard,
                numbers_hash: found.numbers_hash,
            },
        )
    }

    /// `analyse_many`, with the content words' counts in `tables` (`analyse_looking_up`).
    #[allow(clippy::type_complexity)]
    fn analyse_all<'py>(
        &self,
        py: Python<'py>,
        heads: &[Bound<'py, PyString>],
        with_words: &[bool],
        tables: &[&WordTable],
    ) -> PyResult<(
        Vec<Option<Bound<'py, Analysis>>>,
        Vec<Option<Vec<WordCounts>>>,
    )> {
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
        let found = detach_for(py, texts.len(), || {
            self.measure_all(&texts, with_words, tables)
        });
        self.to_analyses(py, found, &texts, with_words)
    }

    /// What `measure` finds in each text (None for those left to Python), the word
    /// cache locked throughout. Needs no Python object: it runs with the GIL released.
    fn measure_all(
        &self,
        texts: &[Option<&str>],
        with_words: &[bool],
        tables: &[&WordTable],
    ) -> Vec<Option<Found>> {
        let mut words = self.lock_words();
        self.with_scratch(|scratch| {
            texts
                .iter()
                .zip(with_words)
                .map(|(text, &words_too)| {
                    scratch.load((*text)?)?;
                    Some(self.measure(scratch, &mut words, words_too, tables))
                })
                .collect()
        })
    }

    /// The analyses of `measure_all`'s `found` in `texts`, and the counts of those with
    /// their content words.
    #[allow(clippy::type_complexity)]
    fn to_analyses<'py>(
        &self,
        py: Python<'py>,
        mut found: Vec<Option<Found>>,
        texts: &[Option<&str>],
        with_words: &[bool],
    ) -> PyResult<(
        Vec<Option<Bound<'py, Analysis>>>,
        Vec<Option<Vec<WordCounts>>>,
    )> {
        let counts = found
            .iter_mut()
            .zip(with_words)
            .map(|(found, &words_too)| {
                let found = found.as_mut()?;
                words_too.then(|| std::mem::take(&mut found.counts))
            })
            .collect();
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
        let analyses = found
            .iter()
            .zip(content)
            .zip(texts.iter().zip(with_words))
            .map(
                |((found, content), (text, &words_too))| match (found, content) {
                    (None, _) => Ok(None),
                    (Some(found), Some(content)) => self.to_python(py, found, content).map(Some),
                    // Stale: the content indices point into a cache emptied since.
                    (Some(_), None) => self.analyse_one(py, text.unwrap_or_default(), words_too),
                },
            )
            .collect::<PyResult<_>>()?;
        Ok((analyses, counts))
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
            let found = self.measure(scratch, &mut words, with_words, &[]);
            let content = Self::content_of(py, &found, &mut words);
            drop(words);
            self.to_python(py, &found, content).map(Some)
        })
    }
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
            digits_plain: !function_words
                .keys()
                .any(|w| w.as_bytes().first().is_some_and(u8::is_ascii_digit)),
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
                in_tables: Vec::new(),
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
        Ok(self.analyse_all(py, &heads, &with_words, &[])?.0)
    }

    /// ``(analyse_many(heads, with_words), counts)``: the texts' content words are also
    /// looked up in ``tables`` as they are found, rather than read again by
    /// ``look_up_many``. ``counts`` holds, per text analysed with its content words,
    /// ``look_up_many``'s counts for it (None for the other texts, and those left to Python).
    #[allow(clippy::type_complexity)]
    fn analyse_looking_up<'py>(
        &self,
        py: Python<'py>,
        heads: Vec<Bound<'py, PyString>>,
        with_words: Vec<bool>,
        tables: Vec<Py<WordTable>>,
    ) -> PyResult<(
        Vec<Option<Bound<'py, Analysis>>>,
        Vec<Option<Vec<WordCounts>>>,
    )> {
        let tables: Vec<&WordTable> = tables.iter().map(Py::get).collect();
        self.analyse_all(py, &heads, &with_words, &tables)
    }

    /// Everything the texts threads find in a run, with the GIL released once: the
    /// analyses of the inputs' then the outputs' first ``max_chars`` characters (as
    /// ``analyse_looking_up`` gives them, the inputs with their content words); per table
    /// of ``tables``, ``{input: counts}``; per screen of ``screens`` (``(screen, input,
    /// head)``: a `NeedleScreen`, `InjectionScreen`, `PiiScreen` or `TotalsScreen`, True
    /// when it reads the inputs, the characters it reads), ``{text: verdict}``. A text
    /// left to Python (by the analysis, a table or a screen) is not a key.
    #[allow(clippy::type_complexity)]
    fn analyse_ahead<'py>(
        &self,
        py: Python<'py>,
        inputs: Vec<Bound<'py, PyString>>,
        outputs: Vec<Bound<'py, PyString>>,
        max_chars: usize,
        tables: Vec<Py<WordTable>>,
        screens: Vec<ScreenArg<'py>>,
    ) -> PyResult<(
        Vec<Option<Bound<'py, Analysis>>>,
        Vec<Bound<'py, PyDict>>,
        Vec<Bound<'py, PyDict>>,
    )> {
        let checks = AheadScreens::of(&screens)?;
        let mut sizes = vec![(true, max_chars), (false, max_chars)];
        sizes.extend(checks.sizes());
        // The UTF-8 of each string is read with the GIL held; `inputs`, `outputs` and
        // `cuts` keep the strings alive while it is released.
        let cuts = cut_heads(&inputs, &outputs, &sizes)?;
        let texts = Heads::new(&inputs, &outputs, &cuts);
        let heads: Vec<Option<&str>> = (0..inputs.len())
            .map(|at| texts.head(true, at, max_chars))
            .chain((0..outputs.len()).map(|at| texts.head(false, at, max_chars)))
            .collect();
        let mut with_words = vec![true; inputs.len()];
        with_words.resize(heads.len(), false);
        let tables: Vec<&WordTable> = tables.iter().map(Py::get).collect();
        let (found, verdicts) = detach_for(py, heads.len(), || {
            let found = self.measure_all(&heads, &with_words, &tables);
            (found, checks.run(&texts))
        });
        let (analyses, counts) = self.to_analyses(py, found, &heads, &with_words)?;
        let mut looked_up = Vec::with_capacity(tables.len());
        for at in 0..tables.len() {
            let held = PyDict::new(py);
            for (text, counts) in inputs.iter().zip(&counts) {
                if let Some(counts) = counts {
                    held.set_item(text, counts[at])?;
                }
            }
            looked_up.push(held);
        }
        Ok((
            analyses,
            looked_up,
            checks.by_text(py, verdicts, &inputs, &outputs)?,
        ))
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
                            .map(|table| words.look_up(table, &content))
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

/// Words with a value each (a detector's vocabulary, its topic keywords), for
/// `TextAnalyser::look_up_many`. Immutable: a detector whose words change makes a new one.
#[pyclass(frozen, module = "watchkeeper.native")]
pub(crate) struct WordTable {
    values: HashMap<Box<str>, i64, FxBuild>,
    /// Which table this is, for the analysers' memo of look-ups (`Words::in_tables`).
    id: u64,
}

/// The next `WordTable::id`.
static TABLES_MADE: AtomicU64 = AtomicU64::new(0);

#[pymethods]
impl WordTable {
    #[new]
    fn new(values: HashMap<String, i64>) -> Self {
        WordTable {
            values: values
                .into_iter()
                .map(|(word, value)| (word.into_boxed_str(), value))
                .collect(),
            id: TABLES_MADE.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn __len__(&self) -> usize {
        self.values.len()
    }
}
