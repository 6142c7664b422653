//! The equivalence index and answer scoring of `ConsistencyDrift`, as the Python code does them.
//!
//! Mirrors `EquivalenceIndex.find_or_add` (exact key, then bottom-k MinHash keys guarded by
//! numbers and names, least recently used groups evicted, aliases trimmed) and the scoring
//! of an answer against its group's first answers, on the facts Python computes for the
//! texts (digest, sketch, guard). The state converts to and from the Python objects, so
//! checkpoints hold the Python form.

use std::collections::{BTreeMap, HashMap};

use crate::FxBuild;

/// An index key: `("=", digest)` or `(guard, hash)` in Python.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Key {
    Exact(u32),
    Lsh(u32, u32),
}

pub struct Group {
    pub sketch: Vec<u32>,
    pub guard: u32,
    pub keys: Vec<Key>,
    pub members: u64,
    /// (sketch of the answer's content words, hash of its numbers), oldest first.
    pub outputs: Vec<(Vec<u32>, u32)>,
    stamp: u64,
}

pub struct Index {
    pub max_groups: usize,
    pub threshold: f64,
    pub sketch_size: usize,
    pub index_keys: usize,
    pub groups: HashMap<i64, Group, FxBuild>,
    /// Recency: stamp -> group id, oldest first (Python's OrderedDict order).
    order: BTreeMap<u64, i64>,
    clock: u64,
    pub index: HashMap<Key, i64, FxBuild>,
    pub next: i64,
    pub evicted: u64,
}

/// `sketch.similarity` on sorted, distinct sketches.
pub fn similarity(a: &[u32], b: &[u32], k: usize) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let whole = a.len() < k && b.len() < k;
    let (mut i, mut j, mut union, mut common) = (0, 0, 0usize, 0usize);
    while (i < a.len() || j < b.len()) && (whole || union < k) {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
            common += 1;
        } else if j >= b.len() || (i < a.len() && a[i] < b[j]) {
            i += 1;
        } else {
            j += 1;
        }
        union += 1;
    }
    if whole {
        common as f64 / (a.len() + b.len() - common) as f64
    } else {
        common as f64 / union as f64
    }
}

impl Index {
    pub fn new(max_groups: usize, threshold: f64, sketch_size: usize, index_keys: usize) -> Self {
        Index {
            max_groups,
            threshold,
            sketch_size,
            index_keys,
            groups: HashMap::default(),
            order: BTreeMap::new(),
            clock: 0,
            index: HashMap::default(),
            next: 0,
            evicted: 0,
        }
    }

    /// Adds a group at the most recent end (restoring state, or a new group).
    pub fn push_group(
        &mut self,
        gid: i64,
        sketch: Vec<u32>,
        guard: u32,
        keys: Vec<Key>,
    ) -> &mut Group {
        self.clock += 1;
        self.order.insert(self.clock, gid);
        let group = Group {
            sketch,
            guard,
            keys,
            members: 1,
            outputs: Vec::new(),
            stamp: self.clock,
        };
        self.groups.insert(gid, group);
        self.groups.get_mut(&gid).unwrap()
    }

    /// Group ids, least recently used first.
    pub fn order(&self) -> impl Iterator<Item = i64> + '_ {
        self.order.values().copied()
    }

    fn touch(&mut self, gid: i64) {
        let n = self.index_keys;
        let group = self.groups.get_mut(&gid).unwrap();
        group.members += 1;
        self.order.remove(&group.stamp);
        self.clock += 1;
        group.stamp = self.clock;
        self.order.insert(self.clock, gid);
        if group.keys.len() > 4 * (n + 1) {
            // keys[n + 1 : -n] go; keys[: n + 1] + keys[-n:] stay (n >= 1).
            let len = group.keys.len();
            let stale: Vec<Key> = group.keys[n + 1..len - n].to_vec();
            let mut kept = group.keys[..n + 1].to_vec();
            kept.extend_from_slice(&group.keys[len - n..]);
            group.keys = kept;
            for key in stale {
                if self.index.get(&key) == Some(&gid) {
                    self.index.remove(&key);
                }
            }
        }
    }

    fn evict(&mut self) {
        let Some((_, gid)) = self.order.pop_first() else {
            return;
        };
        let group = self.groups.remove(&gid).unwrap();
        for key in &group.keys {
            if self.index.get(key) == Some(&gid) {
                self.index.remove(key);
            }
        }
        self.evicted += 1;
    }

    /// `EquivalenceIndex.find_or_add` on a text's facts: (group id, found an earlier one).
    pub fn find_or_add(&mut self, digest: u32, sig: &[u32], guard: u32) -> (i64, bool) {
        let exact = Key::Exact(digest);
        if let Some(&gid) = self.index.get(&exact)
            && self.groups.contains_key(&gid)
        {
            self.touch(gid);
            return (gid, true);
        }
        let mut keys = vec![exact];
        keys.extend(
            sig.iter()
                .take(self.index_keys)
                .map(|&v| Key::Lsh(guard, v)),
        );
        let (mut best, mut best_similarity) = (-1i64, self.threshold);
        if !sig.is_empty() {
            for key in &keys[1..] {
                let Some(&candidate) = self.index.get(key) else {
                    continue;
                };
                if candidate == best {
                    continue;
                }
                let Some(group) = self.groups.get(&candidate) else {
                    continue;
                };
                if group.guard != guard {
                    continue;
                }
                let s = similarity(sig, &group.sketch, self.sketch_size);
                if s > best_similarity || (s == best_similarity && best < 0) {
                    best = candidate;
                    best_similarity = s;
                }
            }
        }
        if best >= 0 {
            self.index.insert(exact, best);
            self.groups.get_mut(&best).unwrap().keys.push(exact);
            self.touch(best);
            return (best, true);
        }
        let gid = self.next;
        self.next += 1;
        for key in &keys {
            self.index.insert(*key, gid);
        }
        self.push_group(gid, sig.to_vec(), guard, keys);
        if self.groups.len() > self.max_groups {
            self.evict();
        }
        (gid, false)
    }

    /// `ConsistencyDrift.update`'s use of the index: group the input, score the answer
    /// against the group's earlier answers (None when it has none), keep the answer if
    /// the group has fewer than `answers_per_group`.
    pub fn observe(
        &mut self,
        facts: (u32, &[u32], u32),
        answer: (Vec<u32>, u32),
        answers_per_group: usize,
        k: usize,
    ) -> Option<f64> {
        let (gid, _) = self.find_or_add(facts.0, facts.1, facts.2);
        let group = self.groups.get_mut(&gid).unwrap();
        let score = if group.outputs.is_empty() {
            None
        } else {
            let mut total = 0.0f64;
            for (words, numbers) in &group.outputs {
                let mut s = similarity(&answer.0, words, k);
                if answer.1 != 0 && *numbers != 0 && answer.1 != *numbers {
                    s *= 0.5;
                }
                total += s;
            }
            Some(total / group.outputs.len() as f64)
        };
        if group.outputs.len() < answers_per_group {
            group.outputs.push(answer);
        }
        score
    }
}
