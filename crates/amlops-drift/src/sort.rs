//! Sorting of f64 samples: an LSD radix sort on order-preserving 64-bit keys (digits of at
//! most 10 bits; digits that are equal in every key are skipped). The inputs hold no NaN. Keys are kept as
//! bit patterns inside the caller's f64 buffers, so a worker reuses the same memory for every
//! column and the only extra memory is one scratch buffer.

/// Widest digit: 1024 buckets. Each pass scatters keys to one write position per bucket; with
/// more buckets than the TLB has entries for the pages they point into (4 KiB pages, large
/// samples), every write misses the TLB. Four 9-bit passes over 34-bit keys take about 30%
/// less time than three 12-bit passes (10M keys, 2 vCPU).
const MAX_BITS: u32 = 10;
const BUCKETS: usize = 1 << MAX_BITS;

/// The digits (shift, width) of keys of `bits` bits: as few passes of at most [`MAX_BITS`] as
/// cover them, of even widths.
fn digits(bits: u32) -> Vec<(u32, u32)> {
    let bits = bits.max(1);
    let passes = bits.div_ceil(MAX_BITS);
    let width = bits.div_ceil(passes);
    (0..passes)
        .map(|p| (p * width, width.min(bits - p * width)))
        .collect()
}

#[inline]
fn digit(k: u64, (shift, width): (u32, u32)) -> usize {
    ((k >> shift) & ((1u64 << width) - 1)) as usize
}

/// The order-preserving key of a float: keys compare as `f64::total_cmp` does.
#[inline]
pub(crate) fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The float of a key ([`key`]'s inverse).
#[inline]
pub(crate) fn unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Sort ascending (`-0.0` before `0.0`, as `f64::total_cmp`), using `scratch` as the second
/// buffer (grown as needed, never shrunk). Digits are 10 bits of the order-preserving key;
/// digits equal in every key are skipped.
pub fn sort_f64(v: &mut [f64], scratch: &mut Vec<f64>) {
    let n = v.len();
    if n < 4096 || n > u32::MAX as usize {
        v.sort_unstable_by(|a, b| a.total_cmp(b));
        return;
    }
    let plan = digits(64);
    let mut hist = vec![[0u32; BUCKETS]; plan.len()];
    for x in v.iter_mut() {
        let k = key(*x);
        *x = f64::from_bits(k);
        for (&d, h) in plan.iter().zip(hist.iter_mut()) {
            h[digit(k, d)] += 1;
        }
    }
    radix_passes(v, scratch, &plan, &hist);
    for x in v.iter_mut() {
        *x = unkey(x.to_bits());
    }
}

/// Sort values that are exactly `k / scale` with integer `k` in `kmin..=kmax` (below 2^51 in
/// magnitude): the radix sort runs over `k - kmin`, so only the digits that span the key range
/// are passed over (three passes for a range of 16 million keys), and the values are rebuilt
/// exactly as `k / scale`. Each value is checked as its key is made; on the first one that is
/// not such a `k / scale`, `v` is restored (same values, any order) and that value returned.
pub fn sort_decimal(
    v: &mut [f64],
    scratch: &mut Vec<f64>,
    scale: f64,
    kmin: i64,
    kmax: i64,
) -> Result<(), f64> {
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    const LIMIT: f64 = 2_251_799_813_685_248.0; // 2^51
    let n = v.len();
    let span = kmax.saturating_sub(kmin).max(0) as u64;
    let plan = digits(64 - span.leading_zeros());
    let mut hist = vec![[0u32; BUCKETS]; plan.len()];
    let base = kmin as f64;
    let top = span as f64;
    for j in 0..n {
        let x = v[j];
        let y = x * scale;
        let r = (y + ROUNDER) - ROUNDER;
        let u = r - base;
        if !(y.abs() < LIMIT && r / scale == x && u >= 0.0 && u <= top) {
            for w in &mut v[..j] {
                *w = (w.to_bits() as i64 + kmin) as f64 / scale;
            }
            return Err(x);
        }
        let k = u as u64;
        v[j] = f64::from_bits(k);
        for (&d, h) in plan.iter().zip(hist.iter_mut()) {
            h[digit(k, d)] += 1;
        }
    }
    if n <= u32::MAX as usize {
        radix_passes(v, scratch, &plan, &hist);
    } else {
        v.sort_unstable_by_key(|x| x.to_bits());
    }
    for x in v.iter_mut() {
        *x = (x.to_bits() as i64 + kmin) as f64 / scale;
    }
    Ok(())
}

/// Sort 64-bit keys ascending: LSD radix over `k - k_min` (only the digits the range
/// needs), `scratch` as the second buffer.
pub(crate) fn sort_keys(v: &mut [u64], scratch: &mut Vec<u64>) {
    let n = v.len();
    if n < 4096 || n > u32::MAX as usize {
        v.sort_unstable();
        return;
    }
    let (lo, hi) = v.iter().fold((u64::MAX, 0), |(a, b), &k| (a.min(k), b.max(k)));
    let plan = digits(64 - (hi - lo).leading_zeros());
    let mut hist = vec![[0u32; BUCKETS]; plan.len()];
    for k in v.iter_mut() {
        *k -= lo;
        for (&d, h) in plan.iter().zip(hist.iter_mut()) {
            h[digit(*k, d)] += 1;
        }
    }
    radix_passes_by(v, scratch, &plan, &hist, |k| k);
    for k in v.iter_mut() {
        *k += lo;
    }
}

/// LSD passes over keys held as bit patterns in `v`, one per digit of `plan` with its
/// histogram; a digit equal in every key is skipped.
fn radix_passes(v: &mut [f64], scratch: &mut Vec<f64>, plan: &[(u32, u32)], hist: &[[u32; BUCKETS]]) {
    radix_passes_by(v, scratch, plan, hist, |x| x.to_bits());
}

/// [`radix_passes`] over any element with a key function.
fn radix_passes_by<T: Copy + Default>(
    v: &mut [T],
    scratch: &mut Vec<T>,
    plan: &[(u32, u32)],
    hist: &[[u32; BUCKETS]],
    bits: impl Fn(T) -> u64,
) {
    let n = v.len();
    if scratch.len() < n {
        scratch.resize(n, T::default());
    }
    let scratch = &mut scratch[..n];
    let mut in_scratch = false;
    let mut offsets = vec![0usize; BUCKETS];
    for (&d, h) in plan.iter().zip(hist) {
        if h.iter().any(|&c| c as usize == n) {
            continue; // every key has the same digit here
        }
        let mut sum = 0usize;
        for (o, &c) in offsets.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c as usize;
        }
        let (src, dst): (&[T], &mut [T]) = if in_scratch {
            (&*scratch, &mut *v)
        } else {
            (&*v, &mut *scratch)
        };
        for &x in src {
            let b = digit(bits(x), d);
            dst[offsets[b]] = x;
            offsets[b] += 1;
        }
        in_scratch = !in_scratch;
    }
    if in_scratch {
        v.copy_from_slice(scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_cover_the_key_in_few_even_passes() {
        assert_eq!(digits(34), vec![(0, 9), (9, 9), (18, 9), (27, 7)]);
        assert_eq!(digits(20), vec![(0, 10), (10, 10)]);
        assert_eq!(digits(64).len(), 7);
        assert_eq!(digits(0), vec![(0, 1)]);
        for bits in 1..=64 {
            let plan = digits(bits);
            assert_eq!(plan.iter().map(|d| d.1).sum::<u32>(), bits);
            assert!(plan.iter().all(|d| d.1 >= 1 && d.1 <= MAX_BITS));
        }
    }

    #[test]
    fn sorts_like_total_cmp() {
        let mut state = 0x1234_5678_9abc_def0u64;
        let mut v: Vec<f64> = (0..50_000)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let x = (state >> 11) as f64 / (1u64 << 53) as f64;
                match i % 5 {
                    0 => -x * 1e6,
                    1 => x * 1e-300,
                    2 => 0.0,
                    3 => -0.0,
                    _ => (x * 100.0).round() / 10.0,
                }
            })
            .collect();
        let mut expected = v.clone();
        expected.sort_unstable_by(|a, b| a.total_cmp(b));
        let mut scratch = Vec::new();
        sort_f64(&mut v, &mut scratch);
        assert!(v.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()));
        let mut dec: Vec<f64> = (0..40_000u32)
            .map(|i| (i64::from(i.wrapping_mul(2_654_435_761) % 3_000_000) - 1_500_000) as f64 / 1e3)
            .collect();
        let mut want = dec.clone();
        want.sort_unstable_by(|a, b| a.total_cmp(b));
        assert_eq!(
            sort_decimal(&mut dec, &mut scratch, 1e3, -1_500_000, 1_499_999),
            Ok(())
        );
        assert!(dec.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()));
        // A value that is not decimal at this scale: the input comes back whole.
        let mut bad: Vec<f64> = (0..10_000).map(|i| f64::from(i) / 100.0).collect();
        bad[7_000] = 0.1f64.sqrt();
        let mut before = bad.clone();
        assert_eq!(
            sort_decimal(&mut bad, &mut scratch, 100.0, 0, 9_999),
            Err(0.1f64.sqrt())
        );
        before.sort_unstable_by(|a, b| a.total_cmp(b));
        bad.sort_unstable_by(|a, b| a.total_cmp(b));
        assert_eq!(bad, before);
        let mut small = vec![3.0, -1.0, 2.0];
        sort_f64(&mut small, &mut scratch);
        assert_eq!(small, vec![-1.0, 2.0, 3.0]);
    }
}
