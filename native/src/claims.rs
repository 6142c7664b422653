//! Claim-by-claim groundedness, as `ClaimGroundedness` scores it.
//!
//! Mirrors `watchkeeper/detectors/faithfulness/claims.py` and `source_index.py`: passages
//! are cut into sentences and indexed by content word; each answer sentence (a claim) is
//! aligned to the context sentence sharing most of its distinct content words, scored by
//! its words and word pairs found in the contexts and its words found around the aligned
//! sentence, then cut for negations, antonyms, numbers and names that disagree. The
//! arithmetic is done in the same order as in Python, so the float is the same.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use crate::FxBuild;
use crate::groundedness::{MAX_CHARS, cached_or_fresh, char_offset, sentences, tokens_of};
use crate::text;

const NEGATION_FACTOR: f64 = 0.5;
const ANTONYM_FACTOR: f64 = 0.5;
const NUMBER_ELSEWHERE_FACTOR: f64 = 0.7;
const NUMBER_ABSENT_FACTOR: f64 = 0.5;
const NAME_ELSEWHERE_FACTOR: f64 = 0.85;
const NAME_ABSENT_FACTOR: f64 = 0.6;
const NAMES_SWAPPED_FACTOR: f64 = 0.75;
const WORST_CLAIM_WEIGHT: f64 = 0.5;
/// Words the interner holds before the whole cache is dropped.
const MAX_WORDS: usize = 1 << 20;

type Bytes = Box<[u8]>;

/// The word lists the scorer reads: `STOPWORDS`, `NEGATIONS`, `ANTONYMS`, `PLEASANTRY_WORDS`
/// and the synonym groups.
pub struct Lexicon {
    pub stopwords: HashSet<Bytes, FxBuild>,
    pub negations: HashSet<Bytes, FxBuild>,
    pub antonyms: HashMap<Bytes, Vec<Bytes>, FxBuild>,
    pub pleasantries: HashSet<Bytes, FxBuild>,
    pub synonyms: Synonyms,
}

/// `SynonymTable`: groups of words of one meaning, and the groups of each word.
#[derive(Default)]
pub struct Synonyms {
    groups: Vec<Vec<Bytes>>,
    of: HashMap<Bytes, Vec<u32>, FxBuild>,
}

impl Synonyms {
    pub fn new(groups: Vec<Vec<String>>) -> Self {
        let mut of: HashMap<Bytes, Vec<u32>, FxBuild> = HashMap::default();
        let groups: Vec<Vec<Bytes>> = groups
            .into_iter()
            .map(|g| g.iter().map(|w| w.as_bytes().into()).collect())
            .collect();
        for (at, group) in groups.iter().enumerate() {
            for word in group {
                of.entry(word.clone()).or_default().push(at as u32);
            }
        }
        Synonyms { groups, of }
    }
}

/// `ASIDE.sub(" ", text)`: each innermost `(...)` replaced by a space.
fn without_asides(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'(' {
            let next = text[i + 1..].iter().position(|&b| b == b'(' || b == b')');
            if let Some(len) = next.filter(|&len| text[i + 1 + len] == b')') {
                out.push(b' ');
                i += len + 2;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

impl Lexicon {
    fn is_stopword(&self, word: &[u8]) -> bool {
        self.stopwords.contains(word)
    }

    /// `negation_count`: negating tokens, and tokens ending in "n't" (either apostrophe).
    fn negation_count<'a>(&self, tokens: impl Iterator<Item = &'a [u8]>) -> usize {
        let curly = "n\u{2019}t".as_bytes();
        tokens
            .map(|t| {
                usize::from(self.negations.contains(t))
                    + usize::from(t.ends_with(b"n't") || t.ends_with(curly))
            })
            .sum()
    }
}

/// A sentence of a passage or of the answer: its lowered bytes and token spans, its
/// content words (interned ids; None for a word no passage holds).
struct Sentence {
    low: Vec<u8>,
    spans: Vec<(usize, usize)>,
    words: Vec<Option<u32>>,
}

impl Sentence {
    fn tokens(&self) -> impl Iterator<Item = &[u8]> + Clone {
        self.spans.iter().map(|&(a, b)| &self.low[a..b])
    }

    /// `numbers_of(tokens)`, each once.
    fn numbers(&self) -> Vec<Vec<u8>> {
        let mut found: Vec<Vec<u8>> = Vec::new();
        for token in self.tokens().filter(|t| text::is_number(t)) {
            let number = text::normal_number(token);
            if !found.contains(&number) {
                found.push(number);
            }
        }
        found
    }
}

/// One passage's sentences, words, word pairs, numbers, names and where each word is.
#[derive(Default)]
struct Passage {
    sentences: Vec<Sentence>,
    bigrams: HashSet<u64, FxBuild>,
    where_: HashMap<u32, Vec<u32>, FxBuild>,
    numbers: HashSet<Vec<u8>, FxBuild>,
    entities: HashSet<Vec<u8>, FxBuild>,
}

/// Names (`find_entities`) of `original`, lower-cased, stopwords left out.
fn entities_of(original: &[u8], lexicon: &Lexicon) -> Vec<Vec<u8>> {
    let mut spans = Vec::new();
    text::entity_spans(original, &mut spans);
    let mut names: Vec<Vec<u8>> = Vec::new();
    for (a, b) in spans {
        let name = original[a..b].to_ascii_lowercase();
        if !lexicon.is_stopword(&name) && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Analysed passages, the oldest dropped first past `cache_size` (the same documents come
/// back in varying company); the interner of their content words.
pub struct ClaimCache {
    interner: HashMap<Bytes, u32, FxBuild>,
    passages: HashMap<Arc<str>, Passage, FxBuild>,
    order: VecDeque<Arc<str>>,
    cache_size: usize,
}

impl ClaimCache {
    pub fn new(cache_size: usize) -> Self {
        ClaimCache {
            interner: HashMap::default(),
            passages: HashMap::default(),
            order: VecDeque::new(),
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

    /// `PassageIndex(passage)`, or None when a character is left to Python.
    fn analyse(&mut self, passage: &str, lexicon: &Lexicon) -> Option<Passage> {
        let mut index = Passage::default();
        let guess = passage.len().min(1 << 16) / 8;
        index.where_.reserve(guess);
        index.bigrams.reserve(guess);
        let mut rest = passage;
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(char_offset(rest, MAX_CHARS));
            rest = tail;
            for (a, b) in sentences(chunk.as_bytes()) {
                let piece = &chunk[a..b];
                let (mut low, mut spans) = (Vec::new(), Vec::new());
                tokens_of(piece, &mut low, &mut spans)?;
                let at = index.sentences.len() as u32;
                let mut words = Vec::new();
                for &(s, e) in &spans {
                    let token = &low[s..e];
                    if text::is_number(token) {
                        index.numbers.insert(text::normal_number(token));
                    }
                    if let Some(form) = text::content_form(token, |w| lexicon.is_stopword(w)) {
                        let id = self.intern(form);
                        if let Some(&Some(previous)) = words.last() {
                            index
                                .bigrams
                                .insert((u64::from(previous) << 32) | u64::from(id));
                        }
                        words.push(Some(id));
                        let found = index.where_.entry(id).or_default();
                        if found.last() != Some(&at) {
                            found.push(at);
                        }
                    }
                }
                index
                    .entities
                    .extend(entities_of(piece.as_bytes(), lexicon));
                index.sentences.push(Sentence { low, spans, words });
            }
        }
        Some(index)
    }

    /// The answer's support by the contexts, or None to leave the call to Python.
    pub fn score(
        &mut self,
        answer: &str,
        contexts: &[&str],
        max_context_chars: usize,
        lexicon: &Lexicon,
    ) -> Option<f64> {
        let given: Vec<&str> = contexts.iter().copied().filter(|c| !c.is_empty()).collect();
        if given.is_empty() {
            return Some(f64::NAN);
        }
        let head = &answer[..char_offset(answer, MAX_CHARS)];
        text::charset(head)?;
        if self.interner.len() >= MAX_WORDS {
            self.interner.clear();
            self.passages.clear();
            self.order.clear();
        }
        let cut: Vec<&str> = given
            .iter()
            .map(|c| &c[..char_offset(c, max_context_chars)])
            .collect();
        let mut fresh: Vec<(&str, Passage)> = Vec::new();
        for &passage in &cut {
            if !self.passages.contains_key(passage) && !fresh.iter().any(|(p, _)| *p == passage) {
                let index = self.analyse(passage, lexicon)?;
                fresh.push((passage, index));
            }
        }
        let score = self.score_with(head, &cut, &fresh, lexicon);
        for (passage, index) in fresh {
            let key: Arc<str> = passage.into();
            self.order.push_back(key.clone());
            self.passages.insert(key, index);
        }
        while self.passages.len() > self.cache_size {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.passages.remove(&oldest);
        }
        score
    }

    fn score_with(
        &self,
        head: &str,
        cut: &[&str],
        fresh: &[(&str, Passage)],
        lexicon: &Lexicon,
    ) -> Option<f64> {
        let passages = cached_or_fresh(cut, fresh, |p| self.passages.get(p));
        let source = Source {
            passages,
            interner: &self.interner,
            lexicon,
        };
        let mut weights: Vec<usize> = Vec::new();
        let mut scores: Vec<f64> = Vec::new();
        for (a, b) in sentences(head.as_bytes()) {
            let piece = &head[a..b];
            let (mut low, mut spans) = (Vec::new(), Vec::new());
            tokens_of(piece, &mut low, &mut spans)?;
            let forms: Vec<&[u8]> = spans
                .iter()
                .filter_map(|&(s, e)| text::content_form(&low[s..e], |w| lexicon.is_stopword(w)))
                .collect();
            if forms.is_empty() || forms.iter().all(|f| lexicon.pleasantries.contains(*f)) {
                continue;
            }
            let words = forms
                .iter()
                .map(|f| self.interner.get(*f).copied())
                .collect();
            let claim = Sentence { low, spans, words };
            weights.push(claim.words.len());
            scores.push(source.support(piece, &claim));
        }
        if weights.is_empty() {
            return Some(f64::NAN);
        }
        let mut total = 0.0f64;
        for (&w, &s) in weights.iter().zip(&scores) {
            total += w as f64 * s;
        }
        let mean = total / weights.iter().sum::<usize>() as f64;
        let worst = scores.iter().copied().fold(f64::INFINITY, f64::min);
        Some(mean - WORST_CLAIM_WEIGHT * (mean - worst))
    }
}

/// The passages of one call (`SourceIndex`).
struct Source<'a> {
    passages: Vec<&'a Passage>,
    interner: &'a HashMap<Bytes, u32, FxBuild>,
    lexicon: &'a Lexicon,
}

impl Source<'_> {
    fn has_word(&self, id: Option<u32>) -> bool {
        id.is_some_and(|id| self.passages.iter().any(|p| p.where_.contains_key(&id)))
    }

    fn has_pair(&self, a: Option<u32>, b: Option<u32>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => {
                let pair = (u64::from(a) << 32) | u64::from(b);
                self.passages.iter().any(|p| p.bigrams.contains(&pair))
            }
            _ => false,
        }
    }

    /// `SourceIndex.align`: (passage, sentence) holding most distinct words, first on ties.
    fn align(&self, words: &[Option<u32>]) -> Option<(&Passage, usize)> {
        let mut distinct: Vec<u32> = words.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut best: Option<(u32, usize, usize)> = None;
        let mut counts: Vec<u32> = Vec::new();
        for (p, passage) in self.passages.iter().enumerate() {
            counts.clear();
            counts.resize(passage.sentences.len(), 0);
            for id in &distinct {
                if let Some(found) = passage.where_.get(id) {
                    for &at in found {
                        counts[at as usize] += 1;
                    }
                }
            }
            let mut top = 0;
            let mut first = 0;
            for (at, &count) in counts.iter().enumerate() {
                if count > top {
                    top = count;
                    first = at;
                }
            }
            if top > 0 && best.is_none_or(|(t, _, _)| top > t) {
                best = Some((top, p, first));
            }
        }
        best.map(|(_, p, at)| (self.passages[p], at))
    }

    fn support(&self, original: &str, claim: &Sentence) -> f64 {
        let words = self.possessed(claim);
        let Some((passage, at)) = self.align(&words) else {
            return 0.0;
        };
        let aligned = &passage.sentences[at];
        let around =
            &passage.sentences[at.saturating_sub(1)..(at + 2).min(passage.sentences.len())];
        let in_window = |id: Option<u32>| {
            id.is_some_and(|id| around.iter().any(|s| s.words.contains(&Some(id))))
        };
        let words = self.paraphrased(words, claim, &in_window);
        let n = words.len();
        let mut found = words.iter().filter(|&&id| self.has_word(id)).count() as f64 / n as f64;
        if n > 1 {
            let pairs = words
                .windows(2)
                .filter(|w| self.has_pair(w[0], w[1]))
                .count();
            found = (found + pairs as f64 / (n - 1) as f64) / 2.0;
        }
        let windowed = words.iter().filter(|&&id| in_window(id)).count();
        let mut support = (2.0 * found + windowed as f64 / n as f64) / 3.0;
        let lexicon = self.lexicon;
        let parity = lexicon.negation_count(claim.tokens()) % 2;
        if (self.negation_parities(aligned, claim) >> parity) & 1 == 0 {
            support *= NEGATION_FACTOR;
        }
        support *= ANTONYM_FACTOR.powf(self.opposed_words(claim, aligned) as f64);
        let numbers = claim.numbers();
        let aligned_numbers = if numbers.is_empty() {
            Vec::new()
        } else {
            aligned.numbers()
        };
        for number in numbers {
            if !aligned_numbers.contains(&number) {
                let elsewhere = self.passages.iter().any(|p| p.numbers.contains(&number));
                support *= if elsewhere {
                    NUMBER_ELSEWHERE_FACTOR
                } else {
                    NUMBER_ABSENT_FACTOR
                };
            }
        }
        let names = entities_of(original.as_bytes(), lexicon);
        let (mut elsewhere, mut absent) = (0, 0);
        for name in &names {
            let id = self.interner.get(name.as_slice()).copied();
            if !in_window(id)
                && !in_window(self.possessive(name))
                && !self.parts_in_window(name, &in_window)
            {
                let known =
                    self.has_word(id) || self.passages.iter().any(|p| p.entities.contains(name));
                if known {
                    elsewhere += 1;
                } else {
                    absent += 1;
                }
            }
        }
        for _ in 0..elsewhere {
            support *= NAME_ELSEWHERE_FACTOR;
        }
        for _ in 0..absent {
            support *= NAME_ABSENT_FACTOR;
        }
        if names.len() > 1 && names_swapped(claim, aligned, &names) {
            support *= NAMES_SWAPPED_FACTOR;
        }
        support
    }

    /// The id of `word` + "'s", when some word has it.
    fn possessive(&self, word: &[u8]) -> Option<u32> {
        let mut form = word.to_vec();
        form.extend_from_slice(b"'s");
        self.interner.get(form.as_slice()).copied()
    }

    /// The claim's content forms, in the order of its words.
    fn forms<'s>(&self, claim: &'s Sentence) -> impl Iterator<Item = &'s [u8]> + use<'s, '_> {
        let lexicon = self.lexicon;
        claim
            .tokens()
            .filter_map(move |t| text::content_form(t, |w| lexicon.is_stopword(w)))
    }

    /// `possessed`: each word no passage holds taken as its possessive where one holds that.
    fn possessed(&self, claim: &Sentence) -> Vec<Option<u32>> {
        let mut out = claim.words.clone();
        if out.iter().all(|&id| self.has_word(id)) {
            return out;
        }
        for (word, form) in out.iter_mut().zip(self.forms(claim)) {
            if !self.has_word(*word) {
                let owned = self.possessive(form);
                if self.has_word(owned) {
                    *word = owned;
                }
            }
        }
        out
    }

    /// `paraphrased`: each word no passage holds replaced by the least word of the window
    /// sharing a synonym group with it, where there is one.
    fn paraphrased(
        &self,
        words: Vec<Option<u32>>,
        claim: &Sentence,
        in_window: &impl Fn(Option<u32>) -> bool,
    ) -> Vec<Option<u32>> {
        let mut out = words;
        if out.iter().all(|&id| self.has_word(id)) {
            return out;
        }
        let lexicon = self.lexicon;
        let forms = self.forms(claim);
        let synonyms = &lexicon.synonyms;
        for (word, form) in out.iter_mut().zip(forms) {
            if self.has_word(*word) {
                continue;
            }
            let Some(groups) = synonyms.of.get(form) else {
                continue;
            };
            let mut best: Option<(&[u8], u32)> = None;
            for &g in groups {
                for member in &synonyms.groups[g as usize] {
                    let Some(&id) = self.interner.get(member) else {
                        continue;
                    };
                    if in_window(Some(id)) && best.is_none_or(|(b, _)| member.as_ref() < b) {
                        best = Some((member, id));
                    }
                }
            }
            if let Some((_, id)) = best {
                *word = Some(id);
            }
        }
        out
    }

    /// `stated(name, window)` once `name` itself is not in the window: every content word
    /// of it is.
    fn parts_in_window(&self, name: &[u8], in_window: &impl Fn(Option<u32>) -> bool) -> bool {
        let Ok(name) = std::str::from_utf8(name) else {
            return false;
        };
        let (mut low, mut spans) = (Vec::new(), Vec::new());
        if tokens_of(name, &mut low, &mut spans).is_none() {
            return false;
        }
        let mut parts = spans
            .iter()
            .filter_map(|&(s, e)| text::content_form(&low[s..e], |w| self.lexicon.is_stopword(w)))
            .peekable();
        parts.peek().is_some() && parts.all(|p| in_window(self.interner.get(p).copied()))
    }

    /// `negation_parities(outside_asides(aligned), window_of(claim tokens))` as bits: bit 0
    /// set when a restated span holds an even number of negations, bit 1 when an odd one.
    fn negation_parities(&self, source: &Sentence, claim: &Sentence) -> u8 {
        let (mut low, mut spans) = (Vec::new(), Vec::new());
        let source_tokens: Vec<&[u8]> = if source.low.contains(&b'(') {
            let kept = without_asides(&source.low);
            let kept = String::from_utf8(kept).unwrap_or_default();
            if tokens_of(&kept, &mut low, &mut spans).is_none() {
                spans.clear();
            }
            spans.iter().map(|&(a, b)| &low[a..b]).collect()
        } else {
            source.tokens().collect()
        };
        let lexicon = self.lexicon;
        let mut kept: Vec<&[u8]> = claim
            .tokens()
            .filter(|t| {
                !lexicon.is_stopword(t) || lexicon.negations.contains(*t) || t.ends_with(b"n't")
            })
            .collect();
        kept.sort_unstable();
        kept.dedup();
        let tokens = source_tokens;
        let shared: Vec<usize> = (0..tokens.len())
            .filter(|&i| kept.binary_search(&tokens[i]).is_ok())
            .collect();
        if 2 * shared.len() < kept.len() {
            return 1 << (lexicon.negation_count(tokens.iter().copied()) % 2);
        }
        // Each shared word at its first place, then at its last place.
        let mut first: Vec<(&[u8], usize)> = Vec::new();
        let mut last: Vec<(&[u8], usize)> = Vec::new();
        for &i in &shared {
            match last.iter_mut().find(|(word, _)| *word == tokens[i]) {
                Some(place) => place.1 = i,
                None => {
                    first.push((tokens[i], i));
                    last.push((tokens[i], i));
                }
            }
        }
        let parity = |places: &[(&[u8], usize)]| {
            let start = places
                .iter()
                .map(|p| p.1)
                .min()
                .unwrap_or(0)
                .saturating_sub(2);
            let end = places.iter().map(|p| p.1).max().unwrap_or(0) + 2;
            lexicon.negation_count(tokens.iter().copied().skip(start).take(end - start)) % 2
        };
        (1 << parity(&first)) | (1 << parity(&last))
    }

    /// `opposed_words(claim tokens, aligned.tokens)`.
    fn opposed_words(&self, claim: &Sentence, source: &Sentence) -> usize {
        let held = |word: &[u8]| source.tokens().any(|t| t == word);
        let mut seen: Vec<&[u8]> = Vec::new();
        let mut count = 0;
        for token in claim.tokens() {
            let Some(opposites) = self.lexicon.antonyms.get(token) else {
                continue;
            };
            if seen.contains(&token) {
                continue;
            }
            seen.push(token);
            if !held(token) && opposites.iter().any(|o| held(o)) {
                count += 1;
            }
        }
        count
    }
}

/// `names_swapped`: names found in both come in another order in the claim.
fn names_swapped(claim: &Sentence, source: &Sentence, names: &[Vec<u8>]) -> bool {
    let first = |sentence: &Sentence, name: &[u8]| sentence.tokens().position(|t| t == name);
    let mut shared: Vec<(usize, usize)> = names
        .iter()
        .filter_map(|name| Some((first(claim, name)?, first(source, name)?)))
        .collect();
    if shared.len() < 2 {
        return false;
    }
    shared.sort_unstable();
    shared.windows(2).any(|w| w[0].1 > w[1].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &[&str]) -> HashSet<Bytes, FxBuild> {
        words.iter().map(|w| w.as_bytes().into()).collect()
    }

    fn lexicon() -> Lexicon {
        let mut antonyms: HashMap<Bytes, Vec<Bytes>, FxBuild> = HashMap::default();
        antonyms.insert(
            b"before".as_slice().into(),
            vec![b"after".as_slice().into()],
        );
        antonyms.insert(
            b"after".as_slice().into(),
            vec![b"before".as_slice().into()],
        );
        Lexicon {
            stopwords: set(&["are", "to", "is", "not", "within", "it", "the", "this"]),
            negations: set(&["not", "no", "never"]),
            antonyms,
            pleasantries: set(&["hope", "help"]),
            synonyms: Synonyms::new(vec![vec!["made".into(), "created".into()]]),
        }
    }

    #[test]
    fn scores_like_the_docstring() {
        let (lexicon, mut cache) = (lexicon(), ClaimCache::new(1));
        let contexts = ["Refunds are accepted within 30 days. Shipping to Europe is free."];
        let mut score = |answer: &str| cache.score(answer, &contexts, 20_000, &lexicon);
        assert_eq!(score("Refunds are accepted within 30 days."), Some(1.0));
        assert_eq!(score("Refunds are not accepted within 30 days."), Some(0.5));
        assert_eq!(score("Hope this helps!").map(f64::is_nan), Some(true));
        assert!(score("Refunds are accepted within 90 days.").unwrap() < 1.0);
        assert_eq!(
            cache
                .score("Refunds.", &[""], 20_000, &lexicon)
                .map(f64::is_nan),
            Some(true)
        );
        assert_eq!(cache.score("Caf\u{e9}.", &contexts, 20_000, &lexicon), None);
        let made = ["A file is created (not copied) here."];
        let mut score = |answer: &str| cache.score(answer, &made, 20_000, &lexicon);
        // Its synonym counts as the source's word; the negation of the aside is left out.
        assert_eq!(
            score("A file is made here."),
            score("A file is created here.")
        );
        assert!(score("A file is baked here.") < score("A file is made here."));
        assert_eq!(without_asides(b"a (b) (c (d) e"), b"a   (c   e".to_vec());
        let owned = ["Ada's engine runs."];
        let mut score = |answer: &str| cache.score(answer, &owned, 20_000, &lexicon);
        assert_eq!(
            score("Ada built the engine."),
            score("Ada's built the engine.")
        );
    }
}
