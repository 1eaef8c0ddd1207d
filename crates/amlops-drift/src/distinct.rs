//! Exact value counting for low-cardinality numerical samples. A sample with few distinct
//! values (rounded measurements, small integer ranges) is summarised as its sorted distinct
//! values with their counts, which gives the same KS, Wasserstein and bin counts as the fully
//! sorted sample, at the cost of one hash pass over the values (the table stays in cache)
//! instead of a multi-pass radix sort.

/// Hash-table slots (a power of two); at most half are filled. The table takes 6 MiB a worker
/// (12 bytes a slot), mostly served from L2/L3 cache.
const SLOTS_LOG2: u32 = 19;
const SLOTS: usize = 1 << SLOTS_LOG2;
/// Most distinct values a sample may hold to be counted rather than sorted.
pub const MAX_DISTINCT: usize = SLOTS / 2;
/// Bit pattern of a NaN: marks an empty slot (samples hold no NaN).
const EMPTY: u64 = u64::MAX;

/// Reusable hash table for [`Counter::count`]. Its hash is seeded (each table its own seed, as
/// the category tables', `counting::FastState`): the values come from the data, and with a hash
/// fixed in the binary a file of values sharing one slot (a multiple of the multiplier's inverse
/// each) would make every insertion probe past all the values before it, some 3 * 10^10 probes
/// for a column of 262,144 of them.
#[derive(Default)]
pub struct Counter {
    keys: Vec<u64>,
    counts: Vec<u32>,
    hash: crate::counting::FastState,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter")
            .field("slots", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// The first slot `hash` probes for the value of bit pattern `bits`.
#[inline]
fn slot(hash: &crate::counting::FastState, bits: u64) -> usize {
    use std::hash::BuildHasher;
    (hash.hash_one(bits) as usize) & (SLOTS - 1)
}

impl Counter {
    /// Count the distinct values of `values` plus the weighted `pairs` (no NaN). On success
    /// the ascending distinct values (by `f64::total_cmp`) go to `distinct`, their counts to
    /// `counts`, and `true` is returned. With more than [`MAX_DISTINCT`] distinct values it
    /// gives up (typically early) and returns `false`. The caller keeps the total count at or
    /// below `u32::MAX`.
    pub fn count(
        &mut self,
        values: &[f64],
        pairs: &[(f64, u64)],
        distinct: &mut Vec<f64>,
        counts: &mut Vec<u64>,
    ) -> bool {
        self.keys.clear();
        self.keys.resize(SLOTS, EMPTY);
        self.counts.clear();
        self.counts.resize(SLOTS, 0);
        let (keys, cnt, hash) = (&mut self.keys[..], &mut self.counts[..], &self.hash);
        let mut filled = 0usize;
        let weighted = values
            .iter()
            .map(|&x| (x, 1u32))
            .chain(pairs.iter().map(|&(x, c)| (x, c as u32)));
        for (x, w) in weighted {
            let b = x.to_bits();
            let mut s = slot(hash, b);
            loop {
                let k = keys[s];
                if k == b {
                    cnt[s] += w;
                    break;
                }
                if k == EMPTY {
                    keys[s] = b;
                    cnt[s] = w;
                    filled += 1;
                    if filled > MAX_DISTINCT {
                        return false;
                    }
                    break;
                }
                s = (s + 1) & (SLOTS - 1);
            }
        }
        let mut found: Vec<(f64, u64)> = keys
            .iter()
            .zip(cnt.iter())
            .filter(|(k, _)| **k != EMPTY)
            .map(|(k, c)| (f64::from_bits(*k), u64::from(*c)))
            .collect();
        found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        distinct.clear();
        counts.clear();
        for (x, c) in found {
            distinct.push(x);
            counts.push(c);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sorted_distinct_values() {
        let v = vec![2.5, -1.0, 2.5, 0.0, -0.0, 7.0, -1.0, 2.5];
        let (mut d, mut c) = (Vec::new(), Vec::new());
        assert!(Counter::default().count(&v, &[(7.0, 4), (9.0, 2)], &mut d, &mut c));
        let vals: Vec<u64> = d.iter().map(|x| x.to_bits()).collect();
        let want: Vec<u64> = [-1.0f64, -0.0, 0.0, 2.5, 7.0, 9.0]
            .iter()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(vals, want);
        assert_eq!(c, vec![2, 1, 1, 3, 5, 2]);
    }

    #[test]
    fn values_crafted_to_share_a_slot_of_a_fixed_hash_spread_over_the_slots() {
        // The multiplicative hash this table had before it was seeded: slot = the top 19 bits
        // of bits * M. The values k * M^-1 (mod 2^64) all have slot 0 under it.
        const M: u64 = 0x9E37_79B9_7F4A_7C15;
        let inv = crate::counting::odd_inverse(M);
        assert_eq!(M.wrapping_mul(inv), 1);
        let v: Vec<f64> = (1..=40_000u64)
            .map(|k| f64::from_bits(k.wrapping_mul(inv)))
            .filter(|x| x.is_finite())
            .collect();
        assert!(v.len() > 39_000);
        assert!(
            v.iter()
                .all(|x| x.to_bits().wrapping_mul(M) >> (64 - SLOTS_LOG2) == 0)
        );
        let mut counter = Counter::default();
        let slots: std::collections::HashSet<usize> =
            v.iter().map(|x| slot(&counter.hash, x.to_bits())).collect();
        // About 38,000 distinct slots of 524,288 for 39,000 values when the hash mixes.
        assert!(slots.len() > 35_000, "{} distinct slots", slots.len());
        // And they are counted as any values are.
        let (mut d, mut c) = (Vec::new(), Vec::new());
        assert!(counter.count(
            &v,
            &v[..100].iter().map(|&x| (x, 2)).collect::<Vec<_>>(),
            &mut d,
            &mut c
        ));
        let mut want = v.clone();
        want.sort_unstable_by(f64::total_cmp);
        assert_eq!(
            d.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert_eq!(c.iter().sum::<u64>(), v.len() as u64 + 200);
        assert_eq!(c.iter().filter(|&&n| n == 3).count(), 100);
    }

    #[test]
    fn too_many_distinct_values_give_up() {
        let v: Vec<f64> = (0..=MAX_DISTINCT).map(|i| i as f64 * 0.5).collect();
        let (mut d, mut c) = (Vec::new(), Vec::new());
        let mut counter = Counter::default();
        assert!(!counter.count(&v, &[], &mut d, &mut c));
        let pairs: Vec<(f64, u64)> = v.iter().map(|&x| (x, 2)).collect();
        assert!(!counter.count(&[], &pairs, &mut d, &mut c));
        let w: Vec<f64> = (0..MAX_DISTINCT).map(|i| (i % 1000) as f64).collect();
        assert!(counter.count(&w, &[], &mut d, &mut c));
        assert_eq!(d.len(), 1000);
        assert!(
            c.iter()
                .all(|&c| c as usize == MAX_DISTINCT / 1000 || c as usize == MAX_DISTINCT / 1000 + 1)
        );
    }
}
