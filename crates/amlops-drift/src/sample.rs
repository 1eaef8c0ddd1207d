//! One side's values of a numerical column, and how they are put in order.
//!
//! Exact KS and Wasserstein need each sample in order. A sample arrives as single values
//! (plain Parquet pages, CSV spills) and as (value, count) pairs (dictionary-encoded Parquet
//! pages, counted by dictionary index). It is ordered by the cheapest exact route:
//!
//! 1. Decimal data (every value is exactly `k / 10^d` for one `d <= 9`, as numbers rounded to
//!    `d` places or written with `d` decimals are) whose keys `k` span at most [`DENSE_MAX`]
//!    integers: counted in a dense array indexed by `k - k_min`.
//! 2. At most `MAX_DISTINCT` (262,144) distinct values: counted in a cache-resident hash table.
//! 3. Otherwise sorted: an LSD radix sort over `k - k_min` for decimal data (two or three
//!    passes), else over the order-preserving bit pattern of the float.
//!
//! Every route yields the same ascending distinct values with the same counts (or the sorted
//! values themselves), so the metrics are bit-identical whichever route a sample takes. (The
//! decimal routes give -0.0 back as 0.0; the two are equal, and every metric treats them alike.)

use crate::distinct::Counter;
#[cfg(test)]
use crate::distinct::MAX_DISTINCT;
use crate::sort::{sort_decimal, sort_f64};

/// Widest key range counted in a dense array (64 MiB of `u32` counts).
pub const DENSE_MAX: u64 = 1 << 24;

/// One side's values of a numerical column: single values plus (value, count) pairs.
#[derive(Debug, Default, Clone)]
pub struct Sample {
    /// Values one by one, in any order.
    pub values: Vec<f64>,
    /// Values with their number of occurrences, in any order, possibly repeated.
    pub pairs: Vec<(f64, u64)>,
}

impl Sample {
    /// A sample of single values.
    pub fn from_values(values: Vec<f64>) -> Sample {
        Sample {
            values,
            pairs: Vec::new(),
        }
    }

    /// Forget every value, keeping the memory.
    pub fn clear(&mut self) {
        self.values.clear();
        self.pairs.clear();
    }

    /// Number of values, counting each pair's occurrences.
    pub fn len(&self) -> u64 {
        self.values.len() as u64 + self.pairs.iter().map(|p| p.1).sum::<u64>()
    }

    /// True when the sample holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A sample in order: ascending values, or ascending distinct values with their counts.
#[derive(Debug, Clone, Copy)]
pub struct Ordered<'a> {
    /// Ascending values (all of them, or the distinct ones when `counts` is set).
    pub values: &'a [f64],
    /// Occurrences of each distinct value.
    pub counts: Option<&'a [u64]>,
}

/// Where one side's ordered form is kept (reused from column to column).
#[derive(Debug, Default)]
pub struct OrderBuf {
    distinct: Vec<f64>,
    counts: Vec<u64>,
}

/// Working memory shared by both sides of a job (reused from column to column).
#[derive(Debug, Default)]
pub struct Work {
    scratch: Vec<f64>,
    counter: Counter,
    dense: Vec<u32>,
}

/// Which route [`order`] took (for tests and tracing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Counted in a dense array of decimal keys.
    Dense,
    /// Counted in a hash table.
    Hashed,
    /// Radix-sorted on decimal keys.
    SortedDecimal,
    /// Radix-sorted on float bit patterns.
    Sorted,
}

/// `1.5 * 2^52`: adding and subtracting it rounds |y| < 2^51 to the nearest integer.
const ROUNDER: f64 = 6_755_399_441_055_744.0;
/// Largest |x * 10^d| that [`ROUNDER`] rounds exactly.
const KEY_LIMIT: f64 = 2_251_799_813_685_248.0; // 2^51
/// Decimal places tried.
const MAX_PLACES: i32 = 9;

/// A sample whose values are all `k / scale` for integers `k` in `kmin..=kmax`.
#[derive(Debug, Clone, Copy)]
struct Decimal {
    scale: f64,
    kmin: i64,
    kmax: i64,
}

#[inline]
fn rounded(x: f64, scale: f64) -> f64 {
    (x * scale + ROUNDER) - ROUNDER
}

/// Is `x` exactly `k / scale` for the integer `k` nearest `x * scale`?
#[inline]
fn exact(x: f64, scale: f64) -> bool {
    let y = x * scale;
    // `==`, not bits: -0.0 takes key 0 and comes back as 0.0, which every metric treats alike.
    y.abs() < KEY_LIMIT && ((y + ROUNDER) - ROUNDER) / scale == x
}

/// Fewest decimal places that represent `x` exactly, from `from` up.
fn places_for(x: f64, from: i32) -> Option<i32> {
    (from..=MAX_PLACES).find(|&d| exact(x, 10f64.powi(d)))
}

/// Check that every value is decimal at `scale`; the key range when it is, else a value
/// that is not.
fn key_range(values: &[f64], pairs: &[(f64, u64)], scale: f64) -> Result<(i64, i64), f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for chunk in values.chunks(2048) {
        let mut ok = true;
        for &x in chunk {
            let y = x * scale;
            let r = (y + ROUNDER) - ROUNDER;
            ok &= y.abs() < KEY_LIMIT && r / scale == x;
            lo = lo.min(r);
            hi = hi.max(r);
        }
        if !ok {
            return Err(first_inexact(chunk, scale));
        }
    }
    for &(x, _) in pairs {
        if !exact(x, scale) {
            return Err(x);
        }
        let r = rounded(x, scale);
        lo = lo.min(r);
        hi = hi.max(r);
    }
    Ok((lo as i64, hi as i64))
}

fn first_inexact(values: &[f64], scale: f64) -> f64 {
    values
        .iter()
        .copied()
        .find(|&x| !exact(x, scale))
        .unwrap_or(f64::NAN)
}

/// Fewest decimal places that fit a spread of the sample's values (`None`: not decimal).
fn probe_places(sample: &Sample) -> Option<i32> {
    let n = sample.values.len();
    let probe = sample
        .values
        .iter()
        .step_by((n / 64).max(1))
        .copied()
        .chain(sample.pairs.iter().take(64).map(|p| p.0));
    let mut places = 0;
    for x in probe {
        places = places_for(x, places)?;
    }
    Some(places)
}

/// Find the decimal form of a sample, if it has one, checking every value.
fn decimal(sample: &Sample, mut places: i32) -> Option<Decimal> {
    loop {
        let scale = 10f64.powi(places);
        match key_range(&sample.values, &sample.pairs, scale) {
            Ok((kmin, kmax)) if kmin <= kmax => return Some(Decimal { scale, kmin, kmax }),
            Ok(_) => return None,
            Err(bad) => places = places_for(bad, places + 1)?,
        }
    }
}

/// Smallest and largest value (the sample holds no NaN).
fn min_max(sample: &Sample) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in &sample.values {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    for &(x, _) in &sample.pairs {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    (lo, hi)
}

/// Would a dense array of `range` counts pay off for `n` values?
fn dense_fits(range: u64, n: u64) -> bool {
    n <= u64::from(u32::MAX) && range <= DENSE_MAX && range <= n.saturating_mul(4).max(1 << 16)
}

/// Put a sample in order (see the module docs). May reorder and grow `sample.values`.
pub fn order<'a>(sample: &'a mut Sample, buf: &'a mut OrderBuf, work: &mut Work) -> (Ordered<'a>, Route) {
    let n = sample.len();
    let mut places = probe_places(sample);
    if let Some(p) = places {
        // Dense counting checks every value as it counts it, with the key range taken from
        // the smallest and largest value (rounding is monotone, so every key lies between).
        let (lo, hi) = min_max(sample);
        let mut p = p;
        loop {
            let scale = 10f64.powi(p);
            if !(exact(lo, scale) && exact(hi, scale)) {
                places = places_for(lo, p + 1).and_then(|a| places_for(hi, a));
                match places {
                    Some(q) => {
                        p = q;
                        continue;
                    }
                    None => break,
                }
            }
            let (kmin, kmax) = (rounded(lo, scale) as i64, rounded(hi, scale) as i64);
            let range = (kmax - kmin) as u64 + 1;
            if !dense_fits(range, n) {
                places = Some(p);
                break;
            }
            match dense_count(sample, scale, kmin, range as usize, buf, work) {
                Ok(()) => return (counted(buf), Route::Dense),
                Err(bad) => {
                    places = places_for(bad, p + 1);
                    match places {
                        Some(q) => p = q,
                        None => break,
                    }
                }
            }
        }
    }
    if n <= u64::from(u32::MAX)
        && work
            .counter
            .count(&sample.values, &sample.pairs, &mut buf.distinct, &mut buf.counts)
    {
        return (counted(buf), Route::Hashed);
    }
    let dec = places.and_then(|p| decimal(sample, p));
    let pairs = std::mem::take(&mut sample.pairs);
    for &(x, c) in &pairs {
        sample.values.extend(std::iter::repeat_n(x, c as usize));
    }
    sample.pairs = pairs;
    sample.pairs.clear();
    let route = match dec {
        Some(d) => {
            sort_decimal(&mut sample.values, &mut work.scratch, d.scale, d.kmin, d.kmax);
            Route::SortedDecimal
        }
        None => {
            sort_f64(&mut sample.values, &mut work.scratch);
            Route::Sorted
        }
    };
    (
        Ordered {
            values: &sample.values,
            counts: None,
        },
        route,
    )
}

fn counted(buf: &OrderBuf) -> Ordered<'_> {
    Ordered {
        values: &buf.distinct,
        counts: Some(&buf.counts),
    }
}

/// Count decimal keys `kmin..kmin + range` in a dense array, checking each value; `Err` with a
/// value that is not `k / scale` (or out of range) leaves `buf` unspecified.
fn dense_count(
    sample: &Sample,
    scale: f64,
    kmin: i64,
    range: usize,
    buf: &mut OrderBuf,
    work: &mut Work,
) -> Result<(), f64> {
    let dense = &mut work.dense;
    dense.clear();
    dense.resize(range, 0);
    let base = kmin as f64;
    let top = range as f64;
    for chunk in sample.values.chunks(4096) {
        let mut ok = true;
        for &x in chunk {
            let y = x * scale;
            let r = (y + ROUNDER) - ROUNDER;
            let i = r - base;
            ok &= y.abs() < KEY_LIMIT && r / scale == x && i >= 0.0 && i < top;
            // An index past the end (only for a value that fails the check) is not counted.
            if let Some(c) = dense.get_mut(i as usize) {
                *c += 1;
            }
        }
        if !ok {
            return Err(first_inexact(chunk, scale));
        }
    }
    for &(x, c) in &sample.pairs {
        let i = rounded(x, scale) - base;
        if !exact(x, scale) || !(0.0..top).contains(&i) {
            return Err(x);
        }
        dense[i as usize] += c as u32;
    }
    buf.distinct.clear();
    buf.counts.clear();
    for (i, &c) in dense.iter().enumerate() {
        if c > 0 {
            buf.distinct.push((kmin + i as i64) as f64 / scale);
            buf.counts.push(u64::from(c));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xorshift(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Every route gives the ascending distinct values and counts of a reference sort.
    fn check(sample: Sample, want_route: Route) {
        let mut all: Vec<f64> = sample.values.clone();
        for &(x, c) in &sample.pairs {
            all.extend(std::iter::repeat_n(x, c as usize));
        }
        all.sort_unstable_by(|a, b| a.total_cmp(b));
        let mut s = sample;
        let (mut buf, mut work) = (OrderBuf::default(), Work::default());
        let probe = probe_places(&s)
            .and_then(|p| decimal(&s, p))
            .map(|d| (d.scale, d.kmin, d.kmax));
        let (o, route) = order(&mut s, &mut buf, &mut work);
        assert_eq!(route, want_route, "decimal form {probe:?}");
        // -0.0 may come back as 0.0 (equal values): compare with zeros unsigned.
        let bits = |x: &f64| (x + 0.0).to_bits();
        let expanded: Vec<u64> = match o.counts {
            None => o.values.iter().map(bits).collect(),
            Some(c) => {
                assert!(
                    o.values.windows(2).all(|w| w[0].total_cmp(&w[1]).is_lt()),
                    "distinct values ascend"
                );
                o.values
                    .iter()
                    .zip(c)
                    .flat_map(|(x, &k)| std::iter::repeat_n(bits(x), k as usize))
                    .collect()
            }
        };
        let want: Vec<u64> = all.iter().map(bits).collect();
        assert_eq!(expanded, want, "{want_route:?}");
    }

    #[test]
    fn decimal_values_in_a_narrow_range_are_counted_densely() {
        let mut r = xorshift(7);
        let values: Vec<f64> = (0..50_000)
            .map(|_| ((r() * 4.0 - 2.0) * 1e4).round() / 1e4)
            .collect();
        let pairs = vec![(1.2345, 3), (-1.9999, 2), (0.5, 1)];
        check(Sample { values, pairs }, Route::Dense);
        // Integers (zero places) and a mixture that needs the probe to be revised upwards.
        let ints: Vec<f64> = (0..10_000).map(|i| f64::from(i % 37) - 5.0).collect();
        check(Sample::from_values(ints), Route::Dense);
        let mut mixed: Vec<f64> = (0..20_000).map(|i| f64::from(i % 100)).collect();
        mixed[15_000] = 2.75;
        check(Sample::from_values(mixed), Route::Dense);
    }

    #[test]
    fn few_distinct_non_decimal_values_are_hashed() {
        let mut r = xorshift(11);
        let levels: Vec<f64> = (0..500).map(|_| r() * 3.0).collect();
        let values: Vec<f64> = (0..30_000).map(|i| levels[(i * 7919) % 500]).collect();
        let pairs = vec![(levels[3], 10), (0.1f64.sqrt(), 4)];
        check(Sample { values, pairs }, Route::Hashed);
        // -0.0 and 0.0 are both key 0 of decimal data.
        check(
            Sample::from_values(vec![0.0, -0.0, 1.0, -0.0, 2.5, 0.0]),
            Route::Dense,
        );
        // Without the decimal form, the hash table keeps them apart, -0.0 first.
        check(
            Sample::from_values(vec![0.0, -0.0, 0.1f64.sqrt(), -0.0]),
            Route::Hashed,
        );
    }

    #[test]
    fn many_distinct_values_are_sorted_on_decimal_keys_or_bits() {
        let mut r = xorshift(13);
        // Decimal keys over a range too wide for the dense array.
        let wide: Vec<f64> = (0..MAX_DISTINCT + 20_000)
            .map(|_| ((r() - 0.5) * 1e7 * 1e3).round() / 1e3)
            .collect();
        check(
            Sample {
                values: wide,
                pairs: vec![(12.5, 5)],
            },
            Route::SortedDecimal,
        );
        let floats: Vec<f64> = (0..MAX_DISTINCT + 20_000).map(|_| (r() - 0.3) * 1e3).collect();
        check(
            Sample {
                values: floats,
                pairs: vec![(0.3f64.sqrt(), 7)],
            },
            Route::Sorted,
        );
    }

    #[test]
    fn length_counts_pairs() {
        let s = Sample {
            values: vec![1.0, 2.0],
            pairs: vec![(3.0, 5), (4.0, 1)],
        };
        assert_eq!(s.len(), 8);
        assert!(Sample::default().is_empty());
    }

    #[test]
    fn decimal_detection_is_exact() {
        assert!(exact(0.1, 10.0));
        assert!(exact(123.4567, 1e4));
        assert!(!exact(0.1f64.sqrt(), 1e9));
        assert!(exact(-0.0, 1.0));
        assert!(!exact(1e300, 1.0));
        assert_eq!(places_for(2.75, 0), Some(2));
        let s = Sample::from_values(vec![1.5, 2.25, -3.125]);
        let d = probe_places(&s)
            .and_then(|p| decimal(&s, p))
            .map(|d| (d.scale, d.kmin, d.kmax));
        assert_eq!(d, Some((1000.0, -3125, 2250)));
    }
}
