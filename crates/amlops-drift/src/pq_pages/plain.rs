//! PLAIN values: decoding numbers of each physical type, and text values.

use crate::sample::Sample;

/// Physical value type of a supported column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phys {
    F64,
    F32,
    I32,
    I64,
    /// INT32 holding unsigned integers (UINT_8, UINT_16, UINT_32).
    U32,
    /// INT64 holding unsigned integers (UINT_64): `as f64` rounds those above 2^53 to the
    /// nearest double, as the Arrow reader's cast does.
    U64,
}

impl Phys {
    pub(super) fn width(self) -> usize {
        match self {
            Phys::F64 | Phys::I64 | Phys::U64 => 8,
            Phys::F32 | Phys::I32 | Phys::U32 => 4,
        }
    }

    pub(super) fn is_integer(self) -> bool {
        !matches!(self, Phys::F64 | Phys::F32)
    }

    /// Decode `out.len()` PLAIN values from `bytes` (which holds at least that many).
    pub(super) fn decode(self, bytes: &[u8], out: &mut [f64]) {
        match self {
            Phys::F64 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    *o = f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                }
            }
            Phys::I64 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    *o = i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64;
                }
            }
            Phys::F32 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                }
            }
            Phys::I32 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                }
            }
            Phys::U32 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *o = f64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                }
            }
            Phys::U64 => {
                for (o, c) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                    *o = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64;
                }
            }
        }
    }

    /// Append `n` PLAIN values from `bytes` (which holds at least `n * width`).
    pub(super) fn extend(self, bytes: &[u8], n: usize, out: &mut Vec<f64>) {
        let w = self.width();
        let bytes = &bytes[..n * w];
        match self {
            Phys::F64 => out.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
            ),
            Phys::I64 => out.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64),
            ),
            Phys::F32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            ),
            Phys::I32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            ),
            Phys::U32 => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| f64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            ),
            Phys::U64 => out.extend(
                bytes
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64),
            ),
        }
    }
}

impl Phys {
    /// Append the `n` PLAIN values of `bytes` but those at the positions `drops` (ascending,
    /// below `n`): the runs between them are copied whole.
    pub(super) fn extend_without(self, bytes: &[u8], n: usize, drops: &[usize], out: &mut Vec<f64>) {
        let w = self.width();
        out.reserve(n - drops.len());
        let mut start = 0usize;
        for &d in drops {
            self.extend(&bytes[start * w..], d - start, out);
            start = d + 1;
        }
        self.extend(&bytes[start * w..], n - start, out);
    }
}

/// Values decoded and counted at a time (4 KiB: they stay in L1 between decoding, checking
/// and counting).
const RUN: usize = 512;

/// Add the `n` PLAIN values of `data` but those at the positions `drops` to `out`: counted
/// densely while that lasts, else kept. The first NaN or infinity kept, if any.
pub(super) fn add_plain(out: &mut Sample, phys: Phys, data: &[u8], n: usize, drops: &[usize]) -> Option<f64> {
    let w = phys.width();
    let mut run = [0f64; RUN];
    let mut nan = None;
    let mut start = 0usize;
    for end in drops.iter().copied().chain([n]) {
        let mut at = start;
        while at < end {
            let k = (end - at).min(RUN);
            let bytes = &data[at * w..(at + k) * w];
            if out.dense.is_on() {
                let run = &mut run[..k];
                phys.decode(bytes, run);
                // Dense counting takes only decimal values, never a NaN.
                if out.dense.add_all(run) {
                    at += k;
                    continue;
                }
                out.dense.demote(&mut out.values, &mut out.pairs);
            }
            if out.values.capacity() - out.values.len() < k {
                let more = out.expected.saturating_sub(out.values.len()).max(k);
                out.values.reserve(more);
            }
            let from = out.values.len();
            phys.extend(bytes, k, &mut out.values);
            // A branch-free pass over the run just written (in L1; it vectorises), and a search
            // only when it holds a NaN or an infinity.
            let run = &out.values[from..];
            if nan.is_none() && run.iter().fold(false, |any, x| any | !x.is_finite()) {
                nan = run.iter().copied().find(|x| !x.is_finite());
            }
            at += k;
        }
        start = end + 1;
    }
    nan
}

/// One PLAIN BYTE_ARRAY value at `*at` (4-byte length, then the bytes).
pub(super) fn byte_array<'a>(buf: &'a [u8], at: &mut usize) -> Result<&'a [u8], String> {
    let len = buf
        .get(*at..*at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("a text value past the page end")?;
    let v = buf
        .get(*at + 4..*at + 4 + len)
        .ok_or("a text value past the page end")?;
    *at += 4 + len;
    Ok(v)
}
