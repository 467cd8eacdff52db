//! The compact hash index under every table, and the keyed hash it uses.
//!
//! Tables keep their entries in a slab (`Vec<Entry>`, allocated once) and
//! find them through an [`Index`]: an open-addressing (linear probing) array
//! of `u32` slots holding `tag << 24 | (entry + 1)`. Keys are never stored
//! twice: a candidate slot whose 8-bit tag matches is confirmed by comparing
//! the entry itself. Deletion shifts the following entries back (no
//! tombstones), so the array never degrades and never grows: its size is
//! fixed when the table is built, at [`SLOTS_PER_ENTRY_NUM`] /
//! [`SLOTS_PER_ENTRY_DEN`] slots per entry of capacity (load factor <= 3/4),
//! i.e. 5.33 bytes per entry.

use core::hash::{BuildHasher, Hasher};

/// Slots per entry of capacity: numerator (load factor <= 3/4).
pub(crate) const SLOTS_PER_ENTRY_NUM: usize = 4;
/// Slots per entry of capacity: denominator.
pub(crate) const SLOTS_PER_ENTRY_DEN: usize = 3;
/// Largest number of entries one index can address (24-bit entry numbers).
pub const MAX_ENTRIES: usize = (1 << 24) - 2;

const EMPTY: u32 = 0;
const IDX_MASK: u32 = 0x00ff_ffff;

/// A keyed, seeded hash for fixed-size integer keys (a folded 64x64->128
/// multiply per word, as foldhash and wyhash do). Deterministic for a given
/// seed, which the caller draws at random in production so that a remote
/// sender cannot aim collisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyedHash {
    k0: u64,
    k1: u64,
}

const PI0: u64 = 0x243f_6a88_85a3_08d3;
const PI1: u64 = 0x1319_8a2e_0370_7344;
const PI2: u64 = 0xa409_3822_299f_31d0;

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl KeyedHash {
    pub(crate) fn new(seed: u64) -> Self {
        let k0 = fold_mul(seed ^ PI0, PI1) | 1;
        let k1 = fold_mul(seed.rotate_left(32) ^ PI2, PI0) | 1;
        Self { k0, k1 }
    }

    /// Hash of a short sequence of words.
    #[inline]
    pub(crate) fn words(&self, words: &[u64]) -> u64 {
        let mut h = self.k0;
        for w in words {
            h = fold_mul(h ^ w, self.k1);
        }
        fold_mul(h ^ self.k0, PI2 ^ self.k1)
    }
}

/// `std::hash::Hasher` over [`KeyedHash`], for the few small `HashMap`s
/// (held SYNs, fragments, static routes) that are not on the per-session path.
#[derive(Debug, Clone)]
pub(crate) struct KeyedHasher {
    key: KeyedHash,
    acc: u64,
    n: u64,
}

impl Hasher for KeyedHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.acc = fold_mul(self.acc ^ u64::from_le_bytes(b) ^ self.n, self.key.k1);
            self.n = self.n.wrapping_add(1);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.acc = fold_mul(self.acc ^ i ^ self.n, self.key.k1);
        self.n = self.n.wrapping_add(1);
    }
    fn finish(&self) -> u64 {
        fold_mul(self.acc ^ self.key.k0, PI2 ^ self.key.k1)
    }
}

impl BuildHasher for KeyedHash {
    type Hasher = KeyedHasher;
    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher { key: *self, acc: self.k0, n: 0 }
    }
}

/// A fixed-size hash index of entry numbers (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Index {
    slots: Box<[u32]>,
    len: usize,
}

impl Index {
    /// An index for at most `capacity` entries (<= [`MAX_ENTRIES`]).
    /// Zeroed memory: pages are only touched as entries arrive.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        debug_assert!(capacity <= MAX_ENTRIES);
        let n = (capacity * SLOTS_PER_ENTRY_NUM).div_ceil(SLOTS_PER_ENTRY_DEN).max(capacity + 1).max(4);
        Self { slots: vec![EMPTY; n].into_boxed_slice(), len: 0 }
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        // Lemire's multiply-shift range reduction: any table size.
        (((hash & 0xffff_ffff) * self.slots.len() as u64) >> 32) as usize
    }

    #[inline]
    fn tag(hash: u64) -> u32 {
        (hash >> 56) as u32
    }

    #[inline]
    fn next(&self, i: usize) -> usize {
        if i + 1 == self.slots.len() {
            0
        } else {
            i + 1
        }
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated.
    pub(crate) fn allocated_bytes(&self) -> usize {
        self.slots.len() * core::mem::size_of::<u32>()
    }

    /// The first entry with this hash for which `eq` holds, and its slot.
    #[inline]
    fn find_slot(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<(usize, u32)> {
        let tag = Self::tag(hash);
        let mut i = self.home(hash);
        loop {
            let v = self.slots[i];
            if v == EMPTY {
                return None;
            }
            if v >> 24 == tag {
                let idx = (v & IDX_MASK) - 1;
                if eq(idx) {
                    return Some((i, idx));
                }
            }
            i = self.next(i);
        }
    }

    /// The first entry with this hash for which `eq` holds.
    #[inline]
    pub(crate) fn find(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        self.find_slot(hash, eq).map(|(_, idx)| idx)
    }

    /// Adds entry `idx` under `hash`. The caller guarantees the entry is not
    /// present and that `len() <` the capacity given at construction.
    pub(crate) fn insert(&mut self, hash: u64, idx: u32) {
        debug_assert!((idx as usize) < MAX_ENTRIES);
        debug_assert!(self.len < self.slots.len() - 1);
        let mut i = self.home(hash);
        while self.slots[i] != EMPTY {
            i = self.next(i);
        }
        self.slots[i] = (Self::tag(hash) << 24) | (idx + 1);
        self.len += 1;
    }

    /// Removes entry `idx` (stored under `hash`). `hash_of` recomputes the
    /// hash of another entry, for the backward shift. Returns whether it
    /// was present.
    pub(crate) fn remove(&mut self, hash: u64, idx: u32, hash_of: impl Fn(u32) -> u64) -> bool {
        let Some((mut hole, _)) = self.find_slot(hash, |i| i == idx) else {
            return false;
        };
        let mut j = hole;
        loop {
            j = self.next(j);
            let v = self.slots[j];
            if v == EMPTY {
                break;
            }
            let home = self.home(hash_of((v & IDX_MASK) - 1));
            // The entry at j may fill the hole unless its home lies
            // cyclically in (hole, j].
            let stays = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !stays {
                self.slots[hole] = v;
                hole = j;
            }
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
        true
    }

    /// Every entry number (any order).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().filter(|v| **v != EMPTY).map(|v| (v & IDX_MASK) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keyed_hash_depends_on_seed_and_input() {
        let a = KeyedHash::new(1);
        let b = KeyedHash::new(2);
        assert_ne!(a.words(&[1, 2]), b.words(&[1, 2]));
        assert_ne!(a.words(&[1, 2]), a.words(&[2, 1]));
        assert_eq!(a.words(&[7]), KeyedHash::new(1).words(&[7]));
    }

    #[test]
    fn slots_per_entry() {
        let idx = Index::with_capacity(300_000);
        assert_eq!(idx.allocated_bytes(), 400_000 * 4);
    }

    proptest! {
        /// Insert/remove sequences against a model, with a deliberately
        /// weak hash so that clusters and wrap-around are exercised.
        #[test]
        fn index_matches_model(ops in proptest::collection::vec((any::<bool>(), 0u32..40), 1..400)) {
            let cap = 30;
            let h = |k: u32| u64::from(k % 7).wrapping_mul(0x9e37_79b9_7f4a_7c15) | (u64::from(k % 3) << 56);
            let mut idx = Index::with_capacity(cap);
            let mut model = std::collections::BTreeSet::new();
            for (add, k) in ops {
                if add && !model.contains(&k) && model.len() < cap {
                    idx.insert(h(k), k);
                    model.insert(k);
                } else if !add {
                    let was = model.remove(&k);
                    prop_assert_eq!(idx.remove(h(k), k, h), was);
                }
                for k in 0..40u32 {
                    prop_assert_eq!(idx.find(h(k), |i| i == k).is_some(), model.contains(&k));
                }
                prop_assert_eq!(idx.len(), model.len());
                let mut all: Vec<u32> = idx.entries().collect();
                all.sort_unstable();
                prop_assert_eq!(all, model.iter().copied().collect::<Vec<_>>());
            }
        }
    }
}
