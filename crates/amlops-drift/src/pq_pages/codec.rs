//! Page decompression into one reused buffer, whole or only as far as a page's levels go.

use std::io::Read as _;

use flate2::{Crc, Decompress, FlushDecompress, Status};
use parquet::basic::Compression;
use zstd::zstd_safe::{self, DCtx, InBuffer, OutBuffer};

/// The most a Snappy block expands (a 3-byte copy tag yields 64 bytes), rounded up.
const SNAPPY_MAX_RATIO: usize = 32;
/// How many times its compressed size a page of another codec may claim once it claims more
/// than [`LARGE_PAGE`] (gzip expands at most 1032 times, LZ4 255 times).
pub(super) const MAX_EXPANSION: usize = 1100;
/// Uncompressed page size above which [`MAX_EXPANSION`] applies.
pub(super) const LARGE_PAGE: usize = 64 << 20;

/// A page compression this reader decompresses itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Codec {
    None,
    Snappy,
    Zstd,
    Gzip,
    Lz4Raw,
    Brotli,
}

impl Codec {
    /// The codec of a column chunk, when this reader handles it (the legacy LZ4 framing, which
    /// the `parquet` crate guesses among three, is left to the crate).
    pub(super) fn of(c: Compression) -> Option<Codec> {
        Some(match c {
            Compression::UNCOMPRESSED => Codec::None,
            Compression::SNAPPY => Codec::Snappy,
            Compression::ZSTD(_) => Codec::Zstd,
            Compression::GZIP(_) => Codec::Gzip,
            Compression::LZ4_RAW => Codec::Lz4Raw,
            Compression::BROTLI(_) => Codec::Brotli,
            _ => return None,
        })
    }
}

/// Decompression state reused from page to page: the output buffer and the codecs' contexts
/// (made when first needed).
#[derive(Default)]
pub(super) struct Inflater {
    out: Vec<u8>,
    zstd: Option<DCtx<'static>>,
    gzip: Option<Decompress>,
}

impl Inflater {
    /// A page body that decompresses to `size` bytes: the body itself when uncompressed, else
    /// decompressed whole into the reused buffer.
    pub(super) fn inflate<'a>(
        &'a mut self,
        body: &'a [u8],
        codec: Codec,
        size: usize,
    ) -> Result<&'a [u8], String> {
        match codec {
            Codec::None => {
                if body.len() != size {
                    return Err("uncompressed page of the wrong size".into());
                }
                return Ok(body);
            }
            Codec::Snappy => {
                snappy_len(body, size)?;
            }
            _ => {
                // A damaged header must not make this reader allocate gigabytes for a page of
                // a few bytes.
                if size > LARGE_PAGE && size > body.len().saturating_mul(MAX_EXPANSION) {
                    return Err(format!(
                        "a page claims {size} bytes once decompressed from {}",
                        body.len()
                    ));
                }
            }
        }
        if self.out.len() < size {
            self.out.resize(size, 0);
        }
        let out = &mut self.out[..size];
        let got = match codec {
            Codec::None => size,
            Codec::Snappy => snap::raw::Decoder::new()
                .decompress(body, out)
                .map_err(|e| format!("Snappy: {e}"))?,
            Codec::Zstd => {
                let dctx = match &mut self.zstd {
                    Some(d) => d,
                    None => self
                        .zstd
                        .insert(DCtx::try_create().ok_or("zstd: cannot allocate a context")?),
                };
                // Several frames in a row decompress one after the other, as the crate's
                // streaming decoder reads them.
                dctx.decompress(out, body)
                    .map_err(|code| format!("zstd: {}", zstd_safe::get_error_name(code)))?
            }
            Codec::Gzip => gunzip(body, out, self.gzip.get_or_insert_with(|| Decompress::new(false)))?,
            Codec::Lz4Raw => lz4_flex::block::decompress_into(body, out).map_err(|e| format!("LZ4: {e}"))?,
            Codec::Brotli => {
                let mut r = brotli::Decompressor::new(body, 4096);
                r.read_exact(out).map_err(|e| format!("Brotli: {e}"))?;
                let mut more = [0u8; 1];
                match r.read(&mut more) {
                    Ok(0) => size,
                    _ => size + 1,
                }
            }
        };
        if got != size {
            return Err(format!("{codec:?} page of the wrong size"));
        }
        Ok(&self.out[..size])
    }

    /// The start of a v1 data page body (decompressing to `size` bytes) that holds its
    /// definition levels: their 4-byte length, then the levels. Snappy, zstd and gzip pages are
    /// decompressed only about as far as that (zstd a block at a time), others whole.
    pub(super) fn levels_prefix<'a>(
        &'a mut self,
        body: &'a [u8],
        codec: Codec,
        size: usize,
    ) -> Result<&'a [u8], String> {
        let len = |b: &[u8]| {
            b.get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        let page: &[u8] = match codec {
            Codec::Snappy => {
                snappy_len(body, size)?;
                snappy_prefix(body, &mut self.out, |o| len(o).map_or(4, |n| n.saturating_add(4)))?;
                &self.out
            }
            Codec::Zstd => {
                let dctx = match &mut self.zstd {
                    Some(d) => d,
                    None => self
                        .zstd
                        .insert(DCtx::try_create().ok_or("zstd: cannot allocate a context")?),
                };
                zstd_prefix(dctx, body, size, &mut self.out, |o| {
                    len(o).map_or(4, |n| n.saturating_add(4))
                })?;
                &self.out
            }
            Codec::Gzip => {
                let d = self.gzip.get_or_insert_with(|| Decompress::new(false));
                let need = |o: &[u8]| len(o).map_or(4, |n| n.saturating_add(4));
                if gunzip_prefix(body, size, &mut self.out, d, need)? {
                    &self.out
                } else {
                    // Levels longer than the first member: the page whole.
                    self.inflate(body, codec, size)?
                }
            }
            _ => self.inflate(body, codec, size)?,
        };
        let n = len(page).ok_or("data page too short")?;
        page.get(..n.saturating_add(4))
            .ok_or_else(|| "definition levels past the page end".to_string())
    }
}

/// Check a Snappy block's length against the page header's `size`, and that the block can
/// hold that many bytes (a block expands at most about 21 times: a page that claims more is
/// damaged, and its buffer is not allocated).
fn snappy_len(body: &[u8], size: usize) -> Result<(), String> {
    let len = snap::raw::decompress_len(body).map_err(|e| format!("Snappy: {e}"))?;
    if len != size {
        return Err("Snappy page of the wrong size".into());
    }
    if size > body.len().saturating_mul(SNAPPY_MAX_RATIO) {
        return Err("Snappy page claims more bytes than its data can hold".into());
    }
    Ok(())
}

/// Decompress the start of a zstd page (`size` bytes in all) into `out` (cleared first),
/// until it holds at least `need(out)` bytes or the page ends.
fn zstd_prefix(
    dctx: &mut DCtx<'static>,
    body: &[u8],
    size: usize,
    out: &mut Vec<u8>,
    need: impl Fn(&[u8]) -> usize,
) -> Result<(), String> {
    let err = |code| format!("zstd: {}", zstd_safe::get_error_name(code));
    dctx.reset(zstd_safe::ResetDirective::SessionOnly).map_err(err)?;
    out.clear();
    let mut input = InBuffer::around(body);
    let mut have = 0usize;
    loop {
        let want = need(&out[..have]).min(size);
        if have >= want {
            break;
        }
        if out.len() < want {
            out.resize(want, 0);
        }
        let read = input.pos();
        let mut o = OutBuffer::around_pos(&mut out[..want], have);
        dctx.decompress_stream(&mut o, &mut input).map_err(err)?;
        let pos = o.pos();
        if pos == have && input.pos() == read {
            // The page ends here (the caller finds it too short).
            break;
        }
        have = pos;
    }
    out.truncate(have);
    Ok(())
}

/// Where the deflate data of the gzip member starting at `body[at]` begins (its header is
/// parsed and skipped).
fn gzip_header(body: &[u8], at: usize) -> Result<usize, String> {
    let bad = |what: &str| format!("gzip: {what}");
    let h = body
        .get(at..at + 10)
        .ok_or_else(|| bad("header past the page end"))?;
    if h[..3] != [0x1f, 0x8b, 8] {
        return Err(bad("not gzip data"));
    }
    let flags = h[3];
    let mut p = at + 10;
    if flags & 4 != 0 {
        let x = body
            .get(p..p + 2)
            .ok_or_else(|| bad("header past the page end"))?;
        p += 2 + usize::from(u16::from_le_bytes([x[0], x[1]]));
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            let rest = body.get(p..).ok_or_else(|| bad("header past the page end"))?;
            p += rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| bad("header past the page end"))?
                + 1;
        }
    }
    if flags & 2 != 0 {
        p += 2;
    }
    Ok(p)
}

/// Decompress the start of a gzip page (`size` bytes in all) into `out` (cleared first),
/// until it holds at least `need(out)` bytes or the page ends; false when the first member
/// ends before that (the caller then decompresses the page whole).
fn gunzip_prefix(
    body: &[u8],
    size: usize,
    out: &mut Vec<u8>,
    d: &mut Decompress,
    need: impl Fn(&[u8]) -> usize,
) -> Result<bool, String> {
    let bad = |what: &str| format!("gzip: {what}");
    let input = body
        .get(gzip_header(body, 0)?..)
        .ok_or_else(|| bad("header past the page end"))?;
    d.reset(false);
    out.clear();
    loop {
        let have = d.total_out() as usize;
        let want = need(&out[..have]).min(size);
        if have >= want {
            out.truncate(have);
            return Ok(true);
        }
        if out.len() < want {
            out.resize(want, 0);
        }
        let read = d.total_in() as usize;
        let status = d
            .decompress(&input[read..], &mut out[have..want], FlushDecompress::None)
            .map_err(|e| bad(&e.to_string()))?;
        let progress = d.total_in() as usize != read || d.total_out() as usize != have;
        if status == Status::StreamEnd || !progress {
            let have = d.total_out() as usize;
            out.truncate(have);
            return Ok(have >= need(out).min(size));
        }
    }
}

/// Decompress the gzip members of `body` into `out`, which they must fill exactly; each
/// member's CRC-32 and length are checked. The number of bytes written.
fn gunzip(body: &[u8], out: &mut [u8], d: &mut Decompress) -> Result<usize, String> {
    let bad = |what: &str| format!("gzip: {what}");
    let (mut at, mut done) = (0usize, 0usize);
    loop {
        let p = gzip_header(body, at)?;
        let input = body.get(p..).ok_or_else(|| bad("header past the page end"))?;
        d.reset(false);
        loop {
            let (i, o) = (d.total_in() as usize, d.total_out() as usize);
            let status = d
                .decompress(&input[i..], &mut out[done + o..], FlushDecompress::Finish)
                .map_err(|e| bad(&e.to_string()))?;
            if status == Status::StreamEnd {
                break;
            }
            if d.total_in() as usize == i && d.total_out() as usize == o {
                return Err(bad("data damaged, or longer than the page header says"));
            }
        }
        let (used, made) = (d.total_in() as usize, d.total_out() as usize);
        let t = input
            .get(used..used + 8)
            .ok_or_else(|| bad("trailer past the page end"))?;
        let mut crc = Crc::new();
        crc.update(&out[done..done + made]);
        if crc.sum() != u32::from_le_bytes([t[0], t[1], t[2], t[3]])
            || made as u32 != u32::from_le_bytes([t[4], t[5], t[6], t[7]])
        {
            return Err(bad("checksum or length does not match the data"));
        }
        done += made;
        at = p + used + 8;
        if at >= body.len() {
            return Ok(done);
        }
    }
}

/// Decompress the start of a Snappy block into `out` (cleared first), until `out` holds at
/// least `need(out)` bytes (or the whole block): levels at the start of a page are read
/// without decompressing its values. A literal is copied only as far as needed.
fn snappy_prefix(input: &[u8], out: &mut Vec<u8>, need: impl Fn(&[u8]) -> usize) -> Result<(), String> {
    let bad = || "Snappy data damaged".to_string();
    out.clear();
    let mut i = 0usize;
    // The preamble: the uncompressed length (checked by the caller).
    while *input.get(i).ok_or_else(bad)? & 0x80 != 0 {
        i += 1;
    }
    i += 1;
    // Bytes of the current literal not copied yet (they start at input[i]).
    let mut literal = 0usize;
    loop {
        let want = need(out);
        if out.len() >= want {
            return Ok(());
        }
        if literal > 0 {
            let take = literal.min(want - out.len());
            out.extend_from_slice(input.get(i..i + take).ok_or_else(bad)?);
            i += take;
            literal -= take;
            continue;
        }
        if i == input.len() {
            return Ok(());
        }
        let tag = input[i];
        i += 1;
        match tag & 3 {
            0 => {
                let mut len = usize::from(tag >> 2);
                if len >= 60 {
                    let extra = len - 59;
                    let b = input.get(i..i + extra).ok_or_else(bad)?;
                    len = b.iter().rev().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
                    i += extra;
                }
                if input.len() - i < len + 1 {
                    return Err(bad());
                }
                literal = len + 1;
            }
            kind => {
                let (len, offset) = match kind {
                    1 => {
                        let b = *input.get(i).ok_or_else(bad)?;
                        i += 1;
                        (
                            4 + usize::from((tag >> 2) & 7),
                            (usize::from(tag >> 5) << 8) | usize::from(b),
                        )
                    }
                    2 => {
                        let b = input.get(i..i + 2).ok_or_else(bad)?;
                        i += 2;
                        (
                            usize::from(tag >> 2) + 1,
                            usize::from(u16::from_le_bytes([b[0], b[1]])),
                        )
                    }
                    _ => {
                        let b = input.get(i..i + 4).ok_or_else(bad)?;
                        i += 4;
                        let o = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                        (usize::from(tag >> 2) + 1, usize::try_from(o).map_err(|_| bad())?)
                    }
                };
                if offset == 0 || offset > out.len() {
                    return Err(bad());
                }
                let from = out.len() - offset;
                for k in 0..len {
                    let b = out[from + k];
                    out.push(b);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snappy_prefixes_equal_the_whole_decompression() {
        // Literals of every length class, short and long copies, overlapping copies (runs).
        let mut data = Vec::new();
        for i in 0..3000u32 {
            data.extend_from_slice(&i.wrapping_mul(2_654_435_761).to_le_bytes()[..(i % 5) as usize]);
            if i % 7 == 0 {
                data.extend(std::iter::repeat_n((i % 251) as u8, (i % 90) as usize));
            }
            if i % 11 == 0 && data.len() > 600 {
                let from = data.len() - 600;
                let copy: Vec<u8> = data[from..from + 70].to_vec();
                data.extend_from_slice(&copy);
            }
        }
        data.extend((0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let packed = snap::raw::Encoder::new()
            .compress_vec(&data)
            .unwrap_or_else(|e| panic!("compress: {e}"));
        let mut out = Vec::new();
        for want in [0, 1, 4, 5, 63, 64, 65, 1000, 4097, data.len() / 2, data.len() - 1] {
            snappy_prefix(&packed, &mut out, |_| want).unwrap_or_else(|e| panic!("want {want}: {e}"));
            // A literal stops where the prefix ends; a copy may go a little past it.
            assert!(
                out.len() >= want && out.len() < want + 64,
                "want {want}: {}",
                out.len()
            );
            assert_eq!(out[..], data[..out.len()], "want {want}");
        }
        // Damaged input: errors, never a panic.
        for cut in (0..packed.len()).step_by(97) {
            let _ = snappy_prefix(&packed[..cut], &mut out, |_| data.len());
        }
        let mut bad = packed.clone();
        for (i, b) in bad.iter_mut().enumerate().skip(3).step_by(5) {
            *b ^= i as u8;
        }
        let _ = snappy_prefix(&bad, &mut out, |_| data.len());
        let mut inf = Inflater::default();
        let whole = inf
            .inflate(&packed, Codec::Snappy, data.len())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(whole, &data[..]);
        assert!(
            inf.inflate(&packed, Codec::Snappy, data.len() + 1).is_err(),
            "size disagrees"
        );
        // A page's levels: the 4-byte length says how far to decompress.
        let mut page = 300u32.to_le_bytes().to_vec();
        page.extend_from_slice(&data[..300]);
        page.extend_from_slice(&data);
        let packed = snap::raw::Encoder::new()
            .compress_vec(&page)
            .unwrap_or_else(|e| panic!("compress: {e}"));
        let levels = inf
            .levels_prefix(&packed, Codec::Snappy, page.len())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(levels, &page[..304]);
        let levels = inf
            .levels_prefix(&page, Codec::None, page.len())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(levels, &page[..304]);
        assert!(
            inf.levels_prefix(&page[..100], Codec::None, 100).is_err(),
            "levels past the end"
        );
    }

    /// `data` compressed as a Parquet writer of `codec` does (`frames` zstd frames or gzip
    /// members one after the other).
    fn compress(codec: Codec, data: &[u8], frames: usize) -> Vec<u8> {
        use std::io::Write;
        let parts: Vec<&[u8]> = data.chunks(data.len().div_ceil(frames).max(1)).collect();
        let mut out = Vec::new();
        for part in parts {
            match codec {
                Codec::None => out.extend_from_slice(part),
                Codec::Snappy => out.extend(
                    snap::raw::Encoder::new()
                        .compress_vec(part)
                        .unwrap_or_else(|e| panic!("{e}")),
                ),
                Codec::Zstd => out.extend(zstd::bulk::compress(part, 3).unwrap_or_else(|e| panic!("{e}"))),
                Codec::Gzip => {
                    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    e.write_all(part).unwrap_or_else(|e| panic!("{e}"));
                    out.extend(e.finish().unwrap_or_else(|e| panic!("{e}")));
                }
                Codec::Lz4Raw => out.extend(lz4_flex::block::compress(part)),
                Codec::Brotli => {
                    let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
                    w.write_all(part).unwrap_or_else(|e| panic!("{e}"));
                    out.extend(w.into_inner());
                }
            }
        }
        out
    }

    // Every codec decompresses a page whole, and a v1 page's levels alone, into the reused
    // buffer; a wrong size or damaged data is an error, never a panic.
    #[test]
    fn every_codec_decompresses_pages_and_levels() {
        let mut values = Vec::new();
        for i in 0..40_000u32 {
            let x = i.wrapping_mul(2_654_435_761) >> (i % 23);
            values.extend_from_slice(&x.to_le_bytes()[..(1 + i % 4) as usize]);
        }
        let mut page = 3000u32.to_le_bytes().to_vec();
        page.extend((0..3000u32).map(|i| u8::from(i % 9 != 4) * 255));
        page.extend_from_slice(&values);
        let mut inf = Inflater::default();
        let all = [
            Codec::None,
            Codec::Snappy,
            Codec::Zstd,
            Codec::Gzip,
            Codec::Lz4Raw,
            Codec::Brotli,
        ];
        for codec in all {
            let frames: &[usize] = match codec {
                // Sixty: the first frame or member ends before the levels do.
                Codec::Zstd | Codec::Gzip => &[1, 3, 60],
                _ => &[1],
            };
            for &frames in frames {
                let packed = compress(codec, &page, frames);
                let whole = inf
                    .inflate(&packed, codec, page.len())
                    .unwrap_or_else(|e| panic!("{codec:?}: {e}"));
                assert!(whole == &page[..], "{codec:?} x{frames}");
                let levels = inf
                    .levels_prefix(&packed, codec, page.len())
                    .unwrap_or_else(|e| panic!("{codec:?}: {e}"));
                assert!(levels == &page[..3004], "{codec:?} x{frames}");
                if matches!(codec, Codec::Snappy | Codec::Zstd | Codec::Gzip) && frames < 60 {
                    assert!(
                        inf.out.len() < 4000,
                        "{codec:?} x{frames}: only the levels decompressed"
                    );
                }
                for size in [page.len() - 1, page.len() + 1] {
                    assert!(
                        inf.inflate(&packed, codec, size).is_err(),
                        "{codec:?} x{frames}: a page header's size that disagrees"
                    );
                }
                // Damaged: cut short, bytes flipped, all zeros. Errors or (for codecs without
                // a checksum) other bytes, never a panic; gzip checks its CRC.
                for cut in (0..packed.len()).step_by(packed.len() / 50 + 1) {
                    let r = inf.inflate(&packed[..cut], codec, page.len()).map(<[u8]>::to_vec);
                    assert!(codec == Codec::None || r.is_err(), "{codec:?}: cut at {cut}");
                    let _ = inf.levels_prefix(&packed[..cut], codec, page.len());
                }
                let mut bad = packed.clone();
                for (i, b) in bad.iter_mut().enumerate().skip(20).step_by(97) {
                    *b ^= 1 << (i % 8);
                }
                let r = inf.inflate(&bad, codec, page.len()).map(<[u8]>::to_vec);
                assert!(codec != Codec::Gzip || r.is_err(), "gzip checks its CRC");
                let _ = inf.levels_prefix(&bad, codec, page.len());
                if codec != Codec::None {
                    let zeros = vec![0u8; packed.len()];
                    assert!(inf.inflate(&zeros, codec, page.len()).is_err(), "{codec:?} zeros");
                }
                // The buffer is still good for the next page.
                let again = inf.inflate(&packed, codec, page.len()).map(<[u8]>::to_vec);
                assert_eq!(again.ok().as_deref(), Some(&page[..]), "{codec:?} after damage");
            }
        }
        // A large page must not claim far more than its data can hold.
        let err = inf
            .inflate(&[0u8; 10], Codec::Zstd, 100 << 20)
            .err()
            .unwrap_or_default();
        assert!(err.contains("claims"), "{err}");
    }
}
