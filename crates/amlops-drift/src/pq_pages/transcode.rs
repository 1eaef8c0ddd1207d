//! BYTE_STREAM_SPLIT and DELTA_BINARY_PACKED pages rewritten as PLAIN values, so that every
//! consumer of PLAIN pages (dense counting, the row mask's drops, the NaN check, integer
//! categories) reads them unchanged.
//!
//! Written here rather than taken from the `parquet` crate: its value decoders are public only
//! behind its `experimental` feature (no stable API), and its Arrow reader, which this reader
//! otherwise falls back to, materialises whole columns into arrays before drift sees a value
//! (Parquet v2 writers use DELTA_BINARY_PACKED for integers by default; BYTE_STREAM_SPLIT is the
//! usual choice for floating-point features). Both decoders, and the text ones built on the
//! first (`delta_text`), are checked against an encoder written from the format's description
//! (tests here), against the crate's reader on files it wrote (`parquet_side` and `ints`
//! tests), and against the crate's decoders on arbitrary bytes (the `drift_transcode` fuzz
//! target, [`fuzz_transcode`]).
//!
//! The rules follow the format's `Encodings.md` and the crate's decoders where the format leaves
//! room: the streams of BYTE_STREAM_SPLIT are a page's bytes divided by the value width (at
//! least the page's present values each); DELTA_BINARY_PACKED arithmetic wraps in the physical
//! type, the bit widths of miniblocks past the last value are ignored, and the last miniblock's
//! padding may be missing.

/// Values rewritten at a time: a chunk's PLAIN bytes (512 KiB of doubles) stay in the L2 cache
/// between rewriting and reading, and a page that packs many values into few bytes (a long run
/// of equal DELTA_BINARY_PACKED deltas) never needs memory for all of them at once.
pub(super) const CHUNK: usize = 1 << 16;

/// The streams of a BYTE_STREAM_SPLIT page holding `present` values of `width` bytes.
#[derive(Debug)]
pub(super) struct Split<'a> {
    data: &'a [u8],
    stride: usize,
    width: usize,
    at: usize,
}

impl<'a> Split<'a> {
    /// Each of the `width` streams is a `width`th of the page, at least `present` bytes long.
    pub(super) fn new(data: &'a [u8], present: usize, width: usize) -> Result<Self, String> {
        if present > 0 && (!data.len().is_multiple_of(width) || data.len() / width < present) {
            return Err(format!(
                "BYTE_STREAM_SPLIT page of {} bytes for {present} values of {width} bytes",
                data.len()
            ));
        }
        Ok(Split {
            data,
            stride: data.len() / width,
            width,
            at: 0,
        })
    }

    /// The next `k` values as PLAIN bytes in `out` (the caller asks for no more than the
    /// page's present values).
    pub(super) fn read(&mut self, k: usize, out: &mut Vec<u8>) {
        out.clear();
        out.resize(k * self.width, 0);
        match self.width {
            4 => join::<4>(self.data, self.stride, self.at, out),
            _ => join::<8>(self.data, self.stride, self.at, out),
        }
        self.at += k;
    }
}

/// Interleave byte `from..` of `W` streams of `stride` bytes into `out` (`W` bytes a value).
fn join<const W: usize>(data: &[u8], stride: usize, from: usize, out: &mut [u8]) {
    let n = out.len() / W;
    let streams: [&[u8]; W] = std::array::from_fn(|k| &data[k * stride + from..k * stride + from + n]);
    for (i, value) in out.chunks_exact_mut(W).enumerate() {
        for (b, stream) in value.iter_mut().zip(&streams) {
            *b = stream[i];
        }
    }
}

/// A cursor over the bytes of a DELTA_BINARY_PACKED page.
#[derive(Debug)]
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    /// An unsigned LEB128 integer of at most 64 bits.
    fn uleb(&mut self, what: &str) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .data
                .get(self.at)
                .ok_or_else(|| format!("DELTA_BINARY_PACKED {what} past the page end"))?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("DELTA_BINARY_PACKED {what} longer than 64 bits"))
    }

    /// A zigzag-encoded signed LEB128 integer.
    fn zigzag(&mut self, what: &str) -> Result<i64, String> {
        let u = self.uleb(what)?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    /// A count of the header: at most `i32::MAX`, as writers store them (parquet-mr's are `int`s;
    /// the `parquet` crate refuses those past `i64::MAX`).
    fn count(&mut self, what: &str) -> Result<usize, String> {
        let v = self.uleb(what)?;
        match i32::try_from(v) {
            Ok(v) => Ok(v as usize),
            Err(_) => Err(format!("DELTA_BINARY_PACKED {what} {v} too large")),
        }
    }
}

/// A DELTA_BINARY_PACKED page of integers of `width` bytes (4: INT32, 8: INT64), read a chunk
/// at a time. Arithmetic wraps modulo 2^64, which equals wrapping in 32 bits once truncated.
#[derive(Debug)]
pub(super) struct Delta<'a> {
    c: Cursor<'a>,
    width: usize,
    per_miniblock: usize,
    miniblocks: usize,
    /// Values not yet read.
    left: usize,
    /// The first value, until it is read.
    first: Option<u64>,
    last: u64,
    min_delta: u64,
    /// The current block's miniblock bit widths, and the next miniblock's index among them.
    widths: &'a [u8],
    next: usize,
    /// The current miniblock: its bytes, bit width, values read and values left.
    packed: &'a [u8],
    bw: u32,
    read: usize,
    in_miniblock: usize,
}

impl<'a> Delta<'a> {
    /// Parse the page's header; it must count `present` values.
    pub(super) fn new(data: &'a [u8], present: usize, width: usize) -> Result<Self, String> {
        let mut d = Delta {
            c: Cursor { data, at: 0 },
            width,
            per_miniblock: 0,
            miniblocks: 0,
            left: 0,
            first: None,
            last: 0,
            min_delta: 0,
            widths: &[],
            next: 0,
            packed: &[],
            bw: 0,
            read: 0,
            in_miniblock: 0,
        };
        if present == 0 {
            return Ok(d);
        }
        let block = d.c.count("block size")?;
        let miniblocks = d.c.count("miniblock count")?;
        let total = d.c.count("value count")?;
        let first = d.c.zigzag("first value")?;
        if block == 0 || !block.is_multiple_of(128) || miniblocks == 0 || !block.is_multiple_of(miniblocks) {
            return Err(format!(
                "DELTA_BINARY_PACKED blocks of {block} values in {miniblocks} miniblocks (blocks hold a \
                 multiple of 128 values, split evenly)"
            ));
        }
        d.per_miniblock = block / miniblocks;
        if !d.per_miniblock.is_multiple_of(32) {
            return Err(format!(
                "DELTA_BINARY_PACKED miniblocks of {} values (a multiple of 32)",
                d.per_miniblock
            ));
        }
        if total != present {
            return Err(format!(
                "DELTA_BINARY_PACKED header counts {total} values, the page holds {present}"
            ));
        }
        d.fits(first, "first value")?;
        d.miniblocks = miniblocks;
        d.left = present;
        d.first = Some(first as u64);
        Ok(d)
    }

    fn fits(&self, v: i64, what: &str) -> Result<(), String> {
        if self.width == 8 || i32::try_from(v).is_ok() {
            Ok(())
        } else {
            Err(format!(
                "DELTA_BINARY_PACKED {what} {v} wider than the column's type"
            ))
        }
    }

    /// Start the next miniblock (and block, when the last one is done).
    fn next_miniblock(&mut self) -> Result<(), String> {
        if self.next == self.widths.len() {
            let min_delta = self.c.zigzag("minimum delta")?;
            self.fits(min_delta, "minimum delta")?;
            self.min_delta = min_delta as u64;
            let c = &mut self.c;
            self.widths = c
                .data
                .get(c.at..c.at.saturating_add(self.miniblocks))
                .ok_or("DELTA_BINARY_PACKED miniblock widths past the page end")?;
            c.at += self.miniblocks;
            self.next = 0;
        }
        let bw = u32::from(self.widths[self.next]);
        self.next += 1;
        let bits = self.width as u32 * 8;
        if bw > bits {
            return Err(format!(
                "DELTA_BINARY_PACKED deltas of {bw} bits in a column of {bits}-bit integers"
            ));
        }
        // `per_miniblock` is a multiple of 32, so a miniblock is whole bytes; the last one's
        // padding may be missing.
        let k = self.left.min(self.per_miniblock);
        let need = (k * bw as usize).div_ceil(8);
        let size = self
            .per_miniblock
            .checked_mul(bw as usize)
            .ok_or("DELTA_BINARY_PACKED miniblock too large")?
            / 8;
        let c = &mut self.c;
        self.packed = c
            .data
            .get(c.at..c.at + need)
            .ok_or("DELTA_BINARY_PACKED miniblock past the page end")?;
        c.at = c.at.saturating_add(size).min(c.data.len());
        self.bw = bw;
        self.read = 0;
        self.in_miniblock = k;
        Ok(())
    }

    /// Values not yet read.
    pub(super) fn left(&self) -> usize {
        self.left
    }

    /// The next `k` values (no more than are left) as PLAIN bytes in `out`.
    pub(super) fn read(&mut self, k: usize, out: &mut Vec<u8>) -> Result<(), String> {
        out.clear();
        out.reserve(k.min(self.left) * self.width);
        let width = self.width;
        self.each(k, |v| push(out, width, v))
    }

    /// Call `f` with each of the next `k` values (no more than are left), as 64 bits (an INT32
    /// column's in the low 32).
    pub(super) fn each(&mut self, k: usize, mut f: impl FnMut(u64)) -> Result<(), String> {
        let k = k.min(self.left);
        let mut done = 0usize;
        if k > 0
            && let Some(first) = self.first.take()
        {
            self.last = first;
            f(first);
            done = 1;
            self.left -= 1;
        }
        while done < k {
            if self.in_miniblock == 0 {
                self.next_miniblock()?;
            }
            let t = self.in_miniblock.min(k - done);
            let (mut last, min_delta) = (self.last, self.min_delta);
            unpack(self.packed, self.bw, self.read, t, |d| {
                last = last.wrapping_add(min_delta).wrapping_add(d);
                f(last);
            });
            self.last = last;
            self.read += t;
            self.in_miniblock -= t;
            self.left -= t;
            done += t;
        }
        Ok(())
    }

    /// Where the page's encoded values end (after the last miniblock holding one, padding
    /// included): the next part of a DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY page. The
    /// values not yet read are skipped, not unpacked.
    pub(super) fn end(mut self) -> Result<usize, String> {
        if self.first.take().is_some() {
            self.left -= 1;
        }
        self.left -= self.in_miniblock;
        while self.left > 0 {
            self.next_miniblock()?;
            self.left -= self.in_miniblock;
        }
        Ok(self.c.at)
    }
}

fn push(out: &mut Vec<u8>, width: usize, v: u64) {
    match width {
        4 => out.extend_from_slice(&(v as u32).to_le_bytes()),
        _ => out.extend_from_slice(&v.to_le_bytes()),
    }
}

/// Call `f` with the values `from..from + k` of the little-endian bit-packed values of `bw` bits
/// (at most 64) in `packed` (which holds them all).
fn unpack(packed: &[u8], bw: u32, from: usize, k: usize, mut f: impl FnMut(u64)) {
    if bw == 0 {
        (0..k).for_each(|_| f(0));
        return;
    }
    let mask = if bw == 64 { u64::MAX } else { (1u64 << bw) - 1 };
    for j in from..from + k {
        let bit = j * bw as usize;
        let (byte, shift) = (bit / 8, bit % 8);
        // A window of 16 bytes holds any value of up to 64 bits at a shift of up to 7.
        let window = match packed.get(byte..byte + 16) {
            Some(w) => u128::from_le_bytes(w.try_into().unwrap_or([0; 16])),
            None => {
                let mut w = [0u8; 16];
                let tail = &packed[byte.min(packed.len())..];
                w[..tail.len()].copy_from_slice(tail);
                u128::from_le_bytes(w)
            }
        };
        f((window >> shift) as u64 & mask);
    }
}

/// The encodings [`fuzz_transcode`] reads.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuzzEncoding {
    ByteStreamSplit,
    DeltaBinaryPacked,
    DeltaLengthByteArray,
    DeltaByteArray,
}

/// A page as the `drift_transcode` fuzz target reads arbitrary bytes: the first byte says how
/// (bits 0-1: the encoding, in [`FuzzEncoding`]'s order; bit 2: numbers of 8 bytes, else 4; the
/// rest: the chunk size, 1 + 13 * that, or [`CHUNK`] when 0), the next two how many values are
/// present, the rest is the page.
#[doc(hidden)]
#[derive(Debug)]
pub struct FuzzPage<'a> {
    pub encoding: FuzzEncoding,
    /// Bytes of a number (text: 0).
    pub width: usize,
    pub present: usize,
    pub page: &'a [u8],
    /// What this reader makes of it: the values as PLAIN bytes, or why not.
    pub plain: Result<Vec<u8>, String>,
}

#[doc(hidden)]
pub fn fuzz_transcode(data: &[u8]) -> Option<FuzzPage<'_>> {
    let (&how, rest) = data.split_first()?;
    let present = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
    let page = &rest[2..];
    let encoding = match how & 3 {
        0 => FuzzEncoding::ByteStreamSplit,
        1 => FuzzEncoding::DeltaBinaryPacked,
        2 => FuzzEncoding::DeltaLengthByteArray,
        _ => FuzzEncoding::DeltaByteArray,
    };
    let text = matches!(
        encoding,
        FuzzEncoding::DeltaLengthByteArray | FuzzEncoding::DeltaByteArray
    );
    let width = match (text, how & 4 == 4) {
        (true, _) => 0,
        (false, true) => 8,
        (false, false) => 4,
    };
    let chunk = match how >> 3 {
        0 => CHUNK,
        c => 1 + 13 * usize::from(c),
    };
    let read = || -> Result<Vec<u8>, String> {
        let (mut all, mut buf) = (Vec::new(), Vec::new());
        let mut left = present;
        match encoding {
            FuzzEncoding::DeltaBinaryPacked => {
                let mut d = Delta::new(page, present, width)?;
                while left > 0 {
                    let k = left.min(chunk);
                    d.read(k, &mut buf)?;
                    if buf.len() != k * width {
                        return Err(format!("{} bytes for {k} values", buf.len()));
                    }
                    all.extend_from_slice(&buf);
                    left -= k;
                }
            }
            FuzzEncoding::ByteStreamSplit => {
                let mut s = Split::new(page, present, width)?;
                while left > 0 {
                    let k = left.min(chunk);
                    s.read(k, &mut buf);
                    all.extend_from_slice(&buf);
                    left -= k;
                }
            }
            _ => {
                let prefixed = encoding == FuzzEncoding::DeltaByteArray;
                let mut t = super::delta_text::DeltaText::new(page, present, prefixed)?;
                while left > 0 {
                    let k = t.read(left.min(chunk), &mut buf)?;
                    if k == 0 || k > left.min(chunk) {
                        return Err(format!("{k} values for {}", left.min(chunk)));
                    }
                    all.extend_from_slice(&buf);
                    left -= k;
                }
            }
        }
        Ok(all)
    };
    Some(FuzzPage {
        encoding,
        width,
        present,
        page,
        plain: read(),
    })
}

/// `v` as an unsigned LEB128 integer (tests' encoders).
#[cfg(test)]
pub(super) fn uleb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
/// A reference encoder written from the format's description, independent of the decoder:
/// blocks of `block` values in `miniblocks` miniblocks, deltas wrapping in `width` bytes.
pub(super) fn encode(values: &[i64], width: usize, block: usize, miniblocks: usize, pad: bool) -> Vec<u8> {
    let zz = |v: i64| ((v << 1) ^ (v >> 63)) as u64;
    let wrap = |v: i64| if width == 4 { i64::from(v as i32) } else { v };
    let mut out = Vec::new();
    uleb(block as u64, &mut out);
    uleb(miniblocks as u64, &mut out);
    uleb(values.len() as u64, &mut out);
    uleb(zz(values.first().copied().unwrap_or(0)), &mut out);
    let deltas: Vec<i64> = values.windows(2).map(|w| wrap(w[1].wrapping_sub(w[0]))).collect();
    let per = block / miniblocks;
    for chunk in deltas.chunks(block) {
        let min = chunk.iter().copied().min().unwrap_or(0);
        uleb(zz(min), &mut out);
        let rel: Vec<u64> = chunk
            .iter()
            .map(|&d| {
                let r = d.wrapping_sub(min) as u64;
                if width == 4 { r & 0xffff_ffff } else { r }
            })
            .collect();
        let parts: Vec<&[u64]> = rel.chunks(per).collect();
        let widths: Vec<u32> = (0..miniblocks)
            .map(|m| {
                parts
                    .get(m)
                    .map_or(0, |p| 64 - p.iter().fold(0, |a, &b| a | b).leading_zeros())
            })
            .collect();
        out.extend(widths.iter().map(|&w| w as u8));
        for (m, part) in parts.iter().enumerate() {
            let bw = widths[m] as usize;
            let len = if pad || m + 1 < parts.len() {
                per
            } else {
                part.len()
            };
            let mut bits = vec![0u8; (len * bw).div_ceil(8)];
            for (j, &v) in part.iter().enumerate() {
                for b in 0..bw {
                    if v >> b & 1 == 1 {
                        let at = j * bw + b;
                        bits[at / 8] |= 1 << (at % 8);
                    }
                }
            }
            out.extend(bits);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's values read `chunk` at a time.
    fn decode_in(data: &[u8], n: usize, width: usize, chunk: usize) -> Result<Vec<i64>, String> {
        let mut d = Delta::new(data, n, width)?;
        let (mut bytes, mut all) = (Vec::new(), Vec::new());
        while all.len() < n * width {
            d.read(chunk, &mut bytes)?;
            if bytes.is_empty() {
                break;
            }
            all.extend_from_slice(&bytes);
        }
        Ok(match width {
            4 => all
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
            _ => all
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        })
    }

    fn decode(data: &[u8], n: usize, width: usize) -> Result<Vec<i64>, String> {
        decode_in(data, n, width, CHUNK)
    }

    #[test]
    fn delta_pages_decode_to_their_values_at_every_width_and_layout() {
        let mut next = crate::test_support::xorshift(0x9e37_79b9_7f4a_7c15u64);
        for width in [4usize, 8] {
            for (block, miniblocks) in [(128, 4), (128, 1), (256, 8), (1024, 2)] {
                for n in [1usize, 2, 31, 33, 128, 129, 1000, 4097] {
                    for spread in [0u32, 1, 7, 20, 40, 64] {
                        let values: Vec<i64> = (0..n)
                            .map(|_| {
                                let v = if spread == 64 {
                                    next() as i64
                                } else {
                                    (next() % (1u64 << spread).max(1)) as i64 - (1i64 << spread) / 2
                                };
                                if width == 4 { i64::from(v as i32) } else { v }
                            })
                            .collect();
                        for (pad, chunk) in [(true, CHUNK), (false, CHUNK), (true, 1), (false, 45)] {
                            let page = encode(&values, width, block, miniblocks, pad);
                            let got = decode_in(&page, n, width, chunk);
                            assert_eq!(
                                got.as_deref(),
                                Ok(&values[..]),
                                "width {width}, block {block}/{miniblocks}, n {n}, spread {spread}, pad {pad}, \
                                 chunk {chunk}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn extreme_values_wrap_as_the_format_says() {
        for (width, values) in [
            (
                8,
                vec![i64::MIN, i64::MAX, i64::MIN, 0, -1, i64::MAX, i64::MAX - 1],
            ),
            (
                4,
                vec![
                    i64::from(i32::MIN),
                    i64::from(i32::MAX),
                    i64::from(i32::MIN),
                    0,
                    -1,
                ],
            ),
        ] {
            let page = encode(&values, width, 128, 4, true);
            assert_eq!(
                decode(&page, values.len(), width).as_deref(),
                Ok(&values[..]),
                "width {width}"
            );
        }
    }

    #[test]
    fn damaged_delta_pages_are_errors_that_say_what_is_wrong() {
        let values: Vec<i64> = (0..300i64).map(|i| (i * i * 7919) % 1000 - 500).collect();
        let page = encode(&values, 8, 128, 4, true);
        let err = |data: &[u8], n: usize, width: usize| decode(data, n, width).err().unwrap_or_default();
        assert!(err(&page, 299, 8).contains("counts 300 values, the page holds 299"));
        assert!(err(&page[..page.len() - 40], 300, 8).contains("past the page end"));
        assert!(err(&[], 3, 8).contains("block size past the page end"));
        // Block size 100: not a multiple of 128.
        assert!(err(&[100, 4, 3, 0], 3, 8).contains("multiple of 128"));
        // 128 values in 3 miniblocks, and 128 in 8 (16 a miniblock).
        assert!(err(&[0x80, 1, 3, 3, 0], 3, 8).contains("split evenly"));
        assert!(err(&[0x80, 1, 8, 3, 0], 3, 8).contains("multiple of 32"));
        // A delta width of 40 bits in an INT32 column.
        assert!(err(&[0x80, 1, 1, 2, 0, 0, 40], 2, 4).contains("40 bits"));
        // A first value beyond i32.
        let big = encode(&[1 << 40, 0], 8, 128, 1, true);
        assert!(err(&big, 2, 4).contains("wider than the column's type"));
        // Ten continuation bytes: longer than 64 bits.
        assert!(err(&[0xff; 12], 1, 8).contains("longer than 64 bits"));
        // A block size past i32::MAX (2^31 + 128).
        assert!(
            err(&[0x80, 0x81, 0x80, 0x80, 0x08, 4, 1, 0], 1, 8).contains("block size 2147483776 too large")
        );
        // An empty page decodes to nothing, whatever its bytes.
        assert_eq!(decode(&[0xff], 0, 8), Ok(vec![]));
    }

    #[test]
    fn split_streams_join_into_plain_values() {
        let join = |split: &[u8], n: usize, width: usize, chunk: usize| -> Result<Vec<u8>, String> {
            let mut s = Split::new(split, n, width)?;
            let (mut bytes, mut all) = (Vec::new(), Vec::new());
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk);
                s.read(k, &mut bytes);
                all.extend_from_slice(&bytes);
                left -= k;
            }
            Ok(all)
        };
        let values: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 1e6).collect();
        let plain: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        // Stream k holds byte k of every value.
        let split: Vec<u8> = (0..8)
            .flat_map(|k| plain.iter().skip(k).step_by(8).copied())
            .collect();
        assert_eq!(join(&split, 1000, 8, CHUNK).as_ref(), Ok(&plain));
        assert_eq!(join(&split, 1000, 8, 33).as_ref(), Ok(&plain));
        // Fewer present values than the streams hold: the first of each stream.
        assert_eq!(join(&split, 10, 8, CHUNK).as_deref(), Ok(&plain[..80]));
        let floats: Vec<u8> = (0..77u32).flat_map(|i| (i as f32 * 1.5).to_le_bytes()).collect();
        let split: Vec<u8> = (0..4)
            .flat_map(|k| floats.iter().skip(k).step_by(4).copied())
            .collect();
        assert_eq!(join(&split, 77, 4, 10).as_ref(), Ok(&floats));
        let e = Split::new(&split[..300], 77, 4).err().unwrap_or_default();
        assert!(e.contains("300 bytes for 77 values"), "{e}");
        assert!(Split::new(&split[..307], 76, 4).is_err(), "not whole values");
        assert!(Split::new(&[], 0, 8).is_ok(), "a page of nulls only");
    }
}
