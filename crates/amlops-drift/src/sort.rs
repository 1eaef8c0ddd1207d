//! Sorting of f64 samples: an LSD radix sort on order-preserving 64-bit keys (11-bit digits;
//! digits that are equal in every key are skipped). The inputs hold no NaN. Keys are kept as
//! bit patterns inside the caller's f64 buffers, so a worker reuses the same memory for every
//! column and the only extra memory is one scratch buffer.

const BITS: u32 = 11;
const BUCKETS: usize = 1 << BITS;
const PASSES: usize = 6; // 6 * 11 >= 64

#[inline]
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

#[inline]
fn unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Sort ascending (`-0.0` before `0.0`, as `f64::total_cmp`), using `scratch` as the second
/// buffer (resized as needed).
pub fn sort_f64(v: &mut Vec<f64>, scratch: &mut Vec<f64>) {
    let n = v.len();
    if n < 1024 {
        v.sort_unstable_by(|a, b| a.total_cmp(b));
        return;
    }
    let mut hist = vec![[0usize; BUCKETS]; PASSES];
    for x in v.iter_mut() {
        let k = key(*x);
        *x = f64::from_bits(k);
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p as u32 * BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    scratch.clear();
    scratch.resize(n, 0.0);
    for (p, h) in hist.iter().enumerate() {
        if h.contains(&n) {
            continue; // every key has the same digit here
        }
        let mut offsets = [0usize; BUCKETS];
        let mut sum = 0;
        for (o, &c) in offsets.iter_mut().zip(h.iter()) {
            *o = sum;
            sum += c;
        }
        let shift = p as u32 * BITS;
        for &x in v.iter() {
            let k = x.to_bits();
            let d = ((k >> shift) as usize) & (BUCKETS - 1);
            scratch[offsets[d]] = x;
            offsets[d] += 1;
        }
        std::mem::swap(v, scratch);
    }
    for x in v.iter_mut() {
        *x = unkey(x.to_bits());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut small = vec![3.0, -1.0, 2.0];
        sort_f64(&mut small, &mut scratch);
        assert_eq!(small, vec![-1.0, 2.0, 3.0]);
    }
}
