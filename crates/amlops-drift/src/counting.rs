//! Counting tables shared by the readers: category counts of text and integer columns (CSV,
//! JSON Lines, Parquet pages and the Arrow fallback, and the data-quality counts of dropped rows),
//! and the fast hasher they use.

use std::collections::HashMap;

use crate::source::ValueType;

/// An integer column with more distinct values than this is numerical.
pub(crate) const MAX_INT_CATEGORIES: usize = 1_000_000;

/// How the count tables hash: foldhash (hashbrown's own default), with a seed drawn per table
/// from one per process. Their keys come from the data, and inference data is written by whoever
/// calls the endpoint: with a hash fixed in the binary, a file of keys chosen to share a bucket
/// (easy to compute offline for any unseeded hash) would make every insertion walk all the keys
/// before it: with the hasher used before, 100,000 such integers took 8.3 s to count against 4 ms
/// for ordinary ones, the time growing with the square of their number (a column may hold a
/// million). No list of keys
/// collides under every seed, which is what holds against a file written before the run (a run
/// shows nobody its hashes; foldhash does not claim more, nor is more needed here). It costs about
/// what the unseeded FxHash-style hasher it replaced did: one folded multiply per 16 bytes.
pub(crate) type FastState = foldhash::fast::RandomState;

pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;

/// The category counts of one column while a text scan (CSV, JSON Lines) runs.
pub(crate) enum Counter {
    Text(TextCounter),
    Int(IntCounter),
}

impl Counter {
    /// The counter of a column the scan counts (`c.count`).
    pub(crate) fn for_column(vt: ValueType) -> Counter {
        match vt {
            ValueType::Int => Counter::Int(IntCounter::default()),
            _ => Counter::Text(TextCounter::default()),
        }
    }
}

/// Category counts of a text column. Keys of at most 15 bytes (most categories) live in a table
/// keyed by one 128-bit integer (the bytes, zero-padded, and the length in the last byte), so a
/// lookup compares two words instead of calling `memcmp` on a heap copy; longer keys live in a
/// table of byte strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TextCounter {
    short: FastMap<u128, u64>,
    long: FastMap<Vec<u8>, u64>,
}

impl TextCounter {
    #[inline]
    pub(crate) fn count(&mut self, key: &[u8]) {
        if key.len() < 16 {
            *self.short.entry(short_key(key)).or_insert(0) += 1;
        } else if let Some(n) = self.long.get_mut(key) {
            *n += 1;
        } else {
            self.long.insert(key.to_vec(), 1);
        }
    }

    /// Distinct keys.
    pub(crate) fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// Calls `f(key, count)` for every key.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8], u64)) {
        for (&k, &n) in &self.short {
            let b = k.to_le_bytes();
            f(&b[..usize::from(b[15])], n);
        }
        for (k, &n) in &self.long {
            f(k, n);
        }
    }

    /// Every key with its count.
    pub(crate) fn into_counts(self) -> impl Iterator<Item = (Vec<u8>, u64)> {
        let short = self.short.into_iter().map(|(k, n)| {
            let b = k.to_le_bytes();
            (b[..usize::from(b[15])].to_vec(), n)
        });
        short.chain(self.long)
    }
}

/// A key of at most 15 bytes as one integer: byte i of the key is byte i of the result, the
/// length is byte 15, the bytes between are zero (so different keys give different integers).
#[inline]
fn short_key(s: &[u8]) -> u128 {
    let n = s.len();
    debug_assert!(n < 16);
    let word = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    let half = |c: &[u8]| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let (lo, hi) = if n >= 8 {
        // Bytes 8..n: the last 8 bytes shifted down past those the first word holds.
        let hi = if n > 8 {
            word(&s[n - 8..]) >> (8 * (16 - n))
        } else {
            0
        };
        (word(s), hi)
    } else if n >= 4 {
        // Two overlapping 4-byte loads; the bytes they share are the same.
        (half(s) | (half(&s[n - 4..]) << (8 * (n - 4))), 0)
    } else {
        (s.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)), 0)
    };
    (u128::from(hi | ((n as u64) << 56)) << 64) | u128::from(lo)
}

/// The values of an integer column whose kind the baseline decides after the scan. One table holds
/// every distinct non-null value of all rows (the 5% rule counts them, dropped rows included) with
/// its count in the rows kept (0 for a value seen only in dropped rows): one lookup a value instead
/// of a set and a map. Above its limit ([`MAX_INT_CATEGORIES`], or fewer where the baseline's
/// line count already decides the rule, see `csv_side::numerical_from`) the column is numerical and the
/// table is dropped.
pub(crate) struct IntCounter {
    map: Option<FastMap<i64, u64>>,
    limit: usize,
}

impl Default for IntCounter {
    fn default() -> Self {
        IntCounter {
            map: Some(FastMap::default()),
            limit: MAX_INT_CATEGORIES,
        }
    }
}

impl IntCounter {
    /// A counter that gives up past `limit` distinct values (at most [`MAX_INT_CATEGORIES`]).
    pub(crate) fn with_limit(limit: usize) -> IntCounter {
        IntCounter {
            limit: limit.min(MAX_INT_CATEGORIES),
            ..IntCounter::default()
        }
    }

    /// A value in a row the drift metrics keep.
    pub(crate) fn count(&mut self, v: i64) {
        self.add(v, 1);
    }

    /// A value in a row they drop: it counts as distinct, not as a category.
    pub(crate) fn seen(&mut self, v: i64) {
        self.add(v, 0);
    }

    /// Distinct values seen, `None` once the counter gave up.
    pub(crate) fn distinct(&self) -> Option<usize> {
        self.map.as_ref().map(|m| m.len())
    }

    /// The counts of the values in the rows kept (text form), `None` once the counter gave up.
    pub(crate) fn into_counts(self) -> Option<HashMap<String, u64>> {
        self.map.map(|m| {
            m.into_iter()
                .filter(|&(_, n)| n > 0)
                .map(|(k, n)| (k.to_string(), n))
                .collect()
        })
    }

    /// True once the counter gave up (the column is numerical).
    pub(crate) fn gave_up(&self) -> bool {
        self.map.is_none()
    }

    /// Stop counting: the column's kind is decided as numerical.
    pub(crate) fn give_up(&mut self) {
        self.map = None;
    }

    fn add(&mut self, v: i64, n: u64) {
        if let Some(m) = self.map.as_mut() {
            *m.entry(v).or_insert(0) += n;
            if m.len() > self.limit {
                self.map = None;
            }
        }
    }
}

/// The inverse of the odd number `a` modulo 2^64 (Newton's iteration): the tests build with it
/// keys that collide under the multiplicative hashes the tables had before they were seeded.
#[cfg(test)]
pub(crate) fn odd_inverse(a: u64) -> u64 {
    (0..6).fold(a, |x, _| x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x))))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::HashSet;
    use std::hash::BuildHasher;

    /// Distinct low 16 bits (the bucket of a table of 65,536) among the hashes of `keys`.
    fn buckets<K: std::hash::Hash>(build: &FastState, keys: impl Iterator<Item = K>) -> usize {
        keys.map(|k| build.hash_one(k) & 0xffff)
            .collect::<HashSet<u64>>()
            .len()
    }

    #[test]
    fn keys_that_differ_at_the_end_spread_over_the_buckets() {
        let n = buckets(&FastState::default(), (0..20_000).map(|i| format!("u{i:07}")));
        // 20,000 keys in 65,536 buckets: about 17,000 distinct low halves if the hash mixes.
        assert!(n > 15_000, "{n} distinct low 16 bits");
        let n = buckets(&FastState::default(), (0..20_000u128).map(|i| i << 64));
        assert!(n > 15_000, "{n} distinct low 16 bits of short keys");
    }

    /// The hasher these tables had before they were seeded: FxHash's step on each 8-byte word,
    /// then MurmurHash3's finaliser, the same in every run.
    fn unseeded(w: u64) -> u64 {
        let mut h = w.wrapping_mul(0x517c_c1b7_2722_0a95);
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }

    /// The key whose [`unseeded`] hash is `h` (every step of it can be undone).
    fn unseeded_preimage(h: u64) -> u64 {
        let inv = odd_inverse;
        let mut x = h ^ (h >> 33);
        x = x.wrapping_mul(inv(0xc4ce_b9fe_1a85_ec53));
        x ^= x >> 33;
        x = x.wrapping_mul(inv(0xff51_afd7_ed55_8ccd));
        x ^= x >> 33;
        x.wrapping_mul(inv(0x517c_c1b7_2722_0a95))
    }

    #[test]
    fn keys_crafted_to_share_a_bucket_of_a_fixed_hash_spread_over_the_buckets() {
        // What a hostile file would hold: integers that a hash fixed in the binary sends to one
        // bucket of any table up to 2^20 buckets (the low bits pick it).
        let keys: Vec<i64> = (1..=20_000u64)
            .map(|j| unseeded_preimage(j << 20) as i64)
            .collect();
        assert!(keys.iter().all(|&k| unseeded(k as u64) & 0xf_ffff == 0));
        assert_eq!(keys.iter().collect::<HashSet<_>>().len(), keys.len());
        let n = buckets(&FastState::default(), keys.iter());
        assert!(n > 15_000, "{n} distinct low 16 bits");
        // Each table draws its own seed: a table's keys, inserted into another in its order, do
        // not follow the first table's buckets.
        let (a, b) = (FastState::default(), FastState::default());
        let same = keys.iter().filter(|&&k| a.hash_one(k) == b.hash_one(k)).count();
        assert_eq!(same, 0, "two tables hash {same} keys alike");
    }

    proptest::proptest! {
        #[test]
        fn text_counts_equal_a_map_of_byte_strings(keys in proptest::collection::vec(
            proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(0u8), proptest::strategy::Just(b'a'), proptest::strategy::Just(b'b'), proptest::num::u8::ANY], 0..24),
            0..200,
        )) {
            let mut c = TextCounter::default();
            let mut want: HashMap<Vec<u8>, u64> = HashMap::new();
            for k in &keys {
                c.count(k);
                *want.entry(k.clone()).or_insert(0) += 1;
            }
            let got: HashMap<Vec<u8>, u64> = c.into_counts().collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn short_keys_hold_their_bytes_and_length() {
        for n in 0..16 {
            let s: Vec<u8> = (1..=n as u8).collect();
            let b = short_key(&s).to_le_bytes();
            assert_eq!(&b[..n], &s[..], "{n}");
            assert!(b[n..15].iter().all(|&x| x == 0), "{n}");
            assert_eq!(usize::from(b[15]), n);
        }
        assert_ne!(
            short_key(b"a"),
            short_key(b"a\0"),
            "a trailing zero byte is another key"
        );
    }

    #[test]
    fn an_integer_counter_keeps_every_distinct_value_and_counts_kept_rows_only() {
        let mut c = IntCounter::default();
        for v in [3, 3, 5] {
            c.count(v);
        }
        c.seen(7); // only in a dropped row
        c.seen(3);
        let m = c.map.as_ref().unwrap();
        assert_eq!((m.len(), m[&3], m[&5], m[&7]), (3, 2, 1, 0));
        assert_eq!(c.distinct(), Some(3));
        let counts = c.into_counts().unwrap();
        assert_eq!((counts.len(), counts["3"], counts["5"]), (2, 2, 1));
    }
}
