//! Cheap necessary conditions ("screens") run before the Python patterns of the safety and
//! refusal detectors: when a screen says no, the pattern cannot match; when it says yes,
//! Python runs the pattern. Each mirrors the Python screen it replaces exactly.

use crate::text::{ascii_space, space_before};

/// Any of a set of byte strings, found in one pass (needles grouped by first byte).
pub struct Needles {
    by_first: Vec<Vec<Vec<u8>>>,
    /// An empty needle is in every text.
    always: bool,
}

impl Needles {
    pub fn new<I: IntoIterator<Item = Vec<u8>>>(needles: I) -> Self {
        let mut by_first = vec![Vec::new(); 256];
        let mut always = false;
        for needle in needles {
            match needle.first() {
                Some(&first) => by_first[first as usize].push(needle),
                None => always = true,
            }
        }
        Needles { by_first, always }
    }

    /// True when `text` contains one of the needles.
    pub fn any_in(&self, text: &[u8]) -> bool {
        self.always
            || (0..text.len()).any(|i| {
                self.by_first[text[i] as usize]
                    .iter()
                    .any(|needle| text[i..].starts_with(needle))
            })
    }
}

const SYSTEM: &[u8] = b"system";

/// `re.search(r"system\s*:", text) or re.search(r"#\s*system", text)` on an accepted text.
pub fn system_role(text: &[u8]) -> bool {
    let n = text.len();
    let mut from = 0;
    while let Some(found) = find(&text[from..], SYSTEM) {
        let at = from + found;
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
        from = at + 1;
    }
    false
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// True when `text` has `length` characters of `[A-Za-z0-9+/]` in a row (a base64 payload).
pub fn payload_run(text: &[u8], length: usize) -> bool {
    let mut run = 0;
    for &b in text {
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            run += 1;
            if run >= length {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// `re.search(r"\d[\d ()./-]{5,}\d", text)` on an accepted text (whose only digits are ASCII):
/// some run of digits and separators has digits at least six characters apart.
pub fn digit_run(text: &[u8]) -> bool {
    let mut first: Option<usize> = None;
    for (i, &b) in text.iter().enumerate() {
        if b.is_ascii_digit() {
            match first {
                None => first = Some(i),
                Some(start) if i - start >= 6 => return true,
                Some(_) => {}
            }
        } else if !matches!(b, b' ' | b'(' | b')' | b'.' | b'/' | b'-') {
            first = None;
        }
    }
    false
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
        assert!(digit_run(b"(1) 2.3/4 5"));
    }

    #[test]
    fn needles() {
        let needles = Needles::new([b"act as".to_vec(), b"prompt".to_vec()]);
        assert!(needles.any_in(b"please act as a pirate"));
        assert!(!needles.any_in(b"act a"));
    }
}
