//! Strict JSON for the call normaliser: read as `orjson.loads` reads it and written as
//! `json.dumps(..., ensure_ascii=False)` writes it, for the documents found in messages and
//! retrieval attributes. What this reader cannot be sure to read as orjson does (floats,
//! integers beyond 18 digits, lone surrogates, repeated keys, deep nesting) and invalid
//! JSON alike give None: the Python normaliser then reads the document itself.

use std::borrow::Cow;
use std::fmt::Write;

use memchr::memchr2;

/// Deeper documents (tool arguments, say) go to Python.
const MAX_JSON_DEPTH: u32 = 32;

/// A JSON document as `orjson.loads` gives it, for the values handled here.
pub(super) enum Json<'s> {
    Null,
    Bool(bool),
    Int(i64),
    /// A number with a fraction or an exponent, as written (finite: orjson rejects the
    /// others), read with `float_value`.
    Float(&'s str),
    Str(Cow<'s, str>),
    Array(Vec<Json<'s>>),
    Object(Vec<(Cow<'s, str>, Json<'s>)>),
}

impl<'s> Json<'s> {
    pub(super) fn get(&self, key: &str) -> Option<&Json<'s>> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Strict JSON (RFC 8259, as orjson reads it); None for invalid JSON and for what this
/// module leaves to Python: integers of more than 18 digits, lone surrogates, repeated
/// keys, nesting deeper than `MAX_JSON_DEPTH`. Floats are kept as written: both orjson
/// and Rust read them correctly rounded, but only Python writes them back (`dump`).
pub(super) fn parse_json(s: &str) -> Option<Json<'_>> {
    let mut r = JsonReader { s, pos: 0 };
    let value = r.value(0)?;
    r.space();
    (r.pos == s.len()).then_some(value)
}

struct JsonReader<'s> {
    s: &'s str,
    pos: usize,
}

impl<'s> JsonReader<'s> {
    fn space(&mut self) {
        let b = self.s.as_bytes();
        while matches!(b.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.s.as_bytes().get(self.pos) == Some(&byte)).then(|| self.pos += 1)
    }

    fn literal(&mut self, word: &str, value: Json<'s>) -> Option<Json<'s>> {
        self.s[self.pos..].starts_with(word).then(|| {
            self.pos += word.len();
            value
        })
    }

    fn value(&mut self, depth: u32) -> Option<Json<'s>> {
        if depth > MAX_JSON_DEPTH {
            return None;
        }
        self.space();
        match *self.s.as_bytes().get(self.pos)? {
            b'{' => {
                self.pos += 1;
                let mut fields: Vec<(Cow<'s, str>, Json<'s>)> = Vec::new();
                if self.eat(b'}').is_some() {
                    return Some(Json::Object(fields));
                }
                loop {
                    self.eat(b'"')?;
                    let key = self.string()?;
                    self.eat(b':')?;
                    let value = self.value(depth + 1)?;
                    if fields.len() > 64 || fields.iter().any(|(k, _)| *k == key) {
                        return None;
                    }
                    fields.push((key, value));
                    if self.eat(b',').is_none() {
                        self.eat(b'}')?;
                        return Some(Json::Object(fields));
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat(b']').is_some() {
                    return Some(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b',').is_none() {
                        self.eat(b']')?;
                        return Some(Json::Array(items));
                    }
                }
            }
            b'"' => {
                self.pos += 1;
                self.string().map(Json::Str)
            }
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'n' => self.literal("null", Json::Null),
            _ => self.number(),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`: an integer of at most 18 digits,
    /// or a finite float.
    fn number(&mut self) -> Option<Json<'s>> {
        let b = self.s.as_bytes();
        let start = self.pos;
        if b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let first = self.pos;
        let digits = self.digits();
        if digits == 0 || (b[first] == b'0' && digits > 1) {
            return None;
        }
        let mut float = false;
        if b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            float = true;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            float = true;
            if matches!(b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let raw = &self.s[start..self.pos];
        if float {
            return float_value(raw).map(|_| Json::Float(raw));
        }
        if digits > 18 {
            return None;
        }
        raw.parse().ok().map(Json::Int)
    }

    /// Skips ASCII digits; how many.
    fn digits(&mut self) -> usize {
        let b = self.s.as_bytes();
        let from = self.pos;
        while b.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - from
    }

    /// The rest of a string whose opening quote was read.
    fn string(&mut self) -> Option<Cow<'s, str>> {
        let b = self.s.as_bytes();
        let start = self.pos;
        // The common case: no escapes, the text is borrowed as it is.
        let run = memchr2(b'"', b'\\', &b[start..])?;
        if b[start + run] == b'"' {
            self.pos = start + run + 1;
            return (!has_control(&b[start..start + run]))
                .then(|| Cow::Borrowed(&self.s[start..start + run]));
        }
        // Unescaped, the text is never longer than as written: one allocation.
        let mut out = String::with_capacity(escaped_len(&b[start + run..])? + run);
        loop {
            let run = memchr2(b'"', b'\\', &b[self.pos..])?;
            if has_control(&b[self.pos..self.pos + run]) {
                return None; // raw control characters are not JSON
            }
            out.push_str(&self.s[self.pos..self.pos + run]);
            self.pos += run + 1;
            if b[self.pos - 1] == b'"' {
                return Some(Cow::Owned(out));
            }
            let escape = *b.get(self.pos)?;
            self.pos += 1;
            out.push(match escape {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => self.unicode_escape()?,
                _ => return None,
            });
        }
    }

    /// The character of `\uXXXX` (a surrogate pair taking two); lone surrogates: None.
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if (0xDC00..0xE000).contains(&high) {
            return None;
        }
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(high);
        }
        if !self.s[self.pos..].starts_with("\\u") {
            return None;
        }
        self.pos += 2;
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.s.get(self.pos..self.pos + 4)?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }
}

/// Whether ``b`` holds a byte below 0x20 (a minimum, which vectorises).
fn has_control(b: &[u8]) -> bool {
    b.iter().fold(u8::MAX, |low, &c| low.min(c)) < 0x20
}

/// A float as written in JSON, read as orjson reads it (None: infinite, which orjson
/// rejects).
pub(super) fn float_value(raw: &str) -> Option<f64> {
    raw.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `json.dumps(value, ensure_ascii=False)` of a parsed document; None when it holds a
/// float (Python's `repr` of a float is left to Python).
pub(super) fn dump(value: &Json<'_>, out: &mut String) -> Option<()> {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Json::Float(_) => return None,
        Json::Str(s) => quote(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump(item, out)?;
            }
            out.push(']');
        }
        Json::Object(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                quote(key, out);
                out.push_str(": ");
                dump(item, out)?;
            }
            out.push('}');
        }
    }
    Some(())
}

/// A JSON string as `json.dumps(..., ensure_ascii=False)` writes it.
pub(super) fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The bytes up to a string's closing quote, from its first backslash (None: unclosed).
fn escaped_len(b: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        let run = memchr2(b'"', b'\\', &b[pos..])?;
        if b[pos + run] == b'"' {
            return Some(pos + run);
        }
        pos = (pos + run + 2).min(b.len()); // the escaped byte is never the closing quote
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_read_strictly() {
        assert!(
            parse_json(r#"[{"a": "b\u00e9\ud83d\ude00", "n": -12, "t": [true, null]}]"#).is_some()
        );
        assert!(matches!(
            parse_json("-1.5e-3"),
            Some(Json::Float("-1.5e-3"))
        ));
        assert!(matches!(parse_json("1E3"), Some(Json::Float("1E3"))));
        for doubtful in [
            "[1,]",
            "01",
            "1.",
            ".5",
            "1e",
            "1e400",
            "-",
            r#""\ud800""#,
            r#"{"a": 1, "a": 2}"#,
            "[",
            "\"\u{1}\"",
            "nul",
            "",
        ] {
            assert!(parse_json(doubtful).is_none(), "{doubtful}");
        }
    }

    #[test]
    fn escaped_strings_are_read_whole_in_the_room_they_take() {
        for (raw, text) in [
            (r#""a\"b\\\u00e9\ud83d\ude00c""#, "a\"b\\é😀c"),
            (r#""\\""#, "\\"),
            (r#""x\n""#, "x\n"),
        ] {
            let Some(Json::Str(read)) = parse_json(raw) else {
                panic!("{raw}");
            };
            assert_eq!(read, text);
            assert!(matches!(read, Cow::Owned(ref s) if s.capacity() <= raw.len()));
        }
        assert_eq!(escaped_len(br#"\"x\\" tail"#), Some(5));
        assert_eq!(escaped_len(br#"\"x"#), None);
        assert_eq!(escaped_len(b"\\"), None);
        assert!(parse_json(r#""ab\"#).is_none());
    }

    #[test]
    fn dumps_as_python() {
        let mut out = String::new();
        dump(
            &parse_json(r#"{"a": ["x\n\"\u0001é", 1, null], "b": {}}"#).unwrap(),
            &mut out,
        )
        .unwrap();
        assert!(dump(&parse_json("[0.5]").unwrap(), &mut String::new()).is_none());
        assert_eq!(out, "{\"a\": [\"x\\n\\\"\\u0001é\", 1, null], \"b\": {}}");
    }
}
