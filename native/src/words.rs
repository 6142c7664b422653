//! A cache of what is known about each word seen, keyed by the word's bytes.
//!
//! Words of up to 16 bytes (nearly all) are kept inline in an open-addressing table, so a
//! look-up reads one slot and compares two integers: no pointer to chase, no call to
//! `memcmp`. Longer words go to a plain hash map.

use std::collections::HashMap;

/// Bytes a word may have to be kept inline.
pub const INLINE: usize = 16;
/// Zero bytes the caller appends to the text the words are read from (see [`WordCache::get`]).
pub const PADDING: usize = INLINE;

const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Slot {
    key: [u64; 2],
    len: u32,
    value: u32,
}

/// Word bytes -> `V`, bounded: cleared when it holds `max_words`.
pub struct WordCache<V> {
    slots: Vec<Slot>,
    shift: u32,
    values: Vec<V>,
    long: HashMap<Box<[u8]>, u32>,
    max_words: usize,
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

impl<V> WordCache<V> {
    pub fn new(max_words: usize) -> Self {
        let bits = 10;
        WordCache {
            slots: vec![
                Slot {
                    key: [0, 0],
                    len: 0,
                    value: EMPTY
                };
                1 << bits
            ],
            shift: 64 - bits,
            values: Vec::new(),
            long: HashMap::new(),
            max_words: max_words.max(1),
        }
    }

    /// The value of the word `text[start..end]`, made by `make` if it is new. `text` must
    /// have `PADDING` bytes after `end`.
    #[inline]
    pub fn get(&mut self, text: &[u8], start: usize, end: usize, make: impl FnOnce() -> V) -> &V {
        let len = end - start;
        if len > INLINE {
            let word = &text[start..end];
            let index = match self.long.get(word) {
                Some(&index) => index,
                None => {
                    let index = self.push(make());
                    self.long.insert(word.into(), index);
                    index
                }
            };
            return &self.values[index as usize];
        }
        let key = inline_key(text, start, end);
        let mask = self.slots.len() - 1;
        let mut i = (hash(key, len) >> self.shift) as usize;
        loop {
            let slot = self.slots[i];
            if slot.value == EMPTY {
                break;
            }
            if slot.key == key && slot.len as usize == len {
                return &self.values[slot.value as usize];
            }
            i = (i + 1) & mask;
        }
        let value = self.push(make());
        if value == 0 {
            // `push` cleared the cache: the slot found above may be stale.
            return self.insert(key, len, value);
        }
        self.slots[i] = Slot {
            key,
            len: len as u32,
            value,
        };
        if self.values.len() * 2 > self.slots.len() {
            self.grow();
        }
        &self.values[value as usize]
    }

    fn push(&mut self, value: V) -> u32 {
        if self.values.len() >= self.max_words {
            self.values.clear();
            self.long.clear();
            for slot in &mut self.slots {
                slot.value = EMPTY;
            }
        }
        self.values.push(value);
        (self.values.len() - 1) as u32
    }

    fn insert(&mut self, key: [u64; 2], len: usize, value: u32) -> &V {
        let mask = self.slots.len() - 1;
        let mut i = (hash(key, len) >> self.shift) as usize;
        while self.slots[i].value != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot {
            key,
            len: len as u32,
            value,
        };
        &self.values[value as usize]
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![
            Slot {
                key: [0, 0],
                len: 0,
                value: EMPTY
            };
            old.len() * 2
        ];
        self.shift -= 1;
        for slot in old.into_iter().filter(|s| s.value != EMPTY) {
            self.insert(slot.key, slot.len as usize, slot.value);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_stored_and_stays_bounded() {
        let text =
            b"alpha beta alpha a-very-long-word-indeed beta alpha\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let words: Vec<(usize, usize)> =
            vec![(0, 5), (6, 10), (11, 16), (17, 40), (41, 45), (46, 51)];
        let mut cache = WordCache::new(100);
        let mut made = 0;
        let values: Vec<usize> = words
            .iter()
            .map(|&(a, b)| {
                *cache.get(text, a, b, || {
                    made += 1;
                    b - a
                })
            })
            .collect();
        assert_eq!(values, [5, 4, 5, 23, 4, 5]);
        assert_eq!(made, 3);
        let mut small = WordCache::new(2);
        for &(a, b) in &words {
            assert_eq!(*small.get(text, a, b, || b - a), b - a);
        }
        assert!(small.len() <= 2);
        let many: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("w{i:05} ").into_bytes())
            .chain([0u8; 16])
            .collect();
        let mut big = WordCache::new(100_000);
        for i in 0..5000 {
            assert_eq!(*big.get(&many, i * 7, i * 7 + 6, || i), i);
        }
        for i in 0..5000 {
            assert_eq!(*big.get(&many, i * 7, i * 7 + 6, || usize::MAX), i);
        }
    }
}
