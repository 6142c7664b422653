//! Lexical groundedness of an answer in its contexts, as `LexicalGroundedness` scores it.
//!
//! Mirrors `watchkeeper/detectors/faithfulness/groundedness.py`: the answer is cut into
//! sentences (`SENTENCE_END.split`), each sentence's content words and adjacent pairs are
//! looked up in what the passages contain, numbers and names not in the passages lower the
//! sentence's support, and sentences are weighted by their content words. The arithmetic is
//! done in the same order as in Python, so the float is the same.

use std::collections::{HashMap, HashSet};

use crate::FxBuild;
use crate::text;

/// What a passage contains, in the forms an answer is checked against. Words are ids of an
/// [`EvidenceCache`]'s interner.
#[derive(Default)]
struct Evidence {
    words: HashSet<u32, FxBuild>,
    bigrams: HashSet<u64, FxBuild>,
    numbers: HashSet<Vec<u8>, FxBuild>,
}

/// Analysed passages (retrieval returns the same documents again and again), bounded.
pub struct EvidenceCache {
    interner: HashMap<Box<[u8]>, u32, FxBuild>,
    passages: HashMap<Box<str>, Evidence, FxBuild>,
    cache_size: usize,
}

/// Characters a piece of text is tokenized in at most (`tokens.MAX_CHARS`).
pub const MAX_CHARS: usize = 4000;
/// Words the interner holds before the whole cache is dropped.
const MAX_WORDS: usize = 1 << 20;

/// Each passage of ``cut`` as analysed: from the cache, else from ``fresh`` (the passages
/// analysed for this call, which the cache may not have kept).
pub(crate) fn cached_or_fresh<'a, T>(
    cut: &[&str],
    fresh: &'a [(&str, T)],
    cached: impl Fn(&str) -> Option<&'a T>,
) -> Vec<&'a T> {
    cut.iter()
        .map(|p| match cached(p) {
            Some(analysed) => analysed,
            None => {
                &fresh
                    .iter()
                    .find(|(q, _)| q == p)
                    .expect("analysed above")
                    .1
            }
        })
        .collect()
}

/// Byte offset of character `chars` of `text` (its length when shorter).
pub(crate) fn char_offset(text: &str, chars: usize) -> usize {
    if text.is_ascii() {
        return chars.min(text.len());
    }
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

/// Tokens of `piece` (lower-cased, with its own charset), as `tokens.tokenize` finds them.
pub(crate) fn tokens_of(
    piece: &str,
    low: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) -> Option<()> {
    let charset = text::charset(piece)?;
    low.clear();
    low.extend(piece.bytes().map(|b| b.to_ascii_lowercase()));
    spans.clear();
    text::tokenize(low, charset, spans);
    Some(())
}

/// `SENTENCE_END.split(text)` for `(?<=[.!?\u3002])\s+|\n+`, as byte ranges.
pub(crate) fn sentences(text: &[u8]) -> Vec<(usize, usize)> {
    let n = text.len();
    let space_at = |i: usize| -> usize {
        // Length of the whitespace character at i (0 when none).
        if i < n && text::ascii_space(text[i]) {
            1
        } else if i + 1 < n && text[i] == 0xc2 && text[i + 1] == 0xa0 {
            2
        } else {
            0
        }
    };
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < n {
        let after_mark = i > 0 && matches!(text[i - 1], b'.' | b'!' | b'?');
        let end = if after_mark && space_at(i) > 0 {
            let mut j = i;
            while space_at(j) > 0 {
                j += space_at(j);
            }
            j
        } else if text[i] == b'\n' {
            let mut j = i;
            while j < n && text[j] == b'\n' {
                j += 1;
            }
            j
        } else {
            i += 1;
            continue;
        };
        pieces.push((start, i));
        start = end;
        i = end;
    }
    pieces.push((start, n));
    pieces
}

impl EvidenceCache {
    pub fn new(cache_size: usize) -> Self {
        EvidenceCache {
            interner: HashMap::default(),
            passages: HashMap::default(),
            cache_size,
        }
    }

    fn intern(&mut self, word: &[u8]) -> u32 {
        if let Some(&id) = self.interner.get(word) {
            return id;
        }
        let id = self.interner.len() as u32;
        self.interner.insert(word.into(), id);
        id
    }

    /// What `passage` (already cut) contains, or None when it is left to Python.
    fn analyse(&mut self, passage: &str, is_stopword: &dyn Fn(&[u8]) -> bool) -> Option<Evidence> {
        let mut evidence = Evidence::default();
        let (mut low, mut spans) = (Vec::new(), Vec::new());
        let mut rest = passage;
        while !rest.is_empty() {
            // Tokenized MAX_CHARS characters at a time, as `_Evidence` does.
            let (chunk, tail) = rest.split_at(char_offset(rest, MAX_CHARS));
            rest = tail;
            tokens_of(chunk, &mut low, &mut spans)?;
            let mut previous: Option<u32> = None;
            for &(a, b) in &spans {
                let token = &low[a..b];
                if text::is_number(token) {
                    evidence.numbers.insert(text::normal_number(token));
                }
                if let Some(form) = text::content_form(token, is_stopword) {
                    let id = self.intern(form);
                    evidence.words.insert(id);
                    if let Some(p) = previous {
                        evidence
                            .bigrams
                            .insert((u64::from(p) << 32) | u64::from(id));
                    }
                    previous = Some(id);
                }
            }
        }
        Some(evidence)
    }

    /// The answer's support by the passages, or None to leave the call to Python.
    pub fn score(
        &mut self,
        answer: &str,
        contexts: &[&str],
        max_context_chars: usize,
        is_stopword: &dyn Fn(&[u8]) -> bool,
    ) -> Option<f64> {
        let head = &answer[..char_offset(answer, MAX_CHARS)];
        text::charset(head)?;
        if self.interner.len() >= MAX_WORDS {
            self.interner.clear();
            self.passages.clear();
        }
        let cut: Vec<&str> = contexts
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| &c[..char_offset(c, max_context_chars)])
            .collect();
        if cut.is_empty() {
            return Some(f64::NAN);
        }
        // Passages not seen before are analysed here and cached after scoring.
        let mut fresh: Vec<(&str, Evidence)> = Vec::new();
        for &passage in &cut {
            if !self.passages.contains_key(passage) && !fresh.iter().any(|(p, _)| *p == passage) {
                let evidence = self.analyse(passage, is_stopword)?;
                fresh.push((passage, evidence));
            }
        }
        let score = self.score_with(head, &cut, &fresh, is_stopword);
        if self.passages.len() + fresh.len() > self.cache_size {
            self.passages.clear();
        }
        for (passage, evidence) in fresh.into_iter().take(self.cache_size) {
            self.passages.insert(passage.into(), evidence);
        }
        score
    }

    fn score_with(
        &self,
        head: &str,
        cut: &[&str],
        fresh: &[(&str, Evidence)],
        is_stopword: &dyn Fn(&[u8]) -> bool,
    ) -> Option<f64> {
        let passages = cached_or_fresh(cut, fresh, |p| self.passages.get(p));
        let id_of = |word: &[u8]| self.interner.get(word).copied();
        let has_word =
            |id: Option<u32>| id.is_some_and(|id| passages.iter().any(|e| e.words.contains(&id)));
        let has_pair = |a: Option<u32>, b: Option<u32>| match (a, b) {
            (Some(a), Some(b)) => {
                let pair = (u64::from(a) << 32) | u64::from(b);
                passages.iter().any(|e| e.bigrams.contains(&pair))
            }
            _ => false,
        };

        // Names the passages never mention (as content words), lower-cased.
        let original = head.as_bytes();
        let mut name_spans = Vec::new();
        text::entity_spans(original, &mut name_spans);
        let unsupported: HashSet<Vec<u8>, FxBuild> = name_spans
            .iter()
            .map(|&(a, b)| original[a..b].to_ascii_lowercase())
            .filter(|name| !is_stopword(name) && !has_word(id_of(name)))
            .collect();

        let (mut low, mut spans) = (Vec::new(), Vec::new());
        let mut total = 0.0f64;
        let mut total_weight = 0usize;
        for (a, b) in sentences(original) {
            let piece = &head[a..b];
            tokens_of(piece, &mut low, &mut spans)?;
            let mut ids = Vec::new();
            for &(s, e) in &spans {
                if let Some(form) = text::content_form(&low[s..e], is_stopword) {
                    ids.push(id_of(form));
                }
            }
            let n = ids.len();
            if n == 0 {
                continue;
            }
            let found = ids.iter().filter(|&&id| has_word(id)).count();
            let mut supported = found as f64 / n as f64;
            if n > 1 {
                let paired = ids.windows(2).filter(|w| has_pair(w[0], w[1])).count();
                supported = (supported + paired as f64 / (n - 1) as f64) / 2.0;
            }
            let unknown_number = spans.iter().any(|&(s, e)| {
                let token = &low[s..e];
                text::is_number(token)
                    && !passages
                        .iter()
                        .any(|p| p.numbers.contains(&text::normal_number(token)))
            });
            if unknown_number {
                supported *= 0.5;
            }
            if !unsupported.is_empty()
                && spans.iter().any(|&(s, e)| unsupported.contains(&low[s..e]))
            {
                supported *= 0.75;
            }
            total += supported * n as f64;
            total_weight += n;
        }
        Some(if total_weight > 0 {
            total / total_weight as f64
        } else {
            f64::NAN
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        sentences(text.as_bytes())
            .into_iter()
            .map(|(a, b)| &text[a..b])
            .collect()
    }

    #[test]
    fn sentences_split_as_the_pattern() {
        assert_eq!(
            split("It works. Really?  Yes!\nSure\n\nok"),
            ["It works.", "Really?", "Yes!", "Sure", "ok"]
        );
        assert_eq!(split("a\n \nb"), ["a", " ", "b"]);
        assert_eq!(split("a.\n \nb."), ["a.", "b."]);
        assert_eq!(split(""), [""]);
        assert_eq!(split("\nx"), ["", "x"]);
    }

    #[test]
    fn scores_like_the_docstring() {
        let stop =
            |w: &[u8]| matches!(w, b"are" | b"of" | b"with" | b"a" | b"our" | b"the" | b"in");
        let mut cache = EvidenceCache::new(8);
        let contexts = ["Refunds are accepted within 30 days of purchase with a receipt."];
        assert_eq!(
            cache.score(
                "Refunds are accepted within 30 days.",
                &contexts,
                20_000,
                &stop
            ),
            Some(1.0)
        );
        assert_eq!(
            cache.score(
                "Refunds are accepted within 90 days.",
                &contexts,
                20_000,
                &stop
            ),
            Some(0.5)
        );
    }
}
