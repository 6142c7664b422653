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
use crate::words::{INLINE, PADDING, WordCache};

const PAIR_KEY: i64 = 1 << 24;

/// No feature (in `Features::index`'s numbering).
const NO_FEATURE: u32 = u32::MAX;

pub struct Features {
    numbers: HashMap<Box<[u8]>, i64, FxBuild>,
    /// The words of `numbers` of up to `INLINE` bytes again, looked up without hashing
    /// their bytes (nearly every token of a text).
    short: WordCache<i64>,
    unknown: i64,
    /// Feature key -> its index in `values`. Indices follow the keys' order, so a sum
    /// over sorted indices is taken in the order of the sorted keys.
    index: HashMap<i64, u32, FxBuild>,
    values: Vec<f64>,
    /// The feature index of word number `n` at `direct[n]` (every number from 0 to the
    /// highest when they are that dense; else empty): a word's own feature without hashing.
    direct: Vec<u32>,
}

/// Python's ``str.isspace`` on ASCII.
const fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t'..=b'\r' | 0x1c..=0x1f)
}

const fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

const SPACE: u8 = 1;
const WORD: u8 = 2;

/// `SPACE` and `WORD` of each byte: one load per byte instead of a chain of compares.
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = if is_space(byte) { SPACE } else { 0 } | if is_word(byte) { WORD } else { 0 };
        b += 1;
    }
    table
};

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
        let mut short = WordCache::new(0);
        for (word, &n) in numbers.iter().filter(|(w, _)| w.len() <= INLINE) {
            let mut padded = word.clone();
            padded.resize(word.len() + PADDING, 0);
            short.get(&padded, 0, word.len(), || n);
        }
        // A key given twice keeps its last weight.
        let weights: HashMap<i64, f64> = keys.into_iter().zip(weights).collect();
        let mut sorted: Vec<(i64, f64)> = weights.into_iter().collect();
        sorted.sort_unstable_by_key(|&(key, _)| key);
        let index: HashMap<i64, u32, FxBuild> = sorted
            .iter()
            .enumerate()
            .map(|(i, &(key, _))| (key, i as u32))
            .collect();
        let top = numbers
            .values()
            .chain([&unknown])
            .copied()
            .max()
            .unwrap_or(0);
        let direct = if top >= 0 && top <= 4 * (numbers.len() as i64 + 1) {
            (0..=top)
                .map(|n| index.get(&n).copied().unwrap_or(NO_FEATURE))
                .collect()
        } else {
            Vec::new()
        };
        Features {
            numbers: numbers
                .into_iter()
                .map(|(w, n)| (w.into_boxed_slice(), n))
                .collect(),
            short,
            unknown,
            index,
            values: sorted.into_iter().map(|(_, value)| value).collect(),
            direct,
        }
    }

    /// The word numbers of ``text``'s tokens, or None beyond ASCII.
    fn words(&self, text: &str) -> Option<Vec<i64>> {
        if !text.is_ascii() {
            return None;
        }
        // Lowering the whole text lowers the word tokens' letters and leaves the other
        // tokens (single ASCII characters that are not letters) as they are.
        let n = text.len();
        let mut low = Vec::with_capacity(n + PADDING);
        low.extend(text.bytes().map(|b| b.to_ascii_lowercase()));
        low.resize(n + PADDING, 0);
        let mut words = Vec::with_capacity(n / 4);
        let mut at = 0;
        while at < n {
            let class = CLASSES[low[at] as usize];
            if class == SPACE {
                at += 1;
                continue;
            }
            let start = at;
            at += 1;
            if class == WORD {
                // The padding's zeros end a run at the text's end.
                while CLASSES[low[at] as usize] == WORD {
                    at += 1;
                }
            }
            words.push(if at - start <= INLINE {
                self.short.find(&low, start, at).unwrap_or(self.unknown)
            } else {
                self.number(&low[start..at])
            });
        }
        Some(words)
    }

    /// The feature index of a key, or `NO_FEATURE`.
    fn feature(&self, key: i64) -> u32 {
        self.index.get(&key).copied().unwrap_or(NO_FEATURE)
    }

    /// The feature index of a word number's own key, or `NO_FEATURE`.
    fn word_feature(&self, word: i64) -> u32 {
        match usize::try_from(word).ok().and_then(|n| self.direct.get(n)) {
            Some(&i) => i,
            None => self.feature(word),
        }
    }

    /// The total of one window: the distinct features of its tokens (`features[at]`: the
    /// word's and the pair's ending there).
    fn total(&self, features: &[[u32; 2]], start: usize, end: usize, found: &mut Vec<u32>) -> f64 {
        found.clear();
        for pair in &features[start..end] {
            found.extend(pair.iter().copied().filter(|&i| i != NO_FEATURE));
        }
        found.sort_unstable();
        found.dedup();
        found.iter().map(|&i| self.values[i as usize]).sum()
    }

    /// The word number of a token (its UTF-8 bytes, lower-cased).
    pub fn number(&self, token: &[u8]) -> i64 {
        *self.numbers.get(token).unwrap_or(&self.unknown)
    }

    /// The total of each window of ``size`` tokens given their word numbers.
    pub fn totals_of(&self, words: &[i64], size: usize) -> Vec<f64> {
        // Each token's features are looked up once, not once per window holding it.
        let features: Vec<[u32; 2]> = (0..words.len())
            .map(|at| {
                let pair = match at {
                    0 => NO_FEATURE,
                    _ => self.feature((words[at - 1] + 1) * PAIR_KEY + words[at]),
                };
                [self.word_feature(words[at]), pair]
            })
            .collect();
        // A window's features, at most two per token: room for them all from the start.
        let mut found = Vec::with_capacity(2 * words.len().min(size));
        windows(words.len(), size)
            .into_iter()
            .map(|(start, end)| self.total(&features, start, end, &mut found))
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
        let mut taken = [false; 128];
        for &b in self.taken.iter().filter(|b| b.is_ascii()) {
            taken[b as usize] = true;
        }
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if c.is_ascii() {
                if taken[c as usize] {
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

/// The highest window total of a text of `count` tokens divided by the square root of its
/// window's length (at least `min_window`), as ``InjectionModel.scores`` reads
/// `totals`: a short text's one window is `count` long, every other `size` long. Ties
/// keep the first total, as Python's ``max`` does.
pub fn best(count: usize, totals: &[f64], size: usize, min_window: usize) -> f64 {
    let Some((&first, rest)) = totals.split_first() else {
        return f64::NAN;
    };
    if count <= size {
        return first / (count.max(min_window) as f64).sqrt();
    }
    let mut top = first;
    for &total in rest {
        if total > top {
            top = total;
        }
    }
    top / (size.max(min_window) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::best;

    #[test]
    fn best_reads_a_short_texts_one_window_and_the_top_of_the_others() {
        assert_eq!(best(4, &[2.0], 256, 8), 2.0 / 8f64.sqrt());
        assert_eq!(best(16, &[4.0], 256, 8), 1.0);
        assert_eq!(best(300, &[1.0, 32.0, 3.0], 256, 8), 2.0);
    }
}
