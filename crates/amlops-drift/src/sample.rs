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
//! 3. Otherwise sorted: an LSD radix sort over `k - k_min` for decimal data (digits of at
//!    most 10 bits, as few passes as the key range needs), else over the order-preserving bit
//!    pattern of the float.
//!
//! Every route yields the same ascending distinct values with the same counts (or the sorted
//! values themselves), so the metrics are bit-identical whichever route a sample takes.
//!
//! The drift metrics use the counting routes only ([`order_counted`]): when a sample cannot be
//! counted, [`crate::metrics::numerical_samples`] leaves both samples unordered and takes KS
//! and W1 from buckets ([`crate::ecdf`]), which is exact too and sorts only a few buckets. (The
//! decimal routes give -0.0 back as 0.0; the two are equal, and every metric treats them alike.)

use crate::distinct::Counter;
#[cfg(test)]
use crate::distinct::MAX_DISTINCT;
use crate::sort::{sort_decimal, sort_f64};

/// Widest key range counted in a dense array.
pub const DENSE_MAX: u64 = 1 << 24;

/// One side's values of a numerical column: single values, (value, count) pairs, and
/// values counted densely by decimal key while they were read.
#[derive(Debug, Default, Clone)]
pub struct Sample {
    /// Values one by one, in any order.
    pub values: Vec<f64>,
    /// Values with their number of occurrences, in any order, possibly repeated.
    pub pairs: Vec<(f64, u64)>,
    /// Values counted by decimal key as they were read (see [`Dense`]).
    pub dense: Dense,
    /// How many values the reader expects (to size `values` once).
    pub(crate) expected: usize,
}

impl Sample {
    /// A sample of single values.
    pub fn from_values(values: Vec<f64>) -> Sample {
        Sample {
            values,
            ..Sample::default()
        }
    }

    /// Forget every value, keeping the memory.
    pub fn clear(&mut self) {
        self.values.clear();
        self.pairs.clear();
        self.dense.reset();
    }

    /// Number of values, counting each pair's occurrences.
    pub fn len(&self) -> u64 {
        self.values.len() as u64 + self.pairs.iter().map(|p| p.1).sum::<u64>() + self.dense.n
    }

    /// True when the sample holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
impl Sample {
    /// Every value of the sample, in any order (tests).
    pub(crate) fn all_values(&self) -> Vec<f64> {
        let mut all = self.values.clone();
        for &(x, c) in &self.pairs {
            all.extend(std::iter::repeat_n(x, c as usize));
        }
        if self.dense.is_on() {
            let mut d = self.dense.clone();
            let (kmin, scale) = (d.kmin, d.scale);
            d.each_count(|i, c| {
                all.extend(std::iter::repeat_n((kmin + i as i64) as f64 / scale, c as usize));
            });
            all.extend_from_slice(&self.dense.outside);
            for &(x, c) in &self.dense.outside_pairs {
                all.extend(std::iter::repeat_n(x, c as usize));
            }
        }
        all
    }
}

/// Dense counting while a sample is read: a reader that knows the value range beforehand
/// (Parquet statistics) offers it; on the first values seen the number of decimal places is
/// probed and a window of keys is chosen: the whole key range when it fits [`DENSE_MAX`], else
/// the window that holds most of the probed values (long-tailed data: the bulk is counted, the
/// few values outside are kept aside and sorted). Values in the window are counted straight
/// into an array indexed by `k - k_min` instead of being kept. Every value is checked before
/// it is counted; a value that is not decimal ends dense counting (the counts become pairs,
/// the values kept aside become values again) and reading goes on as usual.
#[derive(Debug, Default, Clone)]
pub struct Dense {
    state: DenseState,
    scale: f64,
    kmin: i64,
    /// Counts modulo 256, one byte a key (so that the array stays in cache), and the number
    /// of times each key's byte wrapped, as (key index, times) in any order.
    counts: Vec<u8>,
    wraps: Vec<(usize, u64)>,
    /// Decimal values outside the window, one by one and as (value, count) pairs.
    outside: Vec<f64>,
    outside_pairs: Vec<(f64, u64)>,
    n: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum DenseState {
    #[default]
    Off,
    Pending {
        lo: f64,
        hi: f64,
        n: u64,
    },
    On,
}

/// Widest window of keys for a sample whose whole key range is too wide (4 MiB of counts).
const WINDOW_MAX: u64 = 1 << 22;

/// Least share of the probed values a window must hold to be used for a long-tailed sample.
const WINDOW_MIN_SHARE: f64 = 0.9;

impl Dense {
    fn reset(&mut self) {
        self.state = DenseState::Off;
        self.n = 0;
        self.wraps.clear();
        self.outside.clear();
        self.outside_pairs.clear();
    }

    /// Offer dense counting for a sample of about `n` values, all within `lo..=hi`.
    pub fn offer(&mut self, lo: f64, hi: f64, n: u64) {
        self.reset();
        if lo <= hi {
            self.state = DenseState::Pending { lo, hi, n };
        }
    }

    /// Whether values are being counted densely.
    pub fn is_on(&self) -> bool {
        self.state == DenseState::On
    }

    /// Whether the first values are still awaited.
    pub fn is_pending(&self) -> bool {
        matches!(self.state, DenseState::Pending { .. })
    }

    /// Decide, from the first values seen, whether to count densely, and over which keys.
    pub fn decide(&mut self, probe: &[f64]) {
        let DenseState::Pending { lo, hi, n } = self.state else {
            return;
        };
        self.state = DenseState::Off;
        let step = (probe.len() / 4096).max(1);
        let picked: Vec<f64> = probe.iter().step_by(step).copied().collect();
        let mut places = Some(0);
        for &x in picked
            .iter()
            .step_by((picked.len() / 64).max(1))
            .chain([lo, hi].iter())
        {
            places = places.and_then(|p| places_for(x, p));
        }
        let Some(p) = places else {
            return;
        };
        let scale = 10f64.powi(p);
        if !(exact(lo, scale) && exact(hi, scale)) {
            return;
        }
        let (kmin, kmax) = (rounded(lo, scale) as i64, rounded(hi, scale) as i64);
        let full = (kmax - kmin) as u64 + 1;
        let (start, width) = if dense_fits(full, n) {
            (kmin, full)
        } else {
            // The window of at most WINDOW_MAX keys (and 4 a value) holding most probed values.
            let width = WINDOW_MAX.min(n.saturating_mul(4)).max(1);
            let mut keys: Vec<i64> = picked
                .iter()
                .filter(|&&x| exact(x, scale))
                .map(|&x| rounded(x, scale) as i64)
                .collect();
            if keys.is_empty() {
                return;
            }
            keys.sort_unstable();
            let (mut best, mut best_at, mut j) = (0usize, keys[0], 0usize);
            for i in 0..keys.len() {
                while j < keys.len() && (keys[j] - keys[i]) < width as i64 {
                    j += 1;
                }
                if j - i > best {
                    best = j - i;
                    best_at = keys[i];
                }
            }
            if (best as f64) < WINDOW_MIN_SHARE * picked.len() as f64 {
                return;
            }
            (best_at.min(kmax + 1 - width as i64).max(kmin), width)
        };
        self.scale = scale;
        self.kmin = start;
        self.counts.clear();
        self.counts.resize(width as usize, 0);
        self.wraps.clear();
        self.n = 0;
        self.state = DenseState::On;
    }

    /// Count every value of `xs` (those outside the window are kept aside) if each one is
    /// decimal; else count none and return false.
    pub fn add_all(&mut self, xs: &[f64]) -> bool {
        let (scale, base, top) = (self.scale, self.kmin as f64, self.counts.len() as f64);
        let mut ok = self.is_on();
        let mut inside = true;
        for &x in xs {
            let y = x * scale;
            let r = (y + ROUNDER) - ROUNDER;
            let i = r - base;
            ok &= y.abs() < KEY_LIMIT && r / scale == x;
            inside &= i >= 0.0 && i < top;
        }
        if !ok {
            return false;
        }
        if inside {
            for &x in xs {
                let i = (rounded(x, scale) - base) as usize;
                self.bump(i);
            }
        } else {
            for &x in xs {
                let i = rounded(x, scale) - base;
                if i >= 0.0 && i < top {
                    self.bump(i as usize);
                } else {
                    self.outside.push(x);
                }
            }
        }
        self.n += xs.len() as u64;
        true
    }

    /// Count (value, count) pairs (those outside the window are kept aside) if each value is
    /// decimal; else count none and return false.
    pub fn add_pairs(&mut self, pairs: &[(f64, u64)]) -> bool {
        let (scale, base) = (self.scale, self.kmin as f64);
        if !self.is_on() || !pairs.iter().all(|&(x, _)| exact(x, scale)) {
            return false;
        }
        let top = self.counts.len() as f64;
        for &(x, c) in pairs {
            let i = rounded(x, scale) - base;
            if i >= 0.0 && i < top {
                let i = i as usize;
                let total = u64::from(self.counts[i]) + c;
                self.counts[i] = (total & 0xff) as u8;
                if total >> 8 > 0 {
                    self.wraps.push((i, total >> 8));
                }
            } else {
                self.outside_pairs.push((x, c));
            }
            self.n += c;
        }
        true
    }

    /// Count one value at key index `i` (in the window).
    #[inline]
    fn bump(&mut self, i: usize) {
        if let Some(c) = self.counts.get_mut(i) {
            *c = c.wrapping_add(1);
            if *c == 0 {
                self.wraps.push((i, 1));
            }
        }
    }

    /// The (key index, count) of every counted key, ascending.
    fn each_count(&mut self, mut f: impl FnMut(usize, u64)) {
        self.wraps.sort_unstable_by_key(|w| w.0);
        let mut w = 0usize;
        for (i, &c) in self.counts.iter().enumerate() {
            let mut total = u64::from(c);
            while w < self.wraps.len() && self.wraps[w].0 == i {
                total += self.wraps[w].1 << 8;
                w += 1;
            }
            if total > 0 {
                f(i, total);
            }
        }
    }

    /// Stop counting densely: the counts so far become pairs, the values kept aside values.
    pub fn demote(&mut self, values: &mut Vec<f64>, pairs: &mut Vec<(f64, u64)>) {
        if self.is_on() {
            let (kmin, scale) = (self.kmin, self.scale);
            self.each_count(|i, c| pairs.push(((kmin + i as i64) as f64 / scale, c)));
            values.append(&mut self.outside);
            pairs.append(&mut self.outside_pairs);
            self.reset();
        }
    }

    /// The counted values, ascending, with their counts: those kept aside below the window,
    /// the window, those kept aside above it.
    fn scan(&mut self, buf: &mut OrderBuf, scratch: &mut Vec<f64>) {
        buf.distinct.clear();
        buf.counts.clear();
        // Values kept aside, in order, with their counts.
        sort_f64(&mut self.outside, scratch);
        self.outside_pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut aside: Vec<(f64, u64)> = Vec::new();
        let (mut i, mut j) = (0usize, 0usize);
        while i < self.outside.len() || j < self.outside_pairs.len() {
            let take_value = j == self.outside_pairs.len()
                || (i < self.outside.len() && self.outside[i] <= self.outside_pairs[j].0);
            let (x, c) = if take_value {
                i += 1;
                (self.outside[i - 1], 1)
            } else {
                j += 1;
                self.outside_pairs[j - 1]
            };
            match aside.last_mut() {
                Some(last) if last.0 == x => last.1 += c,
                _ => aside.push((x, c)),
            }
        }
        let first = (self.kmin as f64) / self.scale;
        let below = aside.partition_point(|p| p.0 < first);
        for &(x, c) in &aside[..below] {
            buf.distinct.push(x);
            buf.counts.push(c);
        }
        let (kmin, scale) = (self.kmin, self.scale);
        self.each_count(|i, c| {
            buf.distinct.push((kmin + i as i64) as f64 / scale);
            buf.counts.push(c);
        });
        for &(x, c) in &aside[below..] {
            buf.distinct.push(x);
            buf.counts.push(c);
        }
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
    /// Not ordered: KS and W1 from buckets ([`crate::ecdf`]).
    Buckets,
}

/// `1.5 * 2^52`: adding and subtracting it rounds |y| < 2^51 to the nearest integer.
const ROUNDER: f64 = 6_755_399_441_055_744.0;
/// Largest |x * 10^d| that [`ROUNDER`] rounds exactly.
const KEY_LIMIT: f64 = 2_251_799_813_685_248.0; // 2^51
/// Decimal places tried.
const MAX_PLACES: i32 = 9;

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

/// Put a sample in order by a counting route, if one applies (dense decimal keys or at most
/// `MAX_DISTINCT` distinct values): the distinct values and counts go to `buf`
/// ([`OrderBuf::ordered`]). Otherwise `None`, with every value left in `sample.values` and
/// `sample.pairs` (in any order).
pub fn order_counted(sample: &mut Sample, buf: &mut OrderBuf, work: &mut Work) -> Option<Route> {
    if sample.dense.is_on() {
        if sample.dense.add_all(&sample.values) {
            sample.values.clear();
        }
        if sample.values.is_empty() && sample.dense.add_pairs(&sample.pairs) {
            sample.pairs.clear();
            sample.dense.scan(buf, &mut work.scratch);
            return Some(Route::Dense);
        }
        sample.dense.demote(&mut sample.values, &mut sample.pairs);
    }
    sample.dense.reset();
    let n = sample.len();
    if let Some(mut p) = probe_places(sample) {
        // Dense counting checks every value as it counts it, with the key range taken from
        // the smallest and largest value (rounding is monotone, so every key lies between).
        let (lo, hi) = min_max(sample);
        loop {
            let scale = 10f64.powi(p);
            if !(exact(lo, scale) && exact(hi, scale)) {
                match places_for(lo, p + 1).and_then(|a| places_for(hi, a)) {
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
                break;
            }
            match dense_count(sample, scale, kmin, range as usize, buf, work) {
                Ok(()) => return Some(Route::Dense),
                Err(bad) => match places_for(bad, p + 1) {
                    Some(q) => p = q,
                    None => break,
                },
            }
        }
    }
    if n <= u64::from(u32::MAX)
        && work
            .counter
            .count(&sample.values, &sample.pairs, &mut buf.distinct, &mut buf.counts)
    {
        return Some(Route::Hashed);
    }
    None
}

/// Put a sample in order (see the module docs): a counting route ([`order_counted`]) or a
/// radix sort. May reorder and grow `sample.values`.
pub fn order<'a>(sample: &'a mut Sample, buf: &'a mut OrderBuf, work: &mut Work) -> (Ordered<'a>, Route) {
    if let Some(route) = order_counted(sample, buf, work) {
        return (counted(buf), route);
    }
    let places = probe_places(sample);
    let pairs = std::mem::take(&mut sample.pairs);
    for &(x, c) in &pairs {
        sample.values.extend(std::iter::repeat_n(x, c as usize));
    }
    sample.pairs = pairs;
    sample.pairs.clear();
    // Radix on decimal keys, checking every value as its key is made; a value with more
    // places than probed tries again with those, one that is not decimal sorts on bits.
    let mut route = Route::Sorted;
    if let Some(mut p) = places {
        let (lo, hi) = min_max(sample);
        loop {
            let scale = 10f64.powi(p);
            let (kmin, kmax) = (rounded(lo, scale) as i64, rounded(hi, scale) as i64);
            match sort_decimal(&mut sample.values, &mut work.scratch, scale, kmin, kmax) {
                Ok(()) => {
                    route = Route::SortedDecimal;
                    break;
                }
                Err(bad) => match places_for(bad, p + 1) {
                    Some(q) => p = q,
                    None => break,
                },
            }
        }
    }
    if route == Route::Sorted {
        sort_f64(&mut sample.values, &mut work.scratch);
    }
    (
        Ordered {
            values: &sample.values,
            counts: None,
        },
        route,
    )
}

impl OrderBuf {
    /// The distinct values and counts [`order_counted`] left here.
    pub fn ordered(&self) -> Ordered<'_> {
        counted(self)
    }
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
    use crate::test_support::unit;

    /// Every route gives the ascending distinct values and counts of a reference sort.
    fn check(sample: Sample, want_route: Route) {
        let mut all: Vec<f64> = sample.values.clone();
        for &(x, c) in &sample.pairs {
            all.extend(std::iter::repeat_n(x, c as usize));
        }
        all.sort_unstable_by(|a, b| a.total_cmp(b));
        let mut s = sample;
        let (mut buf, mut work) = (OrderBuf::default(), Work::default());
        let probe = probe_places(&s);
        let (o, route) = order(&mut s, &mut buf, &mut work);
        assert_eq!(route, want_route, "probed places {probe:?}");
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
        let mut r = unit(7);
        let values: Vec<f64> = (0..50_000)
            .map(|_| ((r() * 4.0 - 2.0) * 1e4).round() / 1e4)
            .collect();
        let pairs = vec![(1.2345, 3), (-1.9999, 2), (0.5, 1)];
        check(
            Sample {
                values,
                pairs,
                ..Sample::default()
            },
            Route::Dense,
        );
        // Integers (zero places) and a mixture that needs the probe to be revised upwards.
        let ints: Vec<f64> = (0..10_000).map(|i| f64::from(i % 37) - 5.0).collect();
        check(Sample::from_values(ints), Route::Dense);
        let mut mixed: Vec<f64> = (0..20_000).map(|i| f64::from(i % 100)).collect();
        mixed[15_000] = 2.75;
        check(Sample::from_values(mixed), Route::Dense);
    }

    #[test]
    fn few_distinct_non_decimal_values_are_hashed() {
        let mut r = unit(11);
        let levels: Vec<f64> = (0..500).map(|_| r() * 3.0).collect();
        let values: Vec<f64> = (0..30_000).map(|i| levels[(i * 7919) % 500]).collect();
        let pairs = vec![(levels[3], 10), (0.1f64.sqrt(), 4)];
        check(
            Sample {
                values,
                pairs,
                ..Sample::default()
            },
            Route::Hashed,
        );
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
        let mut r = unit(13);
        // Decimal keys over a range too wide for the dense array.
        let wide: Vec<f64> = (0..MAX_DISTINCT + 20_000)
            .map(|_| ((r() - 0.5) * 1e7 * 1e3).round() / 1e3)
            .collect();
        check(
            Sample {
                values: wide,
                pairs: vec![(12.5, 5)],
                ..Sample::default()
            },
            Route::SortedDecimal,
        );
        let floats: Vec<f64> = (0..MAX_DISTINCT + 20_000).map(|_| (r() - 0.3) * 1e3).collect();
        check(
            Sample {
                values: floats,
                pairs: vec![(0.3f64.sqrt(), 7)],
                ..Sample::default()
            },
            Route::Sorted,
        );
    }

    // Dense counting while reading: values and pairs counted as they come; a value that does
    // not fit (more places, out of the offered range, NaN) ends it without losing anything.
    #[test]
    fn dense_counting_while_reading_and_its_fallback() {
        let mut r = unit(3);
        let page: Vec<f64> = (0..5000)
            .map(|_| ((r() * 20.0 - 5.0) * 100.0).round() / 100.0)
            .collect();
        let mut s = Sample::default();
        s.dense.offer(-5.0, 15.0, 20_000);
        assert!(s.dense.is_pending());
        s.dense.decide(&page);
        assert!(s.dense.is_on());
        assert!(s.dense.add_all(&page));
        assert!(s.dense.add_pairs(&[(1.25, 7), (-5.0, 2)]));
        assert!(!s.dense.add_all(&[1.0, 2.0, 1.001]), "a third place does not fit");
        assert!(s.dense.add_all(&[15.01]), "out of the offered range: kept aside");
        assert!(!s.dense.add_pairs(&[(f64::NAN, 1)]));
        assert_eq!(s.len(), 5010);
        let mut want = page.clone();
        want.extend([1.25; 7]);
        want.extend([-5.0; 2]);
        want.push(15.01);
        let mut got = s.all_values();
        got.sort_unstable_by(|a, b| a.total_cmp(b));
        want.sort_unstable_by(|a, b| a.total_cmp(b));
        assert_eq!(got, want);
        // Ordering a densely counted sample gives its distinct values and counts.
        let mut reference = Sample::from_values(want.clone());
        let (mut b1, mut b2, mut w) = (OrderBuf::default(), OrderBuf::default(), Work::default());
        let mut copy = s.clone();
        let (o1, r1) = order(&mut copy, &mut b1, &mut w);
        let (v1, c1) = (o1.values.to_vec(), o1.counts.map(<[u64]>::to_vec));
        let (o2, _) = order(&mut reference, &mut b2, &mut w);
        assert_eq!(r1, Route::Dense);
        assert_eq!((v1, c1), (o2.values.to_vec(), o2.counts.map(<[u64]>::to_vec)));
        // A value read later that does not fit: the counts become pairs, nothing is lost.
        s.dense.demote(&mut s.values, &mut s.pairs);
        assert!(!s.dense.is_on());
        s.values.push(0.125);
        assert_eq!(s.len(), 5011);
        let mut got = s.all_values();
        got.sort_unstable_by(|a, b| a.total_cmp(b));
        want.push(0.125);
        want.sort_unstable_by(|a, b| a.total_cmp(b));
        assert_eq!(got, want);
        // Non-decimal first values: no dense counting; a range too wide: a window of 4 keys a
        // value around the probed values.
        let mut t = Sample::default();
        t.dense.offer(0.0, 1.0, 1000);
        t.dense.decide(&[0.1f64.sqrt()]);
        assert!(!t.dense.is_on() && !t.dense.is_pending());
        t.dense.offer(0.0, 1e9, 1000);
        t.dense.decide(&[1.5]);
        assert!(t.dense.is_on() && t.dense.counts.len() == 4000);
        assert!(t.dense.add_all(&[1.5, 2.5, 7e8]) && t.dense.outside == vec![7e8]);
    }

    // A long-tailed decimal sample whose key range is far wider than the dense array: the
    // bulk is counted in a window, the tail kept aside, and the order is exact.
    #[test]
    fn long_tails_are_counted_in_a_window_and_kept_aside() {
        let mut r = unit(5);
        let n = 200_000u64;
        let values: Vec<f64> = (0..n)
            .map(|i| {
                let u = r();
                let x = if i % 100 == 0 { 1e6 * u } else { 50.0 * u };
                ((x - 3.0) * 1e3).round() / 1e3
            })
            .collect();
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                (a.min(x), b.max(x))
            });
        let mut s = Sample::default();
        s.dense.offer(lo, hi, n);
        s.dense.decide(&values[..20_000]);
        assert!(s.dense.is_on(), "a window holds 99% of the probe");
        for page in values.chunks(4096) {
            assert!(s.dense.add_all(page));
        }
        assert!(s.dense.add_pairs(&[(-3.0, 4), (999_000.5, 2)]));
        assert!(!s.dense.outside.is_empty() && !s.dense.outside_pairs.is_empty());
        assert!(s.dense.counts.len() < ((hi - lo) * 1e3) as usize);
        let mut all = values.clone();
        all.extend([-3.0; 4]);
        all.extend([999_000.5; 2]);
        let mut reference = Sample::from_values(all);
        let (mut b1, mut b2, mut w) = (OrderBuf::default(), OrderBuf::default(), Work::default());
        let mut copy = s.clone();
        let (o1, r1) = order(&mut copy, &mut b1, &mut w);
        assert_eq!(r1, Route::Dense);
        let got = (o1.values.to_vec(), o1.counts.map(<[u64]>::to_vec));
        let (o2, _) = order(&mut reference, &mut b2, &mut w);
        assert_eq!(got, (o2.values.to_vec(), o2.counts.map(<[u64]>::to_vec)));
        // Demoting gives every value back.
        s.dense.demote(&mut s.values, &mut s.pairs);
        assert_eq!(s.len(), n + 6);
    }

    // Counts are kept modulo 256 with the wraps aside: large counts come out whole.
    #[test]
    fn dense_counts_past_a_byte() {
        let mut s = Sample::default();
        s.dense.offer(0.0, 4.0, 100_000);
        s.dense.decide(&[0.0, 1.0, 2.0, 3.0, 4.0]);
        let values: Vec<f64> = (0..100_000u32).map(|i| f64::from(i % 5)).collect();
        assert!(s.dense.add_all(&values));
        assert!(s.dense.add_pairs(&[(2.0, 1000), (4.0, 256)]));
        let (mut buf, mut work) = (OrderBuf::default(), Work::default());
        let (o, route) = order(&mut s, &mut buf, &mut work);
        assert_eq!(route, Route::Dense);
        assert_eq!(o.values, &[0.0, 1.0, 2.0, 3.0, 4.0][..]);
        assert_eq!(o.counts, Some(&[20_000, 20_000, 21_000, 20_000, 20_256][..]));
    }

    #[test]
    fn length_counts_pairs() {
        let s = Sample {
            values: vec![1.0, 2.0],
            pairs: vec![(3.0, 5), (4.0, 1)],
            ..Sample::default()
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
        assert_eq!(probe_places(&s), Some(3));
        assert_eq!(probe_places(&Sample::from_values(vec![1.5, 0.1f64.sqrt()])), None);
    }
}
