//! A cache of what is known about each word seen, keyed by the word's bytes.
//!
//! Words of up to 16 bytes (nearly all) are kept inline, with their (small, `Copy`) value,
//! in an open-addressing table: a look-up reads one 32-byte slot and compares two integers,
//! no pointer to chase and no call to `memcmp`. Longer words go to a plain hash map.

use std::collections::HashMap;

use crate::FxBuild;

/// Bytes a word may have to be kept inline.
pub const INLINE: usize = 16;
/// Zero bytes the caller appends to the text the words are read from (see [`WordCache::get`]).
pub const PADDING: usize = INLINE;

const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Slot<V: Copy> {
    key: [u64; 2],
    len: u32,
    value: V,
}

/// Word bytes -> `V`. The owner bounds it: [`WordCache::clear`] when [`WordCache::len`] is
/// too large (between texts, so values handed out for a text stay valid).
pub struct WordCache<V: Copy> {
    slots: Vec<Slot<V>>,
    shift: u32,
    count: usize,
    long: HashMap<Box<[u8]>, V, FxBuild>,
    empty: V,
}

#[inline]
fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

#[inline]
fn mask(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

/// The inline key of `text[start..end]` (at most `INLINE` bytes, `PADDING` readable after).
#[inline]
fn inline_key(text: &[u8], start: usize, end: usize) -> [u64; 2] {
    let len = end - start;
    let k0 = read_u64(text, start) & mask(len);
    let k1 = if len > 8 {
        read_u64(text, start + 8) & mask(len - 8)
    } else {
        0
    };
    [k0, k1]
}

#[inline]
fn hash(key: [u64; 2], len: usize) -> u64 {
    (key[0].wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ key[1].wrapping_mul(0xc2b2_ae3d_27d4_eb4f).rotate_left(31)
        ^ len as u64)
        .wrapping_mul(0x1656_67b1_9e37_79f9)
}

const START_BITS: u32 = 10;

impl<V: Copy> WordCache<V> {
    /// An empty cache; `empty` fills unused slots (never returned).
    pub fn new(empty: V) -> Self {
        WordCache {
            slots: vec![
                Slot {
                    key: [0, 0],
                    len: EMPTY,
                    value: empty
                };
                1 << START_BITS
            ],
            shift: 64 - START_BITS,
            count: 0,
            long: HashMap::default(),
            empty,
        }
    }

    /// Words held.
    pub fn len(&self) -> usize {
        self.count + self.long.len()
    }

    /// Forgets every word.
    pub fn clear(&mut self) {
        *self = WordCache::new(self.empty);
    }

    /// The value of the word `text[start..end]` if it is held (at most `INLINE` bytes,
    /// `PADDING` readable after `end`).
    #[inline]
    pub fn find(&self, text: &[u8], start: usize, end: usize) -> Option<V> {
        let len = end - start;
        debug_assert!(len <= INLINE);
        let (i, held) = self.probe(inline_key(text, start, end), len);
        held.then(|| self.slots[i].value)
    }

    /// The slot of an inline word (`key`, `len` bytes): its own if held (true), else the
    /// empty one where it would go (false).
    #[inline]
    fn probe(&self, key: [u64; 2], len: usize) -> (usize, bool) {
        let mask = self.slots.len() - 1;
        let mut i = (hash(key, len) >> self.shift) as usize;
        loop {
            let slot = &self.slots[i];
            if slot.len == EMPTY {
                return (i, false);
            }
            if slot.key == key && slot.len as usize == len {
                return (i, true);
            }
            i = (i + 1) & mask;
        }
    }

    /// The value of the word `text[start..end]`, made by `make` if it is new. `text` must
    /// have `PADDING` readable bytes after `end`.
    #[inline]
    pub fn get(&mut self, text: &[u8], start: usize, end: usize, make: impl FnOnce() -> V) -> V {
        let len = end - start;
        if len > INLINE {
            let word = &text[start..end];
            if let Some(&value) = self.long.get(word) {
                return value;
            }
            let value = make();
            self.long.insert(word.into(), value);
            return value;
        }
        let key = inline_key(text, start, end);
        let (i, held) = self.probe(key, len);
        if held {
            return self.slots[i].value;
        }
        let value = make();
        self.slots[i] = Slot {
            key,
            len: len as u32,
            value,
        };
        self.count += 1;
        if self.count * 2 > self.slots.len() {
            self.grow();
        }
        value
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let empty = Slot {
            key: [0, 0],
            len: EMPTY,
            value: self.empty,
        };
        self.slots = vec![empty; old.len() * 2];
        self.shift -= 1;
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.len != EMPTY) {
            let mut i = (hash(slot.key, slot.len as usize) >> self.shift) as usize;
            while self.slots[i].len != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_stored() {
        let text =
            b"alpha beta alpha a-very-long-word-indeed beta alpha\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let words: Vec<(usize, usize)> =
            vec![(0, 5), (6, 10), (11, 16), (17, 40), (41, 45), (46, 51)];
        let mut cache = WordCache::new(0usize);
        let mut made = 0;
        let values: Vec<usize> = words
            .iter()
            .map(|&(a, b)| {
                cache.get(text, a, b, || {
                    made += 1;
                    b - a
                })
            })
            .collect();
        assert_eq!(values, [5, 4, 5, 23, 4, 5]);
        assert_eq!(made, 3);
        assert_eq!(cache.len(), 3);
        cache.clear();
        assert_eq!(cache.len(), 0);
        let many: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("w{i:05} ").into_bytes())
            .chain([0u8; 16])
            .collect();
        let mut big = WordCache::new(0usize);
        for i in 0..5000 {
            assert_eq!(big.get(&many, i * 7, i * 7 + 6, || i), i);
        }
        for i in 0..5000 {
            assert_eq!(big.get(&many, i * 7, i * 7 + 6, || usize::MAX), i);
        }
    }
}
