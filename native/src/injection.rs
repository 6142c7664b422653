//! The prompt-injection classifier's window totals (``injection_features.FeatureLookup``).
//!
//! A text's tokens are runs of ASCII letters, digits and ``_`` and single other non-space
//! characters, lower-cased; each becomes its word number (``unknown`` for a word in no
//! feature). Token ``i`` brings its word's key and the key of the pair ending there,
//! ``(previous + 1) * 2**24 + word``. A window's total is the sum of the weights of the
//! distinct features among its keys; the shipped weights make every such sum exact, so it
//! does not depend on the order it is taken in. Texts beyond ASCII are left to Python,
//! whose notions of letters, space and lower case differ from Rust's there.

use std::collections::HashMap;

use super::FxBuild;

const PAIR_KEY: i64 = 1 << 24;

pub struct Features {
    numbers: HashMap<Box<[u8]>, i64, FxBuild>,
    unknown: i64,
    weights: HashMap<i64, f64, FxBuild>,
}

/// Python's ``str.isspace`` on ASCII.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f)
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// ``(start, end)`` of ``injection_model.windows(count, size)``.
pub fn windows(count: usize, size: usize) -> Vec<(usize, usize)> {
    if count <= size {
        return vec![(0, count)];
    }
    let step = (size / 2).max(1);
    let mut starts: Vec<usize> = (0..count - size).step_by(step).collect();
    starts.push(count - size);
    starts.into_iter().map(|s| (s, s + size)).collect()
}

impl Features {
    pub fn new(
        numbers: HashMap<Vec<u8>, i64>,
        unknown: i64,
        keys: Vec<i64>,
        weights: Vec<f64>,
    ) -> Self {
        Features {
            numbers: numbers
                .into_iter()
                .map(|(w, n)| (w.into_boxed_slice(), n))
                .collect(),
            unknown,
            weights: keys.into_iter().zip(weights).collect(),
        }
    }

    /// The word numbers of ``text``'s tokens, or None beyond ASCII.
    fn words(&self, text: &str) -> Option<Vec<i64>> {
        if !text.is_ascii() {
            return None;
        }
        let bytes = text.as_bytes();
        let mut words = Vec::new();
        let mut token: Vec<u8> = Vec::with_capacity(32);
        let mut at = 0;
        while at < bytes.len() {
            let byte = bytes[at];
            if is_space(byte) {
                at += 1;
                continue;
            }
            token.clear();
            if is_word(byte) {
                while at < bytes.len() && is_word(bytes[at]) {
                    token.push(bytes[at].to_ascii_lowercase());
                    at += 1;
                }
            } else {
                token.push(byte);
                at += 1;
            }
            words.push(*self.numbers.get(token.as_slice()).unwrap_or(&self.unknown));
        }
        Some(words)
    }

    /// The total of one window: its words and the pairs ending in it.
    fn total(&self, words: &[i64], start: usize, end: usize, found: &mut Vec<i64>) -> f64 {
        found.clear();
        for at in start..end {
            let word = words[at];
            if self.weights.contains_key(&word) {
                found.push(word);
            }
            if at > 0 {
                let pair = (words[at - 1] + 1) * PAIR_KEY + word;
                if self.weights.contains_key(&pair) {
                    found.push(pair);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found.iter().map(|key| self.weights[key]).sum()
    }

    /// The word number of a token (its UTF-8 bytes, lower-cased).
    pub fn number(&self, token: &[u8]) -> i64 {
        *self.numbers.get(token).unwrap_or(&self.unknown)
    }

    /// The total of each window of ``size`` tokens given their word numbers.
    pub fn totals_of(&self, words: &[i64], size: usize) -> Vec<f64> {
        let mut found = Vec::new();
        windows(words.len(), size)
            .into_iter()
            .map(|(start, end)| self.total(words, start, end, &mut found))
            .collect()
    }

    /// The token count of ``text`` and the total of each of its windows of ``size``
    /// tokens, or None beyond ASCII.
    pub fn totals(&self, text: &str, size: usize) -> Option<(usize, Vec<f64>)> {
        let words = self.words(text)?;
        Some((words.len(), self.totals_of(&words, size)))
    }
}

/// How the classifier reads a text beyond ASCII that holds only marks and spaces there
/// (``injection_ascii.AsciiForm``): each such character written as its ASCII stand-in,
/// then totalled by features that know the stand-ins.
pub struct Marks<'a> {
    /// The features the written texts are totalled by.
    pub features: &'a Features,
    /// Character beyond ASCII -> its stand-in; a text with any other is left to Python.
    pub stand_ins: &'a HashMap<char, char>,
    /// Bytes that stand for marks: a text already holding one is left to Python.
    pub taken: &'a [u8],
}

impl Marks<'_> {
    /// ``text`` with every character beyond ASCII written as its stand-in, or None.
    fn write(&self, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if c.is_ascii() {
                if self.taken.contains(&(c as u8)) {
                    return None;
                }
                out.push(c);
            } else {
                out.push(*self.stand_ins.get(&c)?);
            }
        }
        Some(out)
    }
}

/// ``totals`` of a text of at most ``max_chars`` characters as the classifier reads it:
/// by ``plain`` when it is ASCII, else written by ``marks``; None for a longer text, or
/// one left to Python.
pub fn totals_within(
    plain: &Features,
    marks: Option<&Marks<'_>>,
    text: &str,
    size: usize,
    max_chars: usize,
) -> Option<(usize, Vec<f64>)> {
    let ascii = text.is_ascii();
    let chars = if ascii {
        text.len()
    } else {
        text.chars().count()
    };
    if chars > max_chars {
        return None;
    }
    if ascii {
        return plain.totals(text, size);
    }
    let marks = marks?;
    marks.features.totals(&marks.write(text)?, size)
}
