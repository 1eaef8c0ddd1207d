//! The first level of the buckets: how keys are laid out in buckets (per binade, by where a
//! sample of the values lies), and the pass that counts them.

use super::{Side, Tally, bit, ckey};
use crate::sort::unkey;

/// The first-level pass over one side: count and sum `x - lb` per bucket, with the squares
/// `(x - centre)²` when `SQUARES`; class the values of straddling buckets one by one.
#[inline(never)]
pub(super) fn pass1<const SQUARES: bool>(
    side: &Side<'_>,
    (blocks, c0, straddle, tally): (&[Block], u64, &[u64], &Tally<'_>),
    cells: &mut Vec<(u64, f64)>,
    squares: &mut [f64],
    counts: &mut [u64],
) {
    let n1 = blocks.last().map_or(0, |b| b.off as usize + b.n);
    cells.clear();
    cells.resize(n1, (0, 0.0));
    // One step, inlined into each loop (single values are the hot one, with `c` known as 1).
    #[inline(always)]
    fn step<const SQUARES: bool>(
        (blocks, c0, straddle, tally): (&[Block], u64, &[u64], &Tally<'_>),
        cells: &mut [(u64, f64)],
        squares: &mut [f64],
        counts: &mut [u64],
        x: f64,
        c: u64,
    ) {
        let k = ckey(x);
        let b = &blocks[((k >> 52) - c0) as usize];
        let r = (k - b.start) >> b.shift;
        let lb = unkey(b.start + (r << b.shift));
        let i = b.off as usize + r as usize;
        let cell = &mut cells[i];
        cell.0 += c;
        cell.1 += c as f64 * (x - lb);
        if SQUARES {
            // About the centre itself: expanding `(x - lb + lb - centre)²` over a bucket
            // overflows where a bucket is wider than 1e154 and cancels where the values
            // lie much closer together than a bucket's width.
            let d = x - tally.centre;
            squares[i] += c as f64 * d * d;
        }
        if bit(straddle, i) {
            counts[(tally.class)(x)] += c;
        }
    }
    let at = (blocks, c0, straddle, tally);
    for &x in side.values {
        step::<SQUARES>(at, cells, squares, counts, x, 1);
    }
    let rest = Side { values: &[], ..*side };
    rest.each(|x, c| step::<SQUARES>(at, cells, squares, counts, x, c));
}

/// The last key of bucket `r` of a block.
pub(super) fn bucket_last(b: &Block, r: usize) -> u64 {
    if r + 1 == b.n {
        b.end
    } else {
        b.start + ((r as u64) << b.shift) + ((1u64 << b.shift) - 1)
    }
}

/// A block of the first level: the keys with the same top 12 bits (one sign and exponent, a
/// binade of the floats), clipped to the pooled range, split evenly into `n` buckets of
/// `2^shift` keys (the last may be shorter).
#[derive(Debug, Clone, Copy)]
pub(super) struct Block {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) shift: u32,
    pub(super) off: u32,
    pub(super) n: usize,
}

/// The first-level bucket of key `k`.
#[inline]
pub(super) fn index(blocks: &[Block], c0: u64, k: u64) -> usize {
    let b = &blocks[((k >> 52) - c0) as usize];
    b.off as usize + ((k - b.start) >> b.shift) as usize
}

/// Values sampled per side to lay out the first level.
const LAYOUT_SAMPLE: usize = 1 << 16;

/// Lay out the first level over keys `kmin..=kmax`: about `2^bits` buckets in all, shared out
/// between the binades by the share of a sample of values each holds (a power of two per
/// binade; each binade at least one). Uniform key ranges would put most buckets where a
/// full-precision sample has no values: the key range of `-5.0..5.0` is mostly binades of tiny
/// magnitudes, while a normal sample's mass lies in a handful of binades. Any layout gives the
/// same exact result; a good one leaves fewer buckets open.
pub(super) fn layout(sides: &[Side<'_>; 2], kmin: u64, kmax: u64, bits: u32, blocks: &mut Vec<Block>) {
    let (c0, c1) = (kmin >> 52, kmax >> 52);
    let nc = (c1 - c0) as usize + 1;
    let mut mass = vec![0u64; nc];
    for side in sides {
        let step = side.values.len().div_ceil(LAYOUT_SAMPLE).max(1);
        for &x in side.values.iter().step_by(step) {
            mass[((ckey(x) >> 52) - c0) as usize] += step as u64;
        }
        let rest = Side { values: &[], ..*side };
        rest.each(|x, c| mass[((ckey(x) >> 52) - c0) as usize] += c);
    }
    let total = mass.iter().sum::<u64>().max(1) as f64;
    let target = (1u64 << bits) as f64;
    blocks.clear();
    let mut off = 0u32;
    for (j, &m) in mass.iter().enumerate() {
        let c = c0 + j as u64;
        let start = (c << 52).max(kmin);
        let end = ((c << 52) | ((1u64 << 52) - 1)).min(kmax);
        let span = end - start;
        let span_bits = 64 - span.leading_zeros();
        let want = (m as f64 / total * target).max(1.0);
        let w = (want.log2().ceil() as u32).min(span_bits);
        let shift = span_bits - w;
        let n = (span >> shift) as usize + 1;
        blocks.push(Block {
            start,
            end,
            shift,
            off,
            n,
        });
        off += n as u32;
    }
}
