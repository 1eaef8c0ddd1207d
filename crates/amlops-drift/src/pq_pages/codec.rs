//! Page decompression into one reused buffer, whole or only as far as a page's levels go.

/// The most a Snappy block expands (a 3-byte copy tag yields 64 bytes), rounded up.
const SNAPPY_MAX_RATIO: usize = 32;

/// The first `want` bytes (at most `size`) of a page body that decompresses to `size` bytes:
/// the body itself when uncompressed, else decompressed into `out` (reused from page to page;
/// only as far as `want` when that is less than the whole).
pub(super) fn inflate<'a>(
    body: &'a [u8],
    snappy: bool,
    size: usize,
    out: &'a mut Vec<u8>,
) -> Result<&'a [u8], String> {
    if !snappy {
        if body.len() != size {
            return Err("uncompressed page of the wrong size".into());
        }
        return Ok(body);
    }
    let len = snap::raw::decompress_len(body).map_err(|e| format!("Snappy: {e}"))?;
    if len != size {
        return Err("Snappy page of the wrong size".into());
    }
    // A Snappy block expands at most about 21 times (a 3-byte copy of 64 bytes): a page that
    // claims more is damaged, and its buffer is not allocated.
    if size > body.len().saturating_mul(SNAPPY_MAX_RATIO) {
        return Err("Snappy page claims more bytes than its data can hold".into());
    }
    if out.len() < size {
        out.resize(size, 0);
    }
    snap::raw::Decoder::new()
        .decompress(body, &mut out[..size])
        .map_err(|e| format!("Snappy: {e}"))?;
    Ok(&out[..size])
}

/// The start of a v1 data page body (decompressing to `size` bytes) that holds its
/// definition levels: their 4-byte length, then the levels.
pub(super) fn levels_prefix<'a>(
    body: &'a [u8],
    snappy: bool,
    size: usize,
    out: &'a mut Vec<u8>,
) -> Result<&'a [u8], String> {
    let len = |b: &[u8]| {
        b.get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let page: &[u8] = if snappy {
        let whole = snap::raw::decompress_len(body).map_err(|e| format!("Snappy: {e}"))?;
        if whole != size {
            return Err("Snappy page of the wrong size".into());
        }
        snappy_prefix(body, out, |o| len(o).map_or(4, |n| n.saturating_add(4)))?;
        out
    } else {
        body
    };
    let n = len(page).ok_or("data page too short")?;
    page.get(..n.saturating_add(4))
        .ok_or_else(|| "definition levels past the page end".to_string())
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
        let whole = inflate(&packed, true, data.len(), &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(whole, &data[..]);
        assert!(
            inflate(&packed, true, data.len() + 1, &mut out).is_err(),
            "size disagrees"
        );
        // A page's levels: the 4-byte length says how far to decompress.
        let mut page = 300u32.to_le_bytes().to_vec();
        page.extend_from_slice(&data[..300]);
        page.extend_from_slice(&data);
        let packed = snap::raw::Encoder::new()
            .compress_vec(&page)
            .unwrap_or_else(|e| panic!("compress: {e}"));
        let levels = levels_prefix(&packed, true, page.len(), &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(levels, &page[..304]);
        let levels = levels_prefix(&page, false, page.len(), &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(levels, &page[..304]);
        assert!(
            levels_prefix(&page[..100], false, 100, &mut out).is_err(),
            "levels past the end"
        );
    }
}
