//! Tokens, content words, numbers, names and language of a text, as the Python code finds them.
//!
//! Everything here mirrors `watchkeeper.detectors.text` (tokens.py, language.py) for the
//! texts it accepts: ASCII, plus the punctuation beyond ASCII that LLM answers are full of
//! (curly quotes and apostrophes, dashes, ellipses, bullets, box drawing, no-break spaces).
//! On those, Python's Unicode-aware patterns (`\w`, `\d`, `\s`, `str.lower`) agree with
//! simple byte tests, so the results are the same. Any other character makes
//! [`charset`] decline, and the caller runs the Python code.

/// The curly apostrophe, which joins words like `'` in the general token pattern.
pub const CURLY: &[u8] = "\u{2019}".as_bytes();

/// Characters beyond ASCII accepted besides the curly apostrophe: punctuation that is never
/// part of a token, a name or a number, and that `lower`/`casefold` leave alone. Of these,
/// only the no-break space is whitespace (`\s`) to Python.
const SEPARATORS: [char; 16] = [
    '\u{201c}', '\u{201d}', '\u{2018}', '\u{2013}', '\u{2014}', '\u{2026}', '\u{2022}', '\u{2192}',
    '\u{2500}', '\u{2502}', '\u{251c}', '\u{2514}', '\u{a0}', '\u{ab}', '\u{bb}', '\u{b7}',
];

/// Which of Python's two token patterns applies to a text.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Charset {
    /// Only ASCII: `[a-z0-9]+(?:['.,][a-z0-9]+)*`.
    Ascii,
    /// ASCII and the accepted punctuation: the general pattern, where `.` and `,` join
    /// only digits and `'` or the curly apostrophe join words.
    Extended,
}

/// The charset of `text`, or None when it holds a character this module does not handle.
pub fn charset(text: &str) -> Option<Charset> {
    if text.is_ascii() {
        return Some(Charset::Ascii);
    }
    for ch in text.chars() {
        if !ch.is_ascii() && !accepted_beyond_ascii(ch) {
            return None;
        }
    }
    Some(Charset::Extended)
}

/// True for the characters beyond ASCII that this module handles.
#[inline]
pub fn accepted_beyond_ascii(ch: char) -> bool {
    ch == '\u{2019}' || SEPARATORS.contains(&ch)
}

/// Python's `\s` on the accepted characters: ASCII whitespace including the information
/// separators 0x1c-0x1f (which `str.isspace` counts), and the no-break space.
#[inline]
pub fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f | b' ')
}

/// True when the character ending at byte `end` (exclusive) of `text` is whitespace (`\s`).
#[inline]
pub fn space_before(text: &[u8], end: usize) -> bool {
    let b = text[end - 1];
    ascii_space(b) || (b == 0xa0 && end >= 2 && text[end - 2] == 0xc2)
}

#[inline]
fn alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// Where the runs of `[a-z0-9]` of a lowered text start and end: [`tokenize`] jumps from
/// run to run, byte by byte ([`Bytes`]) or from bit to bit of a mask (`scan::Scan`).
pub trait AlnumRuns {
    /// The first `[a-z0-9]` byte at or after `i`, or the text's length when there is none.
    fn next_alnum(&self, i: usize) -> usize;
    /// The first byte at or after `i` that is not `[a-z0-9]` (at most the text's length).
    fn run_end(&self, i: usize) -> usize;
}

/// [`AlnumRuns`] found by reading the bytes.
pub struct Bytes<'a>(pub &'a [u8]);

impl AlnumRuns for Bytes<'_> {
    #[inline]
    fn next_alnum(&self, mut i: usize) -> usize {
        while i < self.0.len() && !alnum(self.0[i]) {
            i += 1;
        }
        i
    }

    #[inline]
    fn run_end(&self, mut i: usize) -> usize {
        while i < self.0.len() && alnum(self.0[i]) {
            i += 1;
        }
        i
    }
}

#[inline]
fn digit_run(text: &[u8], mut i: usize) -> usize {
    while i < text.len() && text[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Token spans of lower-cased `text`, as `re.findall` of the pattern for `charset` finds them.
pub fn tokenize(text: &[u8], charset: Charset, spans: &mut Vec<(usize, usize)>) {
    tokenize_runs(text, charset, &Bytes(text), spans);
}

/// [`tokenize`], with the runs of `[a-z0-9]` in `text` found by `runs`.
#[inline]
pub fn tokenize_runs(
    text: &[u8],
    charset: Charset,
    runs: &impl AlnumRuns,
    spans: &mut Vec<(usize, usize)>,
) {
    let n = text.len();
    let mut i = 0;
    match charset {
        Charset::Ascii => loop {
            i = runs.next_alnum(i);
            if i >= n {
                break;
            }
            let start = i;
            i = runs.run_end(i);
            while i + 1 < n && matches!(text[i], b'\'' | b'.' | b',') && alnum(text[i + 1]) {
                i = runs.run_end(i + 1);
            }
            spans.push((start, i));
        },
        Charset::Extended => loop {
            i = runs.next_alnum(i);
            if i >= n {
                break;
            }
            if text[i].is_ascii_digit() {
                // `\d+(?:[.,]\d+)+`, tried before the word alternative.
                let mut j = digit_run(text, i);
                let mut groups = 0;
                while j + 1 < n && matches!(text[j], b'.' | b',') && text[j + 1].is_ascii_digit() {
                    j = digit_run(text, j + 1);
                    groups += 1;
                }
                if groups > 0 {
                    spans.push((i, j));
                    i = j;
                    continue;
                }
            }
            // `[^\W_]+(?:['\u2019][^\W_]+)*`
            let start = i;
            i = runs.run_end(i);
            loop {
                if i + 1 < n && text[i] == b'\'' && alnum(text[i + 1]) {
                    i = runs.run_end(i + 1);
                } else if i + 3 < n && text[i..].starts_with(CURLY) && alnum(text[i + 3]) {
                    i = runs.run_end(i + 3);
                } else {
                    break;
                }
            }
            spans.push((start, i));
        },
    }
}

/// Characters (code points) in UTF-8 `bytes`.
#[inline]
pub fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

/// The content form of a token (`_content_form`): None for a stopword, a number or a lone
/// character; plurals folded ("refunds" -> "refund", but "class", "status" stay).
pub fn content_form(token: &[u8], is_stopword: impl Fn(&[u8]) -> bool) -> Option<&[u8]> {
    if token[0].is_ascii_digit() || is_stopword(token) {
        return None;
    }
    let chars = char_count(token);
    // A lone character below U+3000: every one-character token of an accepted text.
    if chars == 1 {
        return None;
    }
    let n = token.len();
    // token[n - 2] is the last byte of the character before the final "s": only ASCII
    // bytes can equal these, so the curly apostrophe (0x99) folds, as in Python.
    if chars > 3 && token[n - 1] == b's' && !matches!(token[n - 2], b's' | b'i' | b'u' | b'\'') {
        return Some(&token[..n - 1]);
    }
    Some(token)
}

/// True when `token` is a number (`numbers_of`): a digit first, then only digits, `.`, `,`.
#[inline]
pub fn is_number(token: &[u8]) -> bool {
    token[0].is_ascii_digit()
        && token
            .iter()
            .all(|&b| b.is_ascii_digit() || b == b'.' || b == b',')
}

/// `_THOUSANDS.fullmatch(token)`: `\d{1,3}(,\d{3})+(\.\d+)?`.
pub fn is_thousands(token: &[u8]) -> bool {
    let lead = token.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&lead) {
        return false;
    }
    let n = token.len();
    let mut i = lead;
    let mut groups = 0;
    while i < n && token[i] == b',' {
        if i + 4 > n || !token[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            return false;
        }
        i += 4;
        groups += 1;
        if i < n && token[i].is_ascii_digit() {
            return false;
        }
    }
    if groups == 0 {
        return false;
    }
    if i == n {
        return true;
    }
    if token[i] != b'.' {
        return false;
    }
    let decimals = &token[i + 1..];
    !decimals.is_empty() && decimals.iter().all(u8::is_ascii_digit)
}

/// A number token as `numbers_of` keeps it: thousands separators dropped ("1,200" -> "1200").
pub fn normal_number(token: &[u8]) -> Vec<u8> {
    if is_thousands(token) {
        token.iter().copied().filter(|&b| b != b',').collect()
    } else {
        token.to_vec()
    }
}

#[inline]
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Spans of `_ENTITY = [A-Z](?<=[^.!?:\s] [A-Z])[\w-]*\w` in the original-case `text`.
pub fn entity_spans(text: &[u8], spans: &mut Vec<(usize, usize)>) {
    // A name starts right after a space: jump from space to space.
    for space in memchr::memchr_iter(b' ', text) {
        let i = space + 1;
        if i < text.len()
            && text[i].is_ascii_uppercase()
            && let Some(end) = entity_end(text, i)
        {
            spans.push((i, end));
        }
    }
}

/// The end of the name (`_ENTITY`) starting at the capital `text[i]`, which follows a
/// space, or None. `text` may be lowered: nothing else here depends on case.
#[inline]
pub fn entity_end(text: &[u8], i: usize) -> Option<usize> {
    if i < 2 {
        return None;
    }
    let before = text[i - 2];
    if matches!(before, b'.' | b'!' | b'?' | b':') || space_before(text, i - 1) {
        return None;
    }
    let mut j = i + 1;
    let mut end = 0;
    while j < text.len() && (word_byte(text[j]) || text[j] == b'-') {
        if word_byte(text[j]) {
            end = j + 1;
        }
        j += 1;
    }
    (end > 0).then_some(end)
}

/// True when `text` holds an ASCII digit (a branch-free pass the compiler vectorises).
#[cfg(test)]
pub fn has_digit(text: &[u8]) -> bool {
    text.chunks(64).any(|chunk| {
        chunk
            .iter()
            .fold(0u8, |seen, &b| seen | (b.wrapping_sub(b'0') < 10) as u8)
            != 0
    })
}

/// True when the text has a letter of the Latin script (`script(text) == "latin"` for an
/// accepted text; "none" otherwise).
#[cfg(test)]
pub fn has_latin_letter(text: &[u8]) -> bool {
    text.iter().any(u8::is_ascii_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let low = text.to_ascii_lowercase();
        let mut spans = Vec::new();
        tokenize(low.as_bytes(), charset(text).unwrap(), &mut spans);
        spans.iter().map(|&(a, b)| low[a..b].to_string()).collect()
    }

    #[test]
    fn ascii_pattern_joins_words_with_dots() {
        assert_eq!(
            tokens("What's the price of GPT-4o? 3.5 USD e.g."),
            [
                "what's", "the", "price", "of", "gpt", "4o", "3.5", "usd", "e.g"
            ]
        );
    }

    #[test]
    fn general_pattern_joins_only_digits_with_dots() {
        assert_eq!(
            tokens("it\u{2019}s e.g. 1,200.5 a1.5 \u{201c}x\u{201d}"),
            ["it\u{2019}s", "e", "g", "1,200.5", "a1", "5", "x"]
        );
    }

    #[test]
    fn thousands() {
        assert!(is_thousands(b"1,200"));
        assert!(is_thousands(b"12,345.67"));
        assert!(!is_thousands(b"1234,567"));
        assert!(!is_thousands(b"1,2345"));
        assert!(!is_thousands(b"1,200."));
    }

    #[test]
    fn declines_letters_beyond_ascii() {
        assert_eq!(charset("caf\u{e9}"), None);
        assert_eq!(charset("a \u{2014} b"), Some(Charset::Extended));
    }
}
