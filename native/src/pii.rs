//! The PII patterns of `pii.find_pii`, matched as Python's `re` matches them: at each
//! position in turn the kinds are tried in order (the first that matches there wins, as in
//! the alternation `_ANY_KIND`), each with the order of choices of a backtracking engine
//! (greedy repeats longest first, optional parts taken first), and the scan goes on after
//! the match. Card numbers must then pass Luhn and IBANs their checksum. Only on accepted
//! texts, where `\w` and `\d` are ASCII and every character beyond ASCII is neither.

use crate::screens;

/// The kinds, in the order the patterns try them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Email,
    Card,
    Iban,
    Ssn,
    Phone,
    Ipv4,
}

impl Kind {
    /// The kind's name in `find_pii`'s result.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::Ssn => "ssn",
            Kind::Phone => "phone",
            Kind::Ipv4 => "ipv4",
        }
    }
}

/// The byte at `i`, or 0 past the end (0 is in no class below).
#[inline]
fn at(t: &[u8], i: usize) -> u8 {
    t.get(i).copied().unwrap_or(0)
}

#[inline]
fn word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[inline]
fn digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// `\b` at `i`: a word character on one side only.
#[inline]
fn boundary(t: &[u8], i: usize) -> bool {
    let before = i > 0 && word(t[i - 1]);
    before != word(at(t, i))
}

/// Digits in a row from `i`.
fn digits_from(t: &[u8], i: usize) -> usize {
    t[i.min(t.len())..]
        .iter()
        .take_while(|b| digit(**b))
        .count()
}

/// `[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}` at `s`; `Err(local_end)` when it cannot
/// match at `s`, where the local part ends (no later start before it can match either).
fn email(t: &[u8], s: usize) -> Result<usize, usize> {
    let local = |b: u8| word(b) || matches!(b, b'.' | b'+' | b'-');
    let label = |b: u8| word(b) || b == b'-';
    let mut i = s;
    while local(at(t, i)) {
        i += 1;
    }
    if i == s || at(t, i) != b'@' {
        return Err(i.max(s + 1));
    }
    let mut j = i + 1;
    while label(at(t, j)) {
        j += 1;
    }
    if j == i + 1 {
        return Err(i);
    }
    // The repeat takes every label it can, then gives them back one by one until one
    // opens with two letters: the last such label ends the match after its letters.
    let mut end = None;
    while at(t, j) == b'.' && label(at(t, j + 1)) {
        let start = j + 1;
        j = start;
        while label(at(t, j)) {
            j += 1;
        }
        let letters = t[start..j]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if letters >= 2 {
            end = Some(start + letters);
        }
    }
    end.ok_or(i)
}

/// `\b(?:\d[ -]?){12,18}\d\b` at `s`: 13 to 19 digits, single spaces or hyphens between
/// them, the longest that ends at a boundary.
fn card(t: &[u8], s: usize) -> Option<usize> {
    if !digit(at(t, s)) || !boundary(t, s) {
        return None;
    }
    let mut ends = [0usize; 19];
    let (mut count, mut p) = (0, s);
    loop {
        ends[count] = p + 1;
        count += 1;
        if count == 19 {
            break;
        }
        if digit(at(t, p + 1)) {
            p += 1;
        } else if matches!(at(t, p + 1), b' ' | b'-') && digit(at(t, p + 2)) {
            p += 2;
        } else {
            break;
        }
    }
    (13..=count)
        .rev()
        .map(|n| ends[n - 1])
        .find(|&e| boundary(t, e))
}

#[inline]
fn iban_char(b: u8) -> bool {
    b.is_ascii_uppercase() || digit(b)
}

/// Where ` ?[A-Z0-9]{n}` matching at `p` ends, the space taken first: at most two ends.
fn spaced(t: &[u8], p: usize, n: usize) -> [Option<usize>; 2] {
    let run = |from: usize| (from..from + n).all(|i| iban_char(at(t, i)));
    let with_space = (at(t, p) == b' ' && run(p + 1)).then_some(p + 1 + n);
    let without = run(p).then_some(p + n);
    [with_space, without]
}

/// `(?: ?[A-Z0-9]{4}){count..7}` then the tail, from `p` after `count` groups.
fn iban_groups(t: &[u8], p: usize, count: usize) -> Option<usize> {
    if count < 7 {
        for next in spaced(t, p, 4).into_iter().flatten() {
            if let Some(end) = iban_groups(t, next, count + 1) {
                return Some(end);
            }
        }
    }
    if count < 2 {
        return None;
    }
    // `(?: ?[A-Z0-9]{1,4})?\b`: the optional group first, longest first, then without.
    for space in [true, false] {
        for n in (1..=4).rev() {
            let [with_space, without] = spaced(t, p, n);
            if let Some(end) = if space { with_space } else { without }
                && boundary(t, end)
            {
                return Some(end);
            }
        }
    }
    boundary(t, p).then_some(p)
}

/// `\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b` at `s`.
fn iban(t: &[u8], s: usize) -> Option<usize> {
    let head = at(t, s).is_ascii_uppercase()
        && at(t, s + 1).is_ascii_uppercase()
        && digit(at(t, s + 2))
        && digit(at(t, s + 3));
    if !head || !boundary(t, s) {
        return None;
    }
    iban_groups(t, s + 4, 0)
}

/// `\b\d{3}-\d{2}-\d{4}\b` at `s`.
fn ssn(t: &[u8], s: usize) -> Option<usize> {
    let shape = b"ddd-dd-dddd";
    let fits = shape.iter().enumerate().all(|(k, &c)| {
        let b = at(t, s + k);
        if c == b'd' { digit(b) } else { b == c }
    });
    (fits && boundary(t, s) && boundary(t, s + shape.len())).then_some(s + shape.len())
}

#[inline]
fn phone_sep(b: u8) -> bool {
    matches!(b, b' ' | b'.' | b'-')
}

/// `\d{3,4}[ .-]\d{3,4}\b` at `q`: as the digits are greedy and what follows each is not a
/// digit, only whole runs of three or four digits can match.
fn phone_tail(t: &[u8], q: usize) -> Option<usize> {
    let first = digits_from(t, q);
    if !(3..=4).contains(&first) || !phone_sep(at(t, q + first)) {
        return None;
    }
    let r = q + first + 1;
    let second = digits_from(t, r);
    ((3..=4).contains(&second) && !word(at(t, r + second))).then_some(r + second)
}

/// `(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])` then the tail, at `p`.
fn phone_area(t: &[u8], p: usize) -> Option<usize> {
    if at(t, p) == b'(' {
        let n = digits_from(t, p + 1);
        if !(2..=4).contains(&n) || at(t, p + 1 + n) != b')' {
            return None;
        }
        let after = p + 2 + n;
        if phone_sep(at(t, after))
            && let Some(end) = phone_tail(t, after + 1)
        {
            return Some(end);
        }
        return phone_tail(t, after);
    }
    let n = digits_from(t, p);
    if (2..=4).contains(&n) && phone_sep(at(t, p + n)) {
        return phone_tail(t, p + n + 1);
    }
    None
}

/// `(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}\b`
/// at `s`.
fn phone(t: &[u8], s: usize) -> Option<usize> {
    if s > 0 && (word(t[s - 1]) || t[s - 1] == b'+') {
        return None;
    }
    if at(t, s) == b'+' {
        let n = digits_from(t, s + 1).min(3);
        for k in (1..=n).rev() {
            let after = s + 1 + k;
            if phone_sep(at(t, after))
                && let Some(end) = phone_area(t, after + 1)
            {
                return Some(end);
            }
            if let Some(end) = phone_area(t, after) {
                return Some(end);
            }
        }
        return None; // without the prefix, the match would open with `+`: none does
    }
    phone_area(t, s)
}

/// Where `25[0-5]|2[0-4]\d|1?\d?\d` matching at `p` ends, in the order they are tried.
fn octet_ends(t: &[u8], p: usize) -> impl Iterator<Item = usize> {
    let (a, b, c) = (at(t, p), at(t, p + 1), at(t, p + 2));
    let mut ends = [None; 6];
    if a == b'2' && b == b'5' && (b'0'..=b'5').contains(&c) {
        ends[0] = Some(p + 3);
    }
    if a == b'2' && (b'0'..=b'4').contains(&b) && digit(c) {
        ends[1] = Some(p + 3);
    }
    if a == b'1' && digit(b) {
        ends[2] = digit(c).then_some(p + 3);
        ends[3] = Some(p + 2);
    }
    if digit(a) {
        ends[4] = digit(b).then_some(p + 2);
        ends[5] = Some(p + 1);
    }
    ends.into_iter().flatten()
}

/// Octets from `p`, `left` more of them after this one, then `\b`.
fn octets(t: &[u8], p: usize, left: usize) -> Option<usize> {
    octet_ends(t, p).find_map(|end| {
        if left == 0 {
            boundary(t, end).then_some(end)
        } else if at(t, end) == b'.' {
            octets(t, end + 1, left - 1)
        } else {
            None
        }
    })
}

/// `\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b` at `s`.
fn ipv4(t: &[u8], s: usize) -> Option<usize> {
    if !digit(at(t, s)) || !boundary(t, s) {
        return None;
    }
    octets(t, s, 3)
}

/// Luhn's check of the digits of `value`.
fn luhn(value: &[u8]) -> bool {
    let digits = value.iter().rev().filter(|b| digit(**b));
    let total: u32 = digits
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d > 4 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    total.is_multiple_of(10)
}

/// `pii._iban_ok`: 15 to 34 characters without the spaces, and the number made of them
/// (the first four moved to the end, letters as 10 to 35) is 1 modulo 97.
fn iban_ok(value: &[u8]) -> bool {
    let chars: Vec<u8> = value.iter().copied().filter(|&b| b != b' ').collect();
    if !(15..=34).contains(&chars.len()) {
        return false;
    }
    let moved = chars[4..].iter().chain(&chars[..4]);
    let rest = moved.fold(0u32, |rest, &b| {
        if digit(b) {
            (rest * 10 + u32::from(b - b'0')) % 97
        } else {
            (rest * 100 + u32::from(b - b'A' + 10)) % 97
        }
    });
    rest == 1
}

/// The first kind that matches at `s`, and where its match ends. `email_after`: the
/// email pattern is known not to match before it.
fn match_at(t: &[u8], s: usize, email_after: &mut usize) -> Option<(Kind, usize)> {
    if s >= *email_after {
        match email(t, s) {
            Ok(end) => return Some((Kind::Email, end)),
            Err(after) => *email_after = after,
        }
    }
    let first = t[s];
    if !(digit(first) || first.is_ascii_uppercase() || first == b'+' || first == b'(') {
        return None;
    }
    card(t, s)
        .map(|e| (Kind::Card, e))
        .or_else(|| iban(t, s).map(|e| (Kind::Iban, e)))
        .or_else(|| ssn(t, s).map(|e| (Kind::Ssn, e)))
        .or_else(|| phone(t, s).map(|e| (Kind::Phone, e)))
        .or_else(|| ipv4(t, s).map(|e| (Kind::Ipv4, e)))
}

/// `find_pii` on an accepted text (its head): the values found, in the order found, with
/// their kinds; none when the screen finds no place for them (`screens::may_hold_pii`).
pub fn find_pii(text: &str) -> Vec<(Kind, &str)> {
    let t = text.as_bytes();
    let mut found = Vec::new();
    if !screens::may_hold_pii(t) {
        return found;
    }
    let mut email_after = if memchr::memchr(b'@', t).is_some() {
        0
    } else {
        t.len()
    };
    let mut s = 0;
    while s < t.len() {
        let Some((kind, end)) = match_at(t, s, &mut email_after) else {
            s += 1;
            continue;
        };
        let value = &t[s..end];
        let valid = match kind {
            Kind::Card => luhn(value),
            Kind::Iban => iban_ok(value),
            _ => true,
        };
        if valid {
            // Matches hold ASCII only, so they start and end on character boundaries.
            found.push((kind, &text[s..end]));
        }
        s = end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(&'static str, &str)> {
        find_pii(text)
            .into_iter()
            .map(|(k, v)| (k.name(), v))
            .collect()
    }

    #[test]
    fn finds_each_kind() {
        assert_eq!(
            names("Mail ana@example.com or call +1 415-555-0100; card 4111 1111 1111 1111."),
            [
                ("email", "ana@example.com"),
                ("phone", "+1 415-555-0100"),
                ("card", "4111 1111 1111 1111")
            ]
        );
        assert_eq!(
            names("SSN 078-05-1120 at 10.0.0.255, IBAN DE89 3704 0044 0532 0130 00"),
            [
                ("ssn", "078-05-1120"),
                ("ipv4", "10.0.0.255"),
                ("iban", "DE89 3704 0044 0532 0130 00")
            ]
        );
        assert_eq!(names("+4420 7946 0958"), [("phone", "+4420 7946 0958")]);
        assert_eq!(names("x@y.com1 1234567"), [("email", "x@y.com")]);
    }

    #[test]
    fn near_misses() {
        assert!(names("Version 3.10.4 shipped on 2024-05-01 to 1,200 users.").is_empty());
        assert!(names("4111 1111 1111 1112 and 256.1.1.1 and a078-05-1120").is_empty());
        assert!(names("DE88 3704 0044 0532 0130 00").is_empty());
    }
}
