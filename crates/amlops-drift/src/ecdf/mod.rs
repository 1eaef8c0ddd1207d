//! The exact two-sample KS statistic and Wasserstein-1 distance of samples that are not in
//! order, without putting them in order.
//!
//! Both metrics are functions of D(x) = F_b(x) - F_t(x), the difference of the two empirical
//! distribution functions: KS = max |D| over the pooled values, W1 = the integral of |D|.
//! Sorting both samples (numpy's way, and the crate's radix sort's for the other routes) puts every
//! value in order, but D needs order only where it changes sign or comes near its extremes:
//!
//! 1. **Buckets.** Values are bucketed by their order-preserving 64-bit key (`-0.0` as `0.0`);
//!    a bucket is a contiguous key range, so buckets are ordered intervals [lb, ub) of the
//!    line. Per bucket and side one pass counts the values and sums `x - lb`. The key range
//!    is cut per binade (the keys sharing sign and exponent), each binade into a power of two
//!    of equal key ranges by its share of a sample of the values (`layout.rs`): cut evenly, the
//!    key range of full-precision data is mostly binades of tiny magnitudes that hold nothing,
//!    and a normal sample's 20M values fell into a few hundred buckets of 2^16.
//! 2. **What counts and sums decide.** Running counts give D exactly (as the integer
//!    `Cb·nt - Ct·nb`) after each bucket, and inside a bucket D lies between
//!    `Cb/nb - (Ct + ct)/nt` and `(Cb + cb)/nb - Ct/nt` (counts before the bucket, plus its own).
//!    - Where both bounds have one sign, |D| is ±D over the whole bucket and its integral is
//!      `D_after·(ub - lb) - (Σ_b(x - lb)/nb - Σ_t(x - lb)/nt)`: W1 needs no order there.
//!    - The values of D after each non-empty bucket are values D takes at a pooled value, so
//!      the largest and smallest bound the KS statistic from below; a bucket whose bounds stay
//!      inside them cannot hold the extreme.
//! 3. **Refinement.** When the buckets left open by both tests hold at most a fifth of the
//!    values, those values are gathered, radix-sorted by key and merged exactly as the sort
//!    route merges (same float formulas for D and for each W1 term). Otherwise (samples of one
//!    distribution, equal samples) a second pass splits the open buckets into finer ones (sized
//!    by how many values they hold), and what is still open after that is gathered and merged.
//! 4. **Tallies.** What the caller counts over every value (bin counts, values outside a range,
//!    a sum of squares: [`Tally`]) comes from the same buckets: a bucket lying in one class
//!    adds its count, and only values of the buckets that straddle a class boundary are
//!    classed one by one, in the first pass.
//!
//! Cost: three or four streaming passes over both samples (extent, buckets, gathering, and a
//! second level when much stays open) instead of a radix sort of each (seven passes over
//! 64-bit keys for full-precision doubles) and a branchy merge. Samples
//! that drift leave a few percent of their values to sort; equal samples (D = 0 everywhere)
//! leave every value open and cost about what sorting does.
//!
//! Exactness: every decision compares exact integers (i128), so no bucket that could hold a
//! sign change or an extreme is skipped. The KS statistic is computed with the merge's float
//! formula at the same pooled values. The W1 integral of a one-signed bucket is computed
//! relative to its lower bound, so its rounding error is relative to that bucket's own width
//! and mass; W1 differs from the merge's sum by rounding only (the tests hold it to 1e-12
//! relative). Written here rather than taken from a crate: no crate computes exact KS and W1
//! without ordering both samples whole.

use crate::sort::{key, sort_keys, unkey};

mod layout;
use layout::{Block, bucket_last, index, layout, pass1};

const NONE: u32 = u32::MAX;

/// Tuning of the bucket levels (tests use small values to reach every path on small samples).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Key bits of the first level: at most `2^level1_bits` buckets.
    pub level1_bits: u32,
    /// Most second-level buckets in all.
    pub level2_cap: usize,
    /// Values aimed at per second-level bucket.
    pub per_bucket: u64,
    /// Open first-level buckets holding at most `1 / direct` of all values are gathered and
    /// sorted as they are, without a second level (whose pass costs more than sorting a few).
    pub direct: u64,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            level1_bits: 16,
            level2_cap: 1 << 18,
            per_bucket: 32,
            direct: 5,
        }
    }
}

/// One side of the comparison, in any mix and any order: values one by one, (value, count)
/// pairs, and distinct values with their counts. No NaN.
#[derive(Debug, Clone, Copy, Default)]
pub struct Side<'a> {
    /// Values one by one.
    pub values: &'a [f64],
    /// (value, occurrences) pairs.
    pub pairs: &'a [(f64, u64)],
    /// Values with their occurrences in a second slice of the same length.
    pub counted: (&'a [f64], &'a [u64]),
}

impl Side<'_> {
    /// Number of values, counting occurrences.
    pub fn len(&self) -> u64 {
        self.values.len() as u64
            + self.pairs.iter().map(|p| p.1).sum::<u64>()
            + self.counted.1.iter().sum::<u64>()
    }

    /// True when the side holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every (value, occurrences); single values first, with a count of 1 the compiler sees.
    #[inline]
    pub fn each(&self, mut f: impl FnMut(f64, u64)) {
        for &x in self.values {
            f(x, 1);
        }
        for &(x, c) in self.pairs {
            f(x, c);
        }
        for (&x, &c) in self.counted.0.iter().zip(self.counted.1) {
            f(x, c);
        }
    }
}

/// What [`ks_w1`] finds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    /// The KS statistic.
    pub d: f64,
    /// The Wasserstein-1 distance.
    pub w1: f64,
    /// Smallest value of each side (baseline, target).
    pub min: [f64; 2],
    /// Largest value of each side.
    pub max: [f64; 2],
    /// Values (with occurrences) that had to be gathered and sorted.
    pub sorted: u64,
}

/// Counts and sums of one bucket, per side.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    c: [u64; 2],
    s: [f64; 2],
}

/// A first-level bucket split into second-level ones.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// The first key it holds.
    base: u64,
    /// Values (with occurrences) it holds, both sides.
    mass: u64,
    /// Its upper bound (the next bucket's lower bound, or the largest value).
    ub: f64,
    /// Largest key it can hold.
    last: u64,
    /// Where its second-level buckets start, their key shift and number.
    off: usize,
    shift: u32,
    n: usize,
    /// Counts before it.
    before: [u64; 2],
    /// W1 over it is already added (it stays open for KS only).
    w1_done: bool,
}

/// A second-level bucket still open: gathered and merged value by value.
#[derive(Debug, Clone, Copy)]
struct Group {
    last: u64,
    lb: f64,
    ub: f64,
    before: [u64; 2],
    w1_done: bool,
}

/// Working memory, reused from column to column.
#[derive(Debug, Default)]
pub struct EcdfBuf {
    /// First-level (count, sum) per side.
    level1: [Vec<(u64, f64)>; 2],
    blocks: Vec<Block>,
    /// Second-level (count, sum) per side: a pass over one side touches half the memory.
    level2: [Vec<(u64, f64)>; 2],
    map1: Vec<u32>,
    slots: Vec<Slot>,
    map2: Vec<u32>,
    groups: Vec<Group>,
    /// Open first-level buckets, a bit each.
    open1: Vec<u64>,
    /// The class of each first-level bucket (`NONE`: it straddles a class boundary).
    class1: Vec<u32>,
    /// First-level buckets that straddle a class boundary, a bit each.
    straddle1: Vec<u64>,
    /// The baseline's `Σ(x - centre)²` per first-level bucket.
    squares: Vec<f64>,
    gathered: Gathered,
}

/// Bit `i` of a set of bits held 64 a word (the open and straddling first-level buckets).
#[inline(always)]
fn bit(words: &[u64], i: usize) -> bool {
    words[i / 64] & (1 << (i % 64)) != 0
}

/// Set bit `i` of a set of bits held 64 a word.
#[inline]
fn set_bit(words: &mut [u64], i: usize) {
    words[i / 64] |= 1 << (i % 64);
}

/// Order-preserving key with `-0.0` taken as `0.0`.
#[inline]
fn ckey(x: f64) -> u64 {
    key(x + 0.0)
}

/// The running state: counts so far, the extremes of D seen at pooled values, W1 so far.
struct Run {
    n: [u64; 2],
    nf: [f64; 2],
    dmax: f64,
    dmin: f64,
    imax: i128,
    imin: i128,
    w1: f64,
}

impl Run {
    /// `D·nb·nt` for counts `c`.
    #[inline]
    fn num(&self, c: [u64; 2]) -> i128 {
        i128::from(c[0]) * i128::from(self.n[1]) - i128::from(c[1]) * i128::from(self.n[0])
    }

    /// D as the merge computes it.
    #[inline]
    fn d(&self, c: [u64; 2]) -> f64 {
        c[0] as f64 / self.nf[0] - c[1] as f64 / self.nf[1]
    }

    /// D takes its value for counts `c` at a pooled value.
    #[inline]
    fn attain(&mut self, c: [u64; 2]) {
        let d = self.d(c);
        self.dmax = self.dmax.max(d);
        self.dmin = self.dmin.min(d);
        let i = self.num(c);
        self.imax = self.imax.max(i);
        self.imin = self.imin.min(i);
    }

    /// Settle a bucket [lb, ub) holding `cell`, after counts `before`, whose keys span one
    /// key (`single`) or more: adds its W1 share when it can be had without order (unless
    /// `w1_done`: added before), and says whether it stays open ([`Open::ForKs`]: W1 added).
    fn settle(
        &mut self,
        cell: &Cell,
        before: [u64; 2],
        lb: f64,
        ub: f64,
        single: bool,
        w1_done: bool,
    ) -> Open {
        let after = [before[0] + cell.c[0], before[1] + cell.c[1]];
        let width = ub - lb;
        if cell.c == [0, 0] {
            if !w1_done {
                self.w1 += self.d(after).abs() * width;
            }
            return Open::No;
        }
        if single {
            // One value: D is `before` below it and `after` from it on; `after` is attained.
            if !w1_done {
                self.w1 += self.d(after).abs() * width;
            }
            return Open::No;
        }
        let lo = self.num([before[0], after[1]]);
        let hi = self.num([after[0], before[1]]);
        let mut w1_added = w1_done;
        if !w1_done && (lo >= 0 || hi <= 0) {
            let integral = self.d(after) * width - (cell.s[0] / self.nf[0] - cell.s[1] / self.nf[1]);
            self.w1 += integral.abs();
            w1_added = true;
        }
        let ks_settled = hi <= self.imax && lo >= self.imin;
        match (w1_added, ks_settled) {
            (true, true) => Open::No,
            (true, false) => Open::ForKs,
            (false, _) => Open::Yes,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Open {
    No,
    /// W1 is settled; the extremes of D are not.
    ForKs,
    Yes,
}

/// The exact KS statistic and Wasserstein-1 distance of two non-empty samples (see the module
/// docs), with the default [`Params`].
pub fn ks_w1(b: Side<'_>, t: Side<'_>, buf: &mut EcdfBuf) -> Found {
    ks_w1_with(b, t, buf, Params::default())
}

/// [`ks_w1`] with given bucket levels.
pub fn ks_w1_with(b: Side<'_>, t: Side<'_>, buf: &mut EcdfBuf, p: Params) -> Found {
    let extent = Extent::of(b, t);
    let tally = Tally {
        class: &|_| 0,
        classes: 1,
        centre: 0.0,
    };
    ks_w1_tally(b, t, &extent, buf, p, &tally).0
}

/// What a caller counts over every value alongside KS and W1, so that it needs no pass of its
/// own: values per class, and the baseline's sum of squares about a centre. Both are taken
/// from the first-level buckets: a bucket whose first and last key fall in one class adds its
/// count to that class, and only the values of buckets that straddle a class boundary are
/// classed one by one; the squares `(x - centre)²` are summed per bucket in the first pass (one
/// accumulator a bucket, not one long chain of additions) and the buckets' sums added up.
pub struct Tally<'a> {
    /// The class of a value: below `classes`, and non-decreasing in the value (a tuple of
    /// monotone functions, such as a bin index and a position against a range, numbered
    /// lexicographically, is one).
    pub class: &'a dyn Fn(f64) -> usize,
    /// Number of classes.
    pub classes: usize,
    /// The baseline's sum of squares is taken about this value.
    pub centre: f64,
}

/// What a [`Tally`] counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Tallied {
    /// Values (with occurrences) per class, per side.
    pub counts: [Vec<u64>; 2],
    /// The baseline's sum of squares about the centre.
    pub ss: f64,
}

impl Tallied {
    fn new(classes: usize) -> Tallied {
        Tallied {
            counts: [vec![0; classes], vec![0; classes]],
            ss: 0.0,
        }
    }

    /// Count one value of side `s`, one by one.
    #[inline]
    fn add(&mut self, tally: &Tally<'_>, s: usize, x: f64, c: u64) {
        self.counts[s][(tally.class)(x)] += c;
        if s == 0 {
            let d = x - tally.centre;
            self.ss += c as f64 * d * d;
        }
    }
}

/// Each side's smallest and largest value and sum, from one pass.
#[derive(Debug, Clone, Copy)]
pub struct Extent {
    kmin: [u64; 2],
    kmax: [u64; 2],
    /// The sum of each side's values (occurrences counted).
    pub sum: [f64; 2],
}

impl Extent {
    /// One pass over both sides.
    pub fn of(b: Side<'_>, t: Side<'_>) -> Extent {
        let (mut kmin, mut kmax, mut sum) = ([u64::MAX; 2], [0u64; 2], [0.0; 2]);
        for (s, side) in [b, t].iter().enumerate() {
            let (mut lo, mut hi, mut total) = (u64::MAX, 0u64, 0.0);
            side.each(|x, c| {
                let k = ckey(x);
                lo = lo.min(k);
                hi = hi.max(k);
                total += c as f64 * x;
            });
            (kmin[s], kmax[s], sum[s]) = (lo, hi, total);
        }
        Extent { kmin, kmax, sum }
    }

    /// Each side's smallest value (`+inf` for an empty side).
    pub fn min(&self) -> [f64; 2] {
        self.kmin
            .map(|k| if k == u64::MAX { f64::INFINITY } else { unkey(k) })
    }

    /// Each side's largest value (`-inf` for an empty side).
    pub fn max(&self) -> [f64; 2] {
        self.kmax
            .map(|k| if k == 0 { f64::NEG_INFINITY } else { unkey(k) })
    }
}

/// [`ks_w1_with`] given the sides' [`Extent`], counting `tally` on the way.
pub fn ks_w1_tally(
    b: Side<'_>,
    t: Side<'_>,
    extent: &Extent,
    buf: &mut EcdfBuf,
    p: Params,
    tally: &Tally<'_>,
) -> (Found, Tallied) {
    let sides = [b, t];
    let n = [b.len(), t.len()];
    let (kmin, kmax) = (extent.kmin, extent.kmax);
    let mut found = Found {
        d: 0.0,
        w1: 0.0,
        min: extent.min(),
        max: extent.max(),
        sorted: 0,
    };
    let mut tallied = Tallied::new(tally.classes);
    if n[0] == 0 || n[1] == 0 || kmin[0].min(kmin[1]) == kmax[0].max(kmax[1]) {
        for (s, side) in sides.iter().enumerate() {
            side.each(|x, c| tallied.add(tally, s, x, c));
        }
    }
    if n[0] == 0 || n[1] == 0 {
        found.d = f64::NAN;
        found.w1 = f64::NAN;
        return (found, tallied);
    }
    let (kmin, kmax) = (kmin[0].min(kmin[1]), kmax[0].max(kmax[1]));
    let hi = unkey(kmax);
    let range = kmax - kmin;
    let mut run = Run {
        n,
        nf: [n[0] as f64, n[1] as f64],
        dmax: f64::NEG_INFINITY,
        dmin: f64::INFINITY,
        imax: 0,
        imin: 0,
        w1: 0.0,
    };
    if range == 0 {
        // One value in both samples: D is 0 from it on.
        run.attain(n);
        found.d = run.dmax.max((-run.dmin).clamp(0.0, 1.0));
        return (found, tallied);
    }
    // Level 1: counts and sums per bucket of the layout.
    layout(&sides, kmin, kmax, p.level1_bits.clamp(1, 32), &mut buf.blocks);
    let blocks = &buf.blocks;
    let c0 = kmin >> 52;
    let n1 = blocks.last().map_or(0, |b| b.off as usize + b.n);
    // The class of each bucket that lies in one class; the others are classed value by value.
    buf.class1.clear();
    buf.straddle1.clear();
    buf.straddle1.resize(n1.div_ceil(64), 0);
    for b in blocks {
        for r in 0..b.n {
            let first = b.start + ((r as u64) << b.shift);
            let last = bucket_last(b, r);
            let class = (tally.class)(unkey(first));
            if class == (tally.class)(unkey(last)) {
                buf.class1.push(class as u32);
            } else {
                let i = b.off as usize + r;
                set_bit(&mut buf.straddle1, i);
                buf.class1.push(NONE);
            }
        }
    }
    let [cells0, cells1] = &mut buf.level1;
    let mut sq = std::mem::take(&mut buf.squares);
    sq.clear();
    sq.resize(n1, 0.0);
    let pass = (blocks.as_slice(), c0, buf.straddle1.as_slice(), tally);
    pass1::<true>(&sides[0], pass, cells0, &mut sq, &mut tallied.counts[0]);
    pass1::<false>(&sides[1], pass, cells1, &mut [], &mut tallied.counts[1]);
    let [l1b, l1t] = &buf.level1;
    let cell_at = |i: usize| Cell {
        c: [l1b[i].0, l1t[i].0],
        s: [l1b[i].1, l1t[i].1],
    };
    let mut counts = [0u64; 2];
    for i in 0..n1 {
        let cell = cell_at(i);
        if cell.c != [0, 0] {
            counts = [counts[0] + cell.c[0], counts[1] + cell.c[1]];
            run.attain(counts);
        }
    }
    buf.slots.clear();
    buf.map1.clear();
    buf.map1.resize(n1, NONE);
    buf.open1.clear();
    buf.open1.resize(n1.div_ceil(64), 0);
    let mut counts = [0u64; 2];
    for b in blocks {
        for r in 0..b.n {
            let i = b.off as usize + r;
            let cell = cell_at(i);
            let first = b.start + ((r as u64) << b.shift);
            let last = bucket_last(b, r);
            let lb = unkey(first);
            if let Some(&class) = buf.class1.get(i).filter(|&&c| c != NONE) {
                for (side, &c) in cell.c.iter().enumerate() {
                    tallied.counts[side][class as usize] += c;
                }
            }
            tallied.ss += sq[i];
            let ub = if last == kmax { hi } else { unkey(last + 1) };
            let open = run.settle(&cell, counts, lb, ub, first == last, false);
            if open != Open::No {
                set_bit(&mut buf.open1, i);
                buf.map1[i] = buf.slots.len() as u32;
                buf.slots.push(Slot {
                    base: first,
                    mass: cell.c[0] + cell.c[1],
                    ub,
                    last,
                    off: 0,
                    shift: 0,
                    n: 0,
                    before: counts,
                    w1_done: open == Open::ForKs,
                });
            }
            counts = [counts[0] + cell.c[0], counts[1] + cell.c[1]];
        }
    }
    buf.squares = sq;
    let open_mass: u64 = buf.slots.iter().map(|s| s.mass).sum();
    if open_mass.saturating_mul(p.direct) <= n[0] + n[1] {
        // Few values left open: gather and merge them bucket by bucket.
        buf.groups.clear();
        buf.groups.extend(buf.slots.iter().map(|s| Group {
            last: s.last,
            lb: unkey(s.base),
            ub: s.ub,
            before: s.before,
            w1_done: s.w1_done,
        }));
        // Slices and `c0` by value: the test's tables stay in registers (see `keys_where`).
        let (blocks, open1) = (buf.blocks.as_slice(), buf.open1.as_slice());
        let open = move |k: u64| {
            let i = index(blocks, c0, k);
            bit(open1, i)
        };
        gather_merge(&sides, open, &buf.groups, &mut buf.gathered, &mut run, &mut found);
    } else if !buf.slots.is_empty() {
        level2(&sides, kmin, &mut run, buf, p, &mut found);
    }
    found.d = run.dmax.max((-run.dmin).clamp(0.0, 1.0));
    found.w1 = run.w1;
    (found, tallied)
}

/// Split the open first-level buckets, settle their parts, and gather and merge what stays open.
fn level2(sides: &[Side<'_>; 2], kmin: u64, run: &mut Run, buf: &mut EcdfBuf, p: Params, found: &mut Found) {
    // Bits per open bucket: enough for `per_bucket` values a part, within the cap in all.
    let mut want: Vec<u32> = buf
        .slots
        .iter()
        .map(|slot| {
            let m = slot.mass.div_ceil(p.per_bucket.max(1)).max(2);
            (64 - (m - 1).leading_zeros()).min(span_bits(slot)).min(16)
        })
        .collect();
    while want.iter().map(|&w| 1usize << w).sum::<usize>() > p.level2_cap.max(want.len()) {
        let top = want.iter().copied().max().unwrap_or(0);
        if top == 0 {
            break;
        }
        for w in want.iter_mut().filter(|w| **w == top) {
            *w -= 1;
        }
    }
    let mut off = 0usize;
    for (slot, &w) in buf.slots.iter_mut().zip(&want) {
        slot.shift = span_bits(slot) - w;
        slot.n = ((slot.last - slot.base) >> slot.shift) as usize + 1;
        slot.off = off;
        off += slot.n;
    }
    for l in &mut buf.level2 {
        l.clear();
        l.resize(off, (0, 0.0));
    }
    let (map1, slots, blocks, open1) = (
        buf.map1.as_slice(),
        buf.slots.as_slice(),
        buf.blocks.as_slice(),
        buf.open1.as_slice(),
    );
    let c0 = kmin >> 52;
    for (side, level2) in sides.iter().zip(buf.level2.iter_mut()) {
        let level2 = level2.as_mut_slice();
        side.each(move |x, c| {
            let k = ckey(x);
            let i = index(blocks, c0, k);
            if bit(open1, i) {
                let m = map1[i];
                let slot = &slots[m as usize];
                let r = (k - slot.base) >> slot.shift;
                let lb = unkey(slot.base + (r << slot.shift));
                let cell = &mut level2[slot.off + r as usize];
                cell.0 += c;
                cell.1 += c as f64 * (x - lb);
            }
        });
    }
    let [l2b, l2t] = &buf.level2;
    let cell_at = |i: usize| Cell {
        c: [l2b[i].0, l2t[i].0],
        s: [l2b[i].1, l2t[i].1],
    };
    for slot in slots {
        let mut counts = slot.before;
        for i in slot.off..slot.off + slot.n {
            let cell = cell_at(i);
            if cell.c != [0, 0] {
                counts = [counts[0] + cell.c[0], counts[1] + cell.c[1]];
                run.attain(counts);
            }
        }
    }
    buf.groups.clear();
    buf.map2.clear();
    buf.map2.resize(off, NONE);
    for slot in slots {
        let mut counts = slot.before;
        for r in 0..slot.n {
            let cell = &cell_at(slot.off + r);
            let first = slot.base + ((r as u64) << slot.shift);
            let lb = unkey(first);
            let last = if r + 1 == slot.n {
                slot.last
            } else {
                first + ((1u64 << slot.shift) - 1)
            };
            let ub = if r + 1 == slot.n {
                slot.ub
            } else {
                unkey(first + (1u64 << slot.shift))
            };
            let open = run.settle(cell, counts, lb, ub, first == last, slot.w1_done);
            if open != Open::No {
                buf.map2[slot.off + r] = buf.groups.len() as u32;
                buf.groups.push(Group {
                    last,
                    lb,
                    ub,
                    before: counts,
                    w1_done: open == Open::ForKs,
                });
            }
            counts = [counts[0] + cell.c[0], counts[1] + cell.c[1]];
        }
    }
    if buf.groups.is_empty() {
        return;
    }
    let map2 = buf.map2.as_slice();
    let open = move |k: u64| -> bool {
        let i = index(blocks, c0, k);
        if !bit(open1, i) {
            return false;
        }
        let slot = &slots[map1[i] as usize];
        map2[slot.off + ((k - slot.base) >> slot.shift) as usize] != NONE
    };
    gather_merge(sides, open, &buf.groups, &mut buf.gathered, run, found);
}

/// Values gathered from the open buckets, per side, and the sort's scratch.
#[derive(Debug, Default)]
struct Gathered {
    singles: [Vec<u64>; 2],
    weighted: [Vec<(u64, u64)>; 2],
    scratch: Vec<u64>,
}

/// Gather the keys for which `open` holds, put them in order and merge them group by group.
fn gather_merge(
    sides: &[Side<'_>; 2],
    open: impl Fn(u64) -> bool + Copy,
    groups: &[Group],
    g: &mut Gathered,
    run: &mut Run,
    found: &mut Found,
) {
    for (s, from) in sides.iter().enumerate() {
        let (singles, weighted) = (&mut g.singles[s], &mut g.weighted[s]);
        singles.clear();
        weighted.clear();
        keys_where(from.values, open, singles);
        let side = Side { values: &[], ..*from };
        side.each(|x, c| {
            let k = ckey(x);
            if open(k) {
                weighted.push((k, c));
            }
        });
        sort_keys(singles, &mut g.scratch);
        weighted.sort_unstable_by_key(|w| w.0);
        found.sorted += singles.len() as u64 + weighted.iter().map(|w| w.1).sum::<u64>();
    }
    let mut cur = [Cursor::default(), Cursor::default()];
    for grp in groups {
        let mut counts = grp.before;
        let mut prev = grp.lb;
        loop {
            let next = [0, 1]
                .into_iter()
                .filter_map(|s| cur[s].peek(&g.singles[s], &g.weighted[s]))
                .min();
            let Some(k) = next.filter(|&k| k <= grp.last) else {
                break;
            };
            let x = unkey(k);
            if !grp.w1_done {
                run.w1 += run.d(counts).abs() * (x - prev);
            }
            for (s, c) in counts.iter_mut().enumerate() {
                *c += cur[s].pass(k, &g.singles[s], &g.weighted[s]);
            }
            run.attain(counts);
            prev = x;
        }
        if !grp.w1_done {
            run.w1 += run.d(counts).abs() * (grp.ub - prev);
        }
    }
}

/// Append the keys of `values` for which `open` holds. `open` should hold its tables as slices
/// and copies (a `move` closure): through references to vectors, the loop reloaded each
/// table's address and length on every value, since the pushes might have written them for all
/// the compiler could tell.
#[inline(never)]
fn keys_where(values: &[f64], open: impl Fn(u64) -> bool + Copy, out: &mut Vec<u64>) {
    for &x in values {
        let k = ckey(x);
        if open(k) {
            out.push(k);
        }
    }
}

/// Bits of the key span of an open first-level bucket.
fn span_bits(slot: &Slot) -> u32 {
    64 - (slot.last - slot.base).leading_zeros()
}

/// Position in one side's gathered keys (single keys and weighted keys, both ascending).
#[derive(Debug, Default, Clone, Copy)]
struct Cursor {
    i: usize,
    j: usize,
}

impl Cursor {
    fn peek(&self, singles: &[u64], weighted: &[(u64, u64)]) -> Option<u64> {
        match (singles.get(self.i), weighted.get(self.j)) {
            (Some(&a), Some(&(b, _))) => Some(a.min(b)),
            (Some(&a), None) => Some(a),
            (None, Some(&(b, _))) => Some(b),
            (None, None) => None,
        }
    }

    /// Step over every key <= k; the occurrences passed.
    fn pass(&mut self, k: u64, singles: &[u64], weighted: &[(u64, u64)]) -> u64 {
        let start = self.i;
        while self.i < singles.len() && singles[self.i] <= k {
            self.i += 1;
        }
        let mut passed = (self.i - start) as u64;
        while self.j < weighted.len() && weighted[self.j].0 <= k {
            passed += weighted[self.j].1;
            self.j += 1;
        }
        passed
    }
}

#[cfg(test)]
mod tests;
