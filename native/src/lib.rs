//! `watchkeeper.native._core`: the compiled core of watchkeeper's text analysis.
//!
//! Every function returns what the Python code of `watchkeeper.detectors.text` and of the
//! safety and refusal detectors returns, or None where it does not handle the input (a
//! character beyond the accepted set, a lone surrogate): the caller then runs the Python
//! code. The tests in `tests/detectors/test_native.py` hold the two to the same results.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

mod analyser;
mod calls;
mod claims;
mod columns;
mod consistency;
mod cusum;
mod detach;
mod effect;
mod fxhash;
mod groundedness;
mod injection;
mod otlp;
mod pii;
mod scan;
mod screen_classes;
mod screens;
mod text;
mod words;

use analyser::Analysis;
use detach::text_of;
use fxhash::FxBuild;

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
pub(crate) struct InjectionFeatures {
    pub(crate) features: injection::Features,
}

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
    use super::analyser::{Analysis, TextAnalyser, WordTable};
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
    use super::screen_classes::{InjectionScreen, NeedleScreen, PiiScreen, TotalsScreen};
    #[pymodule_export]
    use super::{Answer, ClaimScorer, ConsistencyIndex, Groundedness, InjectionFeatures, Question};
}

#[cfg(test)]
mod bench {
    use super::*;
    use crate::screens::{self, Needles};
    use crate::text;
    use crate::words::WordCache;
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
