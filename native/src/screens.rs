//! Cheap necessary conditions ("screens") run before the Python patterns of the safety and
//! refusal detectors: when a screen says no, the pattern cannot match; when it says yes,
//! Python runs the pattern. Each mirrors the Python screen it replaces exactly.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use memchr::memmem;

use crate::text::{ascii_space, space_before};

/// Any of a set of byte strings (Aho-Corasick, with a SIMD prefilter for few needles).
pub struct Needles {
    automaton: AhoCorasick,
}

impl Needles {
    pub fn new<I: IntoIterator<Item = Vec<u8>>>(needles: I) -> Self {
        let needles: Vec<Vec<u8>> = needles.into_iter().collect();
        // A DFA: one table look-up per byte, for a few dozen short needles a small table.
        let automaton = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .build(&needles)
            .expect("a few short needles always build");
        Needles { automaton }
    }

    /// True when `text` contains one of the needles.
    pub fn any_in(&self, text: &[u8]) -> bool {
        self.automaton.is_match(text)
    }
}

const SYSTEM: &[u8] = b"system";

/// `re.search(r"system\s*:", text) or re.search(r"#\s*system", text)` on an accepted text.
pub fn system_role(text: &[u8]) -> bool {
    let n = text.len();
    for at in memmem::find_iter(text, SYSTEM) {
        // After: whitespace, then a colon.
        let mut j = at + SYSTEM.len();
        loop {
            if j < n && ascii_space(text[j]) {
                j += 1;
            } else if j + 1 < n && text[j] == 0xc2 && text[j + 1] == 0xa0 {
                j += 2;
            } else {
                break;
            }
        }
        if j < n && text[j] == b':' {
            return true;
        }
        // Before: whitespace, then a hash (the first character that is not whitespace).
        let mut k = at;
        while k > 0 && space_before(text, k) {
            k -= if text[k - 1] == 0xa0 { 2 } else { 1 };
        }
        if k > 0 && text[k - 1] == b'#' {
            return true;
        }
    }
    false
}

/// Byte classes: bit 0 for `[A-Za-z0-9+/]` (base64), bit 1 for digits, bit 2 for what
/// `[\d ()./-]` holds, bit 3 for what `[\d ().-]` holds. Tables keep the scans below free
/// of unpredictable branches.
const fn byte_classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            class |= 1;
        }
        if c.is_ascii_digit() {
            class |= 2 | 4 | 8;
        }
        if matches!(c, b' ' | b'(' | b')' | b'.' | b'-') {
            class |= 4 | 8;
        }
        if c == b'/' {
            class |= 4;
        }
        table[b] = class;
        b += 1;
    }
    table
}

static CLASSES: [u8; 256] = byte_classes();

/// True when `text` has `length` characters of `[A-Za-z0-9+/]` in a row (a base64 payload).
pub fn payload_run(text: &[u8], length: usize) -> bool {
    let mut run = 0usize;
    let mut longest = 0usize;
    for &b in text {
        let keep = (CLASSES[b as usize] & 1) as usize;
        run = (run + 1) * keep;
        longest = longest.max(run);
    }
    longest >= length
}

/// `re.search(r"\d[\d ().-]{5,}\d", text)` on an accepted text (whose only digits are ASCII):
/// some run of digits and separators has digits at least six characters apart.
pub fn digit_run(text: &[u8]) -> bool {
    run_of(text, 8)
}

/// `re.search(r"\d[\d ()./-]{5,}\d", text)`: [`digit_run`] with `/` a separator too.
pub fn slash_digit_run(text: &[u8]) -> bool {
    run_of(text, 4)
}

/// A run of digits and bytes of class bit `separators` with digits six or more bytes apart.
fn run_of(text: &[u8], separators: u8) -> bool {
    const NONE: usize = usize::MAX;
    let mut first = NONE; // first digit of the current run of digits and separators
    let mut found = false;
    for (i, &b) in text.iter().enumerate() {
        let class = CLASSES[b as usize];
        let digit = class & 2 != 0;
        first = if class & separators == 0 {
            NONE
        } else if digit && first == NONE {
            i
        } else {
            first
        };
        found |= digit && first != NONE && i - first >= 6;
    }
    found
}

/// `re.search(r"[A-Z]{2}\d{2}", text)`: where an IBAN may start.
pub fn iban_head(text: &[u8]) -> bool {
    text.windows(4).any(|w| {
        w[0].is_ascii_uppercase()
            && w[1].is_ascii_uppercase()
            && w[2].is_ascii_digit()
            && w[3].is_ascii_digit()
    })
}

/// `pii._may_hold_pii` on an accepted text: an `@`, or a run of digits as [`digit_run`]
/// finds one (every match of the kinds but email holds one: no kind's match holds a `/`,
/// so dates like 12/05/2024 pay nothing), or, for an IBAN with letters in its groups, an
/// IBAN's head and a run with `/` in it (exactly the texts `\d[\d ()./-]{5,}\d` lets
/// through where such an IBAN may be).
pub fn may_hold_pii(text: &[u8]) -> bool {
    memchr::memchr(b'@', text).is_some()
        || digit_run(text)
        || (memchr::memchr(b'/', text).is_some() && iban_head(text) && slash_digit_run(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_roles() {
        assert!(system_role(b"## system prompt"));
        assert!(system_role(b"system :you"));
        assert!(system_role("#\u{a0}system".as_bytes()));
        assert!(!system_role(b"the system is down"));
        assert!(!system_role(b"#a system"));
    }

    #[test]
    fn digit_runs() {
        assert!(digit_run(b"call 415-555-0100"));
        assert!(digit_run(b"1234567"));
        assert!(!digit_run(b"123456"));
        assert!(!digit_run(b"12 34 a 56 78"));
        assert!(!digit_run(b"(1) 2.3/4 5"));
        assert!(slash_digit_run(b"(1) 2.3/4 5"));
        assert!(digit_run(b"(1) 2.3 4 5"));
        assert!(!may_hold_pii(b"on 12/05/2024"));
        assert!(may_hold_pii(b"GB82 WEST ABCD EFGH 12/05/2024"));
        assert!(!may_hold_pii(b"gb82 west abcd efgh 12/05/2024"));
        assert!(may_hold_pii(b"a@b"));
    }

    #[test]
    fn needles() {
        let needles = Needles::new([b"act as".to_vec(), b"prompt".to_vec()]);
        assert!(needles.any_in(b"please act as a pirate"));
        assert!(!needles.any_in(b"act a"));
    }
}
