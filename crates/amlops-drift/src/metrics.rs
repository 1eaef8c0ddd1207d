//! The metric formulas (Azure ML model monitoring definitions, see the crate docs).

use crate::ecdf::{self, EcdfBuf, Extent, Params, Side, Tally};
use crate::sample::{OrderBuf, Ordered, Route, Sample, Work, order_counted};
use crate::special::{chi2_sf, ks_2samp_pvalue};

/// Number of bins for numerical JS and PSI: ceil(log2(min(N_b, N_t)) + 1).
pub fn n_bins(rows_baseline: u64, rows_target: u64) -> usize {
    let n = rows_baseline.min(rows_target).max(1) as f64;
    (n.log2() + 1.0).ceil() as usize
}

/// Bin edges over [lo, hi]: k equal-width bins, or one bin of ±0.5% around a constant.
pub fn bin_edges(lo: f64, hi: f64, k: usize) -> Vec<f64> {
    if lo == hi {
        let delta = if lo == 0.0 { 0.005 } else { (lo * 0.005).abs() };
        return vec![lo - delta, lo + delta];
    }
    let width = (hi - lo) / k as f64;
    let mut e = Vec::with_capacity(k + 1);
    e.push(lo);
    for i in 1..=k {
        e.push(lo + i as f64 * width);
    }
    e
}

/// Counts per bin with Spark `RDD.histogram` semantics: [e_i, e_i+1), the last bin closed,
/// values outside [e_0, e_k] dropped; the evenly spaced fast path when widths agree to 1e-10.
/// `sorted` must be ascending: the bin index is monotone in the value, so each bin boundary is
/// found by binary search with exactly the per-value formula.
pub fn histogram(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let k = edges.len() - 1;
    let (e0, ek) = (edges[0], edges[k]);
    let bin = binner(edges);
    let start = sorted.partition_point(|&x| x < e0);
    let end = sorted.partition_point(|&x| x <= ek);
    let inside = &sorted[start..end.max(start)];
    let mut counts = vec![0u64; k];
    let mut lo = 0usize;
    for (j, c) in counts.iter_mut().enumerate() {
        let hi = lo + inside[lo..].partition_point(|&x| bin(x) <= j);
        *c = (hi - lo) as u64;
        lo = hi;
    }
    counts
}

/// The per-value bin index of [`histogram`] (for values inside [e_0, e_k]).
fn binner(edges: &[f64]) -> impl Fn(f64) -> usize + '_ {
    let k = edges.len() - 1;
    let (e0, ek) = (edges[0], edges[k]);
    let steps = edges.windows(2).map(|w| w[1] - w[0]);
    let (mn, mx) = steps.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| {
        (a.min(s), b.max(s))
    });
    let even = mx - mn < 1e-10;
    let inc = (ek - e0) / k as f64;
    move |x: f64| -> usize {
        let idx = if even {
            ((x - e0) / inc) as usize
        } else {
            edges.partition_point(|&e| e <= x) - 1
        };
        idx.min(k - 1)
    }
}

/// [`histogram`] of a sample given as its distinct values (ascending) with their counts.
pub fn histogram_counted(values: &[f64], counts: &[u64], edges: &[f64]) -> Vec<u64> {
    let k = edges.len() - 1;
    let (e0, ek) = (edges[0], edges[k]);
    let bin = binner(edges);
    let mut out = vec![0u64; k];
    for (&x, &c) in values.iter().zip(counts) {
        if x >= e0 && x <= ek {
            out[bin(x)] += c;
        }
    }
    out
}

/// Jensen-Shannon distance (base 2) between two count vectors, each normalised to sum 1
/// (scipy's `jensenshannon(p, q, base=2)`).
pub fn jensen_shannon(cb: &[f64], ct: &[f64]) -> f64 {
    let sb: f64 = cb.iter().sum();
    let st: f64 = ct.iter().sum();
    let mut js = 0.0;
    for (&b, &t) in cb.iter().zip(ct) {
        let p = b / sb;
        let q = t / st;
        let m = (p + q) / 2.0;
        js += rel_entr(p, m) + rel_entr(q, m);
    }
    (js / std::f64::consts::LN_2 / 2.0).max(0.0).sqrt()
}

fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        x * (x / y).ln()
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Population stability index with add-one smoothing over k bins or categories.
pub fn psi(cb: &[f64], ct: &[f64], nb: f64, nt: f64) -> f64 {
    let k = cb.len() as f64;
    cb.iter()
        .zip(ct)
        .map(|(&b, &t)| {
            let pb = (b + 1.0) / (nb + k);
            let pt = (t + 1.0) / (nt + k);
            (pt - pb) * (pt / pb).ln()
        })
        .sum()
}

/// Pearson's chi-squared p-value: observed target counts against baseline proportions scaled
/// to the target size; a category unseen in the baseline gives p = 0.
pub fn chi_squared_pvalue(cb: &[f64], ct: &[f64], nb: f64, nt: f64) -> f64 {
    let mut stat = 0.0;
    for (&b, &t) in cb.iter().zip(ct) {
        let e = b / nb * nt;
        stat += (t - e) * (t - e) / e;
    }
    chi2_sf(stat, cb.len() as f64 - 1.0)
}

/// Values of the numerical metrics of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericalValues {
    /// Jensen-Shannon distance over the shared bins.
    pub jensen_shannon: f64,
    /// PSI over the shared bins.
    pub psi: f64,
    /// Wasserstein-1 / max(sample sd of baseline, 0.001).
    pub normalized_wasserstein: f64,
    /// KS p-value.
    pub ks_pvalue: f64,
    /// KS statistic D.
    pub ks_statistic: f64,
    /// Unnormalised Wasserstein-1 distance.
    pub wasserstein: f64,
    /// The shared bin edges of JS and PSI.
    pub edges: Vec<f64>,
    /// Baseline values per bin.
    pub hist_baseline: Vec<u64>,
    /// Target values per bin.
    pub hist_target: Vec<u64>,
    /// The baseline's smallest and largest value.
    pub baseline_range: (f64, f64),
    /// Target values outside the baseline's range.
    pub target_out_of_range: u64,
}

/// Values of an ordered sample below `lo` or above `hi`.
fn outside(o: Ordered<'_>, lo: f64, hi: f64) -> u64 {
    let below = o.values.partition_point(|&x| x < lo);
    let upto = o.values.partition_point(|&x| x <= hi);
    match o.counts {
        None => (below + o.values.len() - upto) as u64,
        Some(c) => c[..below].iter().sum::<u64>() + c[upto..].iter().sum::<u64>(),
    }
}

/// Compute the numerical metrics of two samples (in any order).
pub fn numerical(b: &[f64], t: &[f64], n_bins: usize) -> NumericalValues {
    let mut sb = Sample::from_values(b.to_vec());
    let mut st = Sample::from_values(t.to_vec());
    numerical_samples(&mut sb, &mut st, &mut Buffers::default(), n_bins)
}

/// Working memory for [`numerical_samples`], reused from column to column.
#[derive(Debug, Default)]
pub struct Buffers {
    baseline: OrderBuf,
    target: OrderBuf,
    work: Work,
    ecdf: EcdfBuf,
}

/// The numerical metrics of two samples. A sample a counting route can order (see
/// [`crate::sample`]) is ordered; when both are, one merge gives KS and W1. Otherwise KS and
/// W1 come from buckets ([`crate::ecdf`]) without sorting, and the bins, the sd and the range
/// from streaming passes.
pub fn numerical_samples(
    b: &mut Sample,
    t: &mut Sample,
    buf: &mut Buffers,
    n_bins: usize,
) -> NumericalValues {
    let (nb, nt) = (b.len(), t.len());
    let rb = order_counted(b, &mut buf.baseline, &mut buf.work);
    let rt = order_counted(t, &mut buf.target, &mut buf.work);
    let (Some(rb), Some(rt)) = (rb, rt) else {
        let (rb, sb) = side(rb, b, &buf.baseline);
        let (rt, st) = side(rt, t, &buf.target);
        return unordered(sb, st, rb, rt, &mut buf.ecdf, n_bins);
    };
    let (ob, ot) = (buf.baseline.ordered(), buf.target.ordered());
    // The baseline's sd from its ordered form: one term per distinct value when counted.
    let sd = match ob.counts {
        None => sample_sd(ob.values.iter().map(|&x| (x, 1.0)), nb),
        Some(c) => sample_sd(ob.values.iter().zip(c).map(|(&x, &c)| (x, c as f64)), nb),
    };
    let norm = if sd.is_nan() { 0.001 } else { sd.max(0.001) };
    tracing::debug!(baseline = ?rb, target = ?rt, "ordered");
    let lo = ob.values[0].min(ot.values[0]);
    let hi = ob.values[ob.values.len() - 1].max(ot.values[ot.values.len() - 1]);
    let edges = bin_edges(lo, hi, n_bins);
    let hist = |o: Ordered<'_>| -> Vec<u64> {
        match o.counts {
            None => histogram(o.values, &edges),
            Some(c) => histogram_counted(o.values, c, &edges),
        }
    };
    let (cb, ct) = (hist(ob), hist(ot));
    let (d, w1) = merge(ob, ot, nb as f64, nt as f64);
    let range = (ob.values[0], ob.values[ob.values.len() - 1]);
    let out_of_range = outside(ot, range.0, range.1);
    finish(nb, nt, cb, ct, edges, d, w1, norm, range, out_of_range)
}

/// One side for [`unordered`]: its counted form when a counting route ordered it, else its
/// values as they came.
fn side<'a>(route: Option<Route>, s: &'a Sample, o: &'a OrderBuf) -> (Route, Side<'a>) {
    match route {
        Some(r) => {
            let ord = o.ordered();
            let side = Side {
                counted: (ord.values, ord.counts.unwrap_or_default()),
                ..Side::default()
            };
            (r, side)
        }
        None => (
            Route::Buckets,
            Side {
                values: &s.values,
                pairs: &s.pairs,
                ..Side::default()
            },
        ),
    }
}

/// The numerical metrics of samples that are not (both) ordered.
fn unordered(
    b: Side<'_>,
    t: Side<'_>,
    rb: Route,
    rt: Route,
    ebuf: &mut EcdfBuf,
    n_bins: usize,
) -> NumericalValues {
    let (nb, nt) = (b.len(), t.len());
    // One pass for the extent (and the baseline's sum); the bins, the baseline's squares and
    // the target's values outside the baseline's range are counted in the bucket pass.
    let extent = Extent::of(b, t);
    let (min, max) = (extent.min(), extent.max());
    let edges = bin_edges(min[0].min(min[1]), max[0].max(max[1]), n_bins);
    let mean = extent.sum[0] / nb as f64;
    let range = (min[0], max[0]);
    // Classes, in order: below the edges, each bin, above the edges; within each, below the
    // baseline's range, inside it, above it (for the target's values outside that range).
    let k = edges.len() - 1;
    let (e0, ek) = (edges[0], edges[k]);
    let (found, tallied) = {
        let bin = binner(&edges);
        let class = |x: f64| -> usize {
            let b = if x < e0 {
                0
            } else if x > ek {
                k + 1
            } else {
                1 + bin(x)
            };
            let r = if x < range.0 {
                0
            } else if x > range.1 {
                2
            } else {
                1
            };
            b * 3 + r
        };
        let tally = Tally {
            class: &class,
            classes: (k + 2) * 3,
            centre: mean,
        };
        ecdf::ks_w1_tally(b, t, &extent, ebuf, Params::default(), &tally)
    };
    let hist = tallied.counts.each_ref().map(|c| {
        (0..k)
            .map(|j| c[3 * (j + 1)..3 * (j + 2)].iter().sum())
            .collect::<Vec<u64>>()
    });
    let out_of_range = (0..k + 2)
        .map(|j| tallied.counts[1][3 * j] + tallied.counts[1][3 * j + 2])
        .sum::<u64>();
    let ss = tallied.ss;
    tracing::debug!(baseline = ?rb, target = ?rt, sorted = found.sorted, "ordered");
    let sd = if nb < 2 {
        f64::NAN
    } else {
        (ss / (nb - 1) as f64).sqrt()
    };
    let norm = if sd.is_nan() { 0.001 } else { sd.max(0.001) };
    let [cb, ct] = hist;
    finish(
        nb,
        nt,
        cb,
        ct,
        edges,
        found.d,
        found.w1,
        norm,
        range,
        out_of_range,
    )
}

/// Assemble [`NumericalValues`] from the bin counts, KS and W1, the normaliser and the range.
#[allow(clippy::too_many_arguments)]
fn finish(
    nb: u64,
    nt: u64,
    cb: Vec<u64>,
    ct: Vec<u64>,
    edges: Vec<f64>,
    d: f64,
    w1: f64,
    norm: f64,
    range: (f64, f64),
    target_out_of_range: u64,
) -> NumericalValues {
    let hb: Vec<f64> = cb.iter().map(|&c| c as f64).collect();
    let ht: Vec<f64> = ct.iter().map(|&c| c as f64).collect();
    NumericalValues {
        jensen_shannon: jensen_shannon(&hb, &ht),
        psi: psi(&hb, &ht, nb as f64, nt as f64),
        normalized_wasserstein: w1 / norm,
        ks_pvalue: ks_2samp_pvalue(d, nb, nt),
        ks_statistic: d,
        wasserstein: w1,
        edges,
        hist_baseline: cb,
        hist_target: ct,
        baseline_range: range,
        target_out_of_range,
    }
}

/// Sample standard deviation (ddof = 1; NaN for fewer than two values) of `n` values given
/// as (value, occurrences).
fn sample_sd(weighted: impl Iterator<Item = (f64, f64)> + Clone, n: u64) -> f64 {
    if n < 2 {
        return f64::NAN;
    }
    let mean = weighted.clone().map(|(x, c)| x * c).sum::<f64>() / n as f64;
    let ss: f64 = weighted.map(|(x, c)| (x - mean) * (x - mean) * c).sum();
    (ss / (n - 1) as f64).sqrt()
}

/// The KS statistic and the Wasserstein-1 distance of two sorted samples, by one merge:
/// D = max |F_b - F_t| over the pooled values, W1 = integral of |F_b - F_t|.
pub fn ks_and_wasserstein(b: &[f64], t: &[f64]) -> (f64, f64) {
    let ob = Ordered {
        values: b,
        counts: None,
    };
    let ot = Ordered {
        values: t,
        counts: None,
    };
    merge(ob, ot, b.len() as f64, t.len() as f64)
}

/// Position in an [`Ordered`] sample: next value index and the number of values passed.
struct Cursor<'a> {
    o: Ordered<'a>,
    i: usize,
    passed: u64,
}

impl Cursor<'_> {
    #[inline]
    fn peek(&self) -> Option<f64> {
        self.o.values.get(self.i).copied()
    }

    /// Step over every value <= v.
    #[inline]
    fn pass(&mut self, v: f64) {
        let vals = self.o.values;
        match self.o.counts {
            None => {
                while self.i < vals.len() && vals[self.i] <= v {
                    self.i += 1;
                }
                self.passed = self.i as u64;
            }
            Some(c) => {
                while self.i < vals.len() && vals[self.i] <= v {
                    self.passed += c[self.i];
                    self.i += 1;
                }
            }
        }
    }
}

/// One merge over both ordered samples: the ECDF difference at each pooled distinct value.
fn merge(b: Ordered<'_>, t: Ordered<'_>, nb: f64, nt: f64) -> (f64, f64) {
    let (mut dmax, mut dmin) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut w1 = 0.0;
    let mut cb = Cursor {
        o: b,
        i: 0,
        passed: 0,
    };
    let mut ct = Cursor {
        o: t,
        i: 0,
        passed: 0,
    };
    loop {
        let v = match (cb.peek(), ct.peek()) {
            (Some(x), Some(y)) => x.min(y),
            (Some(x), None) => x,
            (None, Some(y)) => y,
            (None, None) => break,
        };
        cb.pass(v);
        ct.pass(v);
        let cd = cb.passed as f64 / nb - ct.passed as f64 / nt;
        dmax = dmax.max(cd);
        dmin = dmin.min(cd);
        let next = match (cb.peek(), ct.peek()) {
            (Some(x), Some(y)) => x.min(y),
            (Some(x), None) => x,
            (None, Some(y)) => y,
            (None, None) => v,
        };
        w1 += cd.abs() * (next - v);
    }
    let d = dmax.max((-dmin).clamp(0.0, 1.0));
    (d, w1)
}

/// Values of the categorical metrics of one column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CategoricalValues {
    /// Jensen-Shannon distance over the union of categories.
    pub jensen_shannon: f64,
    /// PSI over the union of categories.
    pub psi: f64,
    /// Chi-squared p-value.
    pub chi2_pvalue: f64,
}

/// Categorical metrics from counts over the union of observed categories (same order in both).
pub fn categorical(cb: &[f64], ct: &[f64], nb: f64, nt: f64) -> CategoricalValues {
    CategoricalValues {
        jensen_shannon: jensen_shannon(cb, ct),
        psi: psi(cb, ct, nb, nt),
        chi2_pvalue: chi_squared_pvalue(cb, ct, nb, nt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
    }

    // b = 1 2 3 4, t = 3 4 5 6. k = ceil(log2 4 + 1) = 3 bins over [1, 6] of width 5/3:
    // b -> [2, 2, 0], t -> [0, 2, 2]. JS: p = (.5 .5 0), q = (0 .5 .5), m = (.25 .5 .25),
    // KL(p|m) + KL(q|m) = ln 2, so JS = sqrt(1/2). PSI: pb = (3 3 1)/7, pt = (1 3 3)/7,
    // PSI = (4/7) ln 3. ECDF differences at 1..6: .25 .5 .5 .5 .25 0 -> D = 1/2, W1 = 2;
    // sample sd of b = sqrt(5/3) -> NWD = 2/sqrt(5/3). KS exact: 27/35.
    #[test]
    fn numerical_hand_computed() {
        let b = vec![4.0, 2.0, 3.0, 1.0];
        let t = vec![6.0, 5.0, 4.0, 3.0];
        let k = n_bins(4, 4);
        assert_eq!(k, 3);
        let v = numerical(&b, &t, k);
        assert!(close(v.jensen_shannon, 0.5f64.sqrt()), "{}", v.jensen_shannon);
        assert!(close(v.psi, 4.0 / 7.0 * 3f64.ln()), "{}", v.psi);
        assert!(close(v.ks_statistic, 0.5));
        assert!(close(v.wasserstein, 2.0));
        assert!(close(v.normalized_wasserstein, 2.0 / (5.0f64 / 3.0).sqrt()));
        assert!(close(v.ks_pvalue, 27.0 / 35.0), "{}", v.ks_pvalue);
    }

    #[test]
    fn constant_columns_use_one_bin_and_floor_the_sd() {
        let b = vec![2.0; 10];
        let t = vec![2.0; 8];
        let v = numerical(&b, &t, n_bins(10, 8));
        assert_eq!(bin_edges(2.0, 2.0, 4), vec![1.99, 2.01]);
        assert_eq!(bin_edges(0.0, 0.0, 4), vec![-0.005, 0.005]);
        assert_eq!(v.jensen_shannon, 0.0);
        assert_eq!(v.psi, 0.0);
        assert_eq!(v.normalized_wasserstein, 0.0);
        assert_eq!(v.ks_pvalue, 1.0);
        // A shifted constant: W1 = 1, sd 0 -> divided by 0.001.
        let t2 = vec![3.0; 8];
        let v = numerical(&b, &t2, 4);
        assert!(close(v.normalized_wasserstein, 1000.0));
    }

    // Every ordering route (dense decimal counts, hashed counts, radix on decimal keys, radix
    // on float bits) gives the values of fully sorted samples, bit for bit, in any pairing.
    #[test]
    fn every_ordering_route_agrees_with_sorted_samples_exactly() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let big = crate::distinct::MAX_DISTINCT + 10_000;
        // Decimal, narrow range, with -0.0 (dense); few non-decimal levels with -0.0 (hashed);
        // many distinct decimals over a wide range and many distinct non-decimals (buckets).
        let dense: Vec<f64> = (0..20_000)
            .map(|i| {
                if i % 97 == 0 {
                    -0.0
                } else {
                    ((next() - 0.3) * 500.0).round() / 10.0
                }
            })
            .collect();
        let levels: Vec<f64> = (0..300).map(|_| (next() - 0.3) * 50.0).collect();
        let hashed: Vec<f64> = (0..20_000)
            .map(|i| if i % 89 == 0 { -0.0 } else { levels[i % 300] })
            .collect();
        let keyed: Vec<f64> = (0..big).map(|_| ((next() - 0.4) * 4e9).round() / 100.0).collect();
        let bits: Vec<f64> = (0..big).map(|_| (next() - 0.4) * 55.0).collect();
        let all = [&dense, &hashed, &keyed, &bits];
        for (i, b) in all.iter().enumerate() {
            for (j, t) in all.iter().enumerate().skip(i) {
                let k = n_bins(b.len() as u64, t.len() as u64);
                let got = numerical(b, t, k);
                let (mut b2, mut t2) = ((*b).clone(), (*t).clone());
                b2.sort_unstable_by(|x, y| x.total_cmp(y));
                t2.sort_unstable_by(|x, y| x.total_cmp(y));
                let edges = bin_edges(b2[0].min(t2[0]), b2[b2.len() - 1].max(t2[t2.len() - 1]), k);
                let hb: Vec<f64> = histogram(&b2, &edges).into_iter().map(|c| c as f64).collect();
                let ht: Vec<f64> = histogram(&t2, &edges).into_iter().map(|c| c as f64).collect();
                let (d, w1) = ks_and_wasserstein(&b2, &t2);
                assert_eq!(got.ks_statistic.to_bits(), d.to_bits(), "pair {i}");
                // Counting routes merge as the reference does (bit for bit); the bucket route
                // integrates one-signed stretches from sums, which rounds differently.
                let rel = (got.wasserstein - w1).abs() / w1.abs().max(f64::MIN_POSITIVE);
                assert!(rel <= 1e-12, "pair {i}: W1 {} vs {w1}", got.wasserstein);
                if j < 2 {
                    assert_eq!(got.wasserstein.to_bits(), w1.to_bits(), "pair {i}");
                }
                assert_eq!(got.jensen_shannon.to_bits(), jensen_shannon(&hb, &ht).to_bits());
                assert_eq!(
                    got.psi.to_bits(),
                    psi(&hb, &ht, b.len() as f64, t.len() as f64).to_bits()
                );
            }
        }
    }

    // The merge against a direct evaluation at every pooled distinct value, with many ties.
    #[test]
    fn merge_matches_the_ecdf_at_every_distinct_value() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for (scale, nb, nt) in [(50.0, 3000, 2000), (1e6, 2500, 2600), (3.0, 1, 700)] {
            let mut b: Vec<f64> = (0..nb).map(|_| (next() * scale).round() - scale / 3.0).collect();
            let mut t: Vec<f64> = (0..nt)
                .map(|_| (next() * scale * 1.1).round() - scale / 3.0)
                .collect();
            b.sort_unstable_by(|x, y| x.total_cmp(y));
            t.sort_unstable_by(|x, y| x.total_cmp(y));
            let mut pooled: Vec<f64> = b.iter().chain(&t).copied().collect();
            pooled.sort_unstable_by(|x, y| x.total_cmp(y));
            pooled.dedup();
            let (fb, ft) = (b.len() as f64, t.len() as f64);
            let (mut d, mut w1) = (0.0f64, 0.0);
            for (k, &u) in pooled.iter().enumerate() {
                let cd =
                    b.partition_point(|&x| x <= u) as f64 / fb - t.partition_point(|&x| x <= u) as f64 / ft;
                d = d.max(cd.abs());
                let up = pooled.get(k + 1).copied().unwrap_or(u);
                w1 += cd.abs() * (up - u);
            }
            let (gd, gw) = ks_and_wasserstein(&b, &t);
            assert_eq!(gd.to_bits(), d.to_bits(), "D for scale {scale}");
            assert_eq!(gw.to_bits(), w1.to_bits(), "W1 for scale {scale}");
        }
    }

    #[test]
    fn histogram_closes_the_last_bin_and_drops_outside_values() {
        let edges = bin_edges(0.0, 3.0, 3);
        assert_eq!(
            histogram(&[-1.0, 0.0, 0.5, 1.0, 2.999, 3.0, 3.5], &edges),
            vec![2, 1, 2]
        );
        // Uneven edges use bisection.
        assert_eq!(histogram(&[0.0, 0.5, 1.0, 10.0], &[0.0, 1.0, 10.0]), vec![2, 2]);
        // The same from distinct values with counts.
        assert_eq!(
            histogram_counted(
                &[-1.0, 0.0, 0.5, 1.0, 2.999, 3.0, 3.5],
                &[4, 1, 2, 3, 1, 5, 9],
                &edges
            ),
            vec![3, 3, 6]
        );
    }

    // Categorical, b = {a: 2, b: 2}, t = {b: 2, c: 2}: same JS and PSI as above; c is unseen
    // in the baseline, so its expected count is 0 and the chi-squared p-value is 0.
    // b = {a: 3, b: 1}, t = {a: 1, b: 3}: expected (3, 1), statistic 4/3 + 4 = 16/3, 1 dof,
    // p = erfc(sqrt(8/3)).
    #[test]
    fn categorical_hand_computed() {
        let v = categorical(&[2.0, 2.0, 0.0], &[0.0, 2.0, 2.0], 4.0, 4.0);
        assert!(close(v.jensen_shannon, 0.5f64.sqrt()));
        assert!(close(v.psi, 4.0 / 7.0 * 3f64.ln()));
        assert_eq!(v.chi2_pvalue, 0.0);
        let v = categorical(&[3.0, 1.0], &[1.0, 3.0], 4.0, 4.0);
        assert!(
            (v.chi2_pvalue - 0.020_921_335_337_794_028).abs() < 1e-14,
            "{}",
            v.chi2_pvalue
        );
        let pb: [f64; 2] = [4.0 / 6.0, 2.0 / 6.0];
        let pt: [f64; 2] = [2.0 / 6.0, 4.0 / 6.0];
        let want: f64 = pb.iter().zip(&pt).map(|(b, t)| (t - b) * (t / b).ln()).sum();
        assert!(close(v.psi, want));
        // Identical distributions: no distance, p = 1.
        let v = categorical(&[5.0, 5.0], &[5.0, 5.0], 10.0, 10.0);
        assert_eq!(v.jensen_shannon, 0.0);
        assert!(close(v.chi2_pvalue, 1.0));
    }
}
