//! One pass over a text's bytes that the rest of its analysis jumps around in.
//!
//! [`Scan::load`] lowers the text into a reused buffer and, 64 bytes to a word, sets bits
//! for its `[a-z0-9]` bytes (after lowering), capitals, spaces and bytes beyond ASCII. The
//! tokenizer then goes from run to run of `[a-z0-9]` with a count of trailing zeros instead
//! of a test per byte (whose branches the CPU mispredicts at every token boundary), names
//! are looked for only at a capital after a space, and the charset is checked only at the
//! characters beyond ASCII. The rules themselves stay in [`crate::text`].

use crate::text::{self, AlnumRuns, Charset};
use crate::words::PADDING;

/// Bits of one 64-byte block of a text (bit `i` is byte `i` of the block).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Block {
    alnum: u64,
    upper: u64,
    space: u64,
    digit: u64,
    high: u64,
}

/// A text's lowered bytes and bit masks, kept between texts to reuse the buffers.
#[derive(Default)]
pub struct Scan {
    /// The lowered text, then zeros: to a whole number of blocks plus `PADDING`.
    low: Vec<u8>,
    len: usize,
    /// `[a-z0-9]` bytes of `low`, one word per block; bits from `len` on are clear.
    alnum: Vec<u64>,
    /// A capital right after a space (where a name may start).
    name_starts: Vec<u64>,
    /// Bytes beyond ASCII.
    high: Vec<u64>,
    has_digit: bool,
    has_letter: bool,
}

impl Scan {
    /// Reads `text`, replacing what was read before.
    pub fn load(&mut self, text: &[u8]) {
        let n = text.len();
        let blocks = n / 64 + 1;
        self.len = n;
        self.low.clear();
        self.low.resize(blocks * 64 + PADDING, 0);
        self.alnum.clear();
        self.name_starts.clear();
        self.high.clear();
        let (mut digit, mut letter, mut space_carry) = (0u64, 0u64, 0u64);
        for b in 0..blocks {
            let start = b * 64;
            let mut tail = [0u8; 64];
            let input: &[u8; 64] = match text.get(start..start + 64) {
                Some(full) => full.try_into().unwrap(),
                None => {
                    tail[..n - start].copy_from_slice(&text[start..]);
                    &tail
                }
            };
            let out: &mut [u8; 64] = (&mut self.low[start..start + 64]).try_into().unwrap();
            let block = lower_block(input, out);
            self.alnum.push(block.alnum);
            self.name_starts
                .push(block.upper & ((block.space << 1) | space_carry));
            self.high.push(block.high);
            space_carry = block.space >> 63;
            digit |= block.digit;
            letter |= block.alnum & !block.digit;
        }
        self.has_digit = digit != 0;
        self.has_letter = letter != 0;
    }

    /// The lowered text.
    pub fn low(&self) -> &[u8] {
        &self.low[..self.len]
    }

    /// The lowered text followed by at least `PADDING` zeros (for the word cache).
    pub fn padded(&self) -> &[u8] {
        &self.low
    }

    /// True when the text holds an ASCII digit.
    pub fn has_digit(&self) -> bool {
        self.has_digit
    }

    /// True when the text holds an ASCII letter (`has_latin_letter`).
    pub fn has_letter(&self) -> bool {
        self.has_letter
    }

    /// [`text::charset`] of the text loaded, `original` (the same text as a `str`).
    pub fn charset(&self, original: &str) -> Option<Charset> {
        if self.high.iter().all(|&w| w == 0) {
            return Some(Charset::Ascii);
        }
        let bytes = original.as_bytes();
        for (b, &word) in self.high.iter().enumerate() {
            for i in bits(word).map(|bit| b * 64 + bit) {
                // Only where a character starts (not at its continuation bytes).
                if bytes[i] >= 0xc0 {
                    let ch = original[i..].chars().next().unwrap();
                    if !text::accepted_beyond_ascii(ch) {
                        return None;
                    }
                }
            }
        }
        Some(Charset::Extended)
    }

    /// Token spans of the text, as [`text::tokenize`] finds them.
    pub fn tokenize(&self, charset: Charset, spans: &mut Vec<(usize, usize)>) {
        text::tokenize_runs(self.low(), charset, self, spans);
    }

    /// Spans of names, as [`text::entity_spans`] finds them.
    pub fn entity_spans(&self, spans: &mut Vec<(usize, usize)>) {
        let low = self.low();
        for (b, &word) in self.name_starts.iter().enumerate() {
            for i in bits(word).map(|bit| b * 64 + bit) {
                if let Some(end) = text::entity_end(low, i) {
                    spans.push((i, end));
                }
            }
        }
    }
}

impl AlnumRuns for Scan {
    #[inline]
    fn next_alnum(&self, i: usize) -> usize {
        let mut b = i / 64;
        let Some(&first) = self.alnum.get(b) else {
            return self.len;
        };
        let mut word = first & (u64::MAX << (i % 64));
        while word == 0 {
            b += 1;
            match self.alnum.get(b) {
                Some(&next) => word = next,
                None => return self.len,
            }
        }
        b * 64 + word.trailing_zeros() as usize
    }

    #[inline]
    fn run_end(&self, i: usize) -> usize {
        // The last block always ends in clear bits (the text is shorter than its blocks).
        let mut b = i / 64;
        let mut word = !self.alnum[b] & (u64::MAX << (i % 64));
        while word == 0 {
            b += 1;
            word = !self.alnum[b];
        }
        b * 64 + word.trailing_zeros() as usize
    }
}

/// The positions of the set bits of `word`, lowest first.
#[inline]
fn bits(mut word: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if word == 0 {
            return None;
        }
        let bit = word.trailing_zeros() as usize;
        word &= word - 1;
        Some(bit)
    })
}

/// Lowers one block into `out` and returns its bits.
#[inline]
fn lower_block(input: &[u8; 64], out: &mut [u8; 64]) -> Block {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of x86_64 (no run-time check needed).
        unsafe { sse2::lower_block(input, out) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        lower_block_bytes(input, out)
    }
}

/// [`lower_block`] a byte at a time (other architectures, and the tests' reference).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn lower_block_bytes(input: &[u8; 64], out: &mut [u8; 64]) -> Block {
    let mut block = Block::default();
    for (i, (&b, low)) in input.iter().zip(out.iter_mut()).enumerate() {
        *low = b.to_ascii_lowercase();
        let bit = 1u64 << i;
        let digit = b.is_ascii_digit();
        block.alnum |= if b.is_ascii_alphanumeric() { bit } else { 0 };
        block.upper |= if b.is_ascii_uppercase() { bit } else { 0 };
        block.space |= if b == b' ' { bit } else { 0 };
        block.digit |= if digit { bit } else { 0 };
        block.high |= if b >= 0x80 { bit } else { 0 };
    }
    block
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use super::Block;
    use std::arch::x86_64::*;

    /// 0xff where `lo <= byte < lo + len` (unsigned), by moving the range to the bottom
    /// of the signed bytes, as SSE2 compares only signed.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn in_range(v: __m128i, lo: u8, len: u8) -> __m128i {
        let shifted = _mm_add_epi8(v, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
        _mm_cmplt_epi8(shifted, _mm_set1_epi8((0x80u8 + len) as i8))
    }

    /// [`super::lower_block_bytes`], 16 bytes at a time.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub fn lower_block(input: &[u8; 64], out: &mut [u8; 64]) -> Block {
        let mut block = Block::default();
        let bits = |v: __m128i, k: usize| (_mm_movemask_epi8(v) as u16 as u64) << (16 * k);
        for k in 0..4 {
            // SAFETY: bytes 16k..16k+16 of a 64-byte array.
            let v = unsafe { _mm_loadu_si128(input.as_ptr().add(16 * k).cast()) };
            let upper = in_range(v, b'A', 26);
            let digit = in_range(v, b'0', 10);
            let alnum = _mm_or_si128(_mm_or_si128(upper, in_range(v, b'a', 26)), digit);
            let low = _mm_or_si128(v, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
            // SAFETY: as for the load.
            unsafe { _mm_storeu_si128(out.as_mut_ptr().add(16 * k).cast(), low) };
            block.alnum |= bits(alnum, k);
            block.upper |= bits(upper, k);
            block.space |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)), k);
            block.digit |= bits(digit, k);
            block.high |= bits(v, k);
        }
        block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_match_the_bytewise_reference() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut input = [0u8; 64];
            for b in &mut input {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
            assert_eq!(
                lower_block(&input, &mut a),
                lower_block_bytes(&input, &mut b)
            );
            assert_eq!(a, b);
        }
    }

    #[test]
    fn finds_what_the_byte_readers_find() {
        let texts = [
            "",
            "x",
            "What's the price of GPT-4o? 3.5 USD e.g. Ask Bob Smith-Jones, or Ann.",
            "it\u{2019}s e.g. 1,200.5 a1.5 \u{201c}Xy\u{201d} \u{2014} Foo",
            &"abc ".repeat(40),
            &"A".repeat(64),
            &format!("{} Zed", "q".repeat(126)),
            // A space ending a block, the capital starting the next.
            &format!("{} Zed", "q".repeat(63)),
        ];
        // And random texts of the characters the rules look at, across block boundaries.
        let alphabet: Vec<char> = "aZ09 .,'-_:!?\n\u{2019}\u{201c}\u{a0}".chars().collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let random: Vec<String> = (0..3000)
            .map(|_| {
                let mut next = || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as usize
                };
                let len = next() % 200;
                (0..len)
                    .map(|_| alphabet[next() % alphabet.len()])
                    .collect()
            })
            .collect();
        let mut scan = Scan::default();
        for t in texts.into_iter().chain(random.iter().map(String::as_str)) {
            scan.load(t.as_bytes());
            let charset = text::charset(t).unwrap();
            assert_eq!(scan.charset(t), Some(charset));
            let low = t.to_ascii_lowercase();
            let (mut want, mut got) = (Vec::new(), Vec::new());
            text::tokenize(low.as_bytes(), charset, &mut want);
            scan.tokenize(charset, &mut got);
            assert_eq!(got, want, "{t:?}");
            let (mut want, mut got) = (Vec::new(), Vec::new());
            text::entity_spans(t.as_bytes(), &mut want);
            scan.entity_spans(&mut got);
            assert_eq!(got, want, "{t:?}");
            assert_eq!(scan.has_digit(), text::has_digit(t.as_bytes()));
            assert_eq!(scan.has_letter(), text::has_latin_letter(t.as_bytes()));
        }
        scan.load("caf\u{e9}".as_bytes());
        assert_eq!(scan.charset("caf\u{e9}"), None);
    }
}
