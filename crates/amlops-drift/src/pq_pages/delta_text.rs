//! DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY text pages rewritten as PLAIN BYTE_ARRAY
//! values (a 4-byte length, then the bytes), a chunk at a time, for the category counter.
//!
//! Parquet v2 writers (parquet-mr, Spark and DuckDB with v2 pages) write text these ways once a
//! column's dictionary overflows: the high-cardinality columns where reading through Arrow, a
//! string array of the whole column, costs most. The lengths are DELTA_BINARY_PACKED
//! ([`Delta`]); DELTA_BYTE_ARRAY stores each value as the length of the prefix it shares with
//! the value before and the rest (its suffix, DELTA_LENGTH_BYTE_ARRAY).
//!
//! A prefix repeats bytes already read, so a few bytes can stand for a value of the page's
//! size, again and again: the values a page expands to may take at most [`MAX_TEXT_EXPANSION`]
//! times the page's bytes once they take more than [`LARGE_TEXT`], and a chunk ends once its
//! PLAIN bytes pass [`CHUNK_BYTES`].

use super::transcode::Delta;

/// Bytes of PLAIN values past which a chunk ends early.
pub(super) const CHUNK_BYTES: usize = 4 << 20;
/// Expanded text bytes of a page above which [`MAX_TEXT_EXPANSION`] applies.
const LARGE_TEXT: usize = 64 << 20;
/// How many times its own size a DELTA_BYTE_ARRAY page may expand to (as the codecs' bound).
const MAX_TEXT_EXPANSION: usize = 1100;

/// The parts of a DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY page of `present` values.
#[derive(Debug)]
pub(super) struct DeltaText<'a> {
    /// DELTA_BYTE_ARRAY: the prefix lengths.
    prefixes: Option<Delta<'a>>,
    /// The suffix (DELTA_LENGTH_BYTE_ARRAY: the value) lengths, and their bytes.
    lengths: Delta<'a>,
    bytes: &'a [u8],
    at: usize,
    /// The value before (DELTA_BYTE_ARRAY).
    prev: Vec<u8>,
    page: usize,
    expanded: usize,
    /// A chunk's lengths.
    lens: Vec<u64>,
    pres: Vec<u64>,
}

impl<'a> DeltaText<'a> {
    /// `prefixed`: DELTA_BYTE_ARRAY, else DELTA_LENGTH_BYTE_ARRAY.
    pub(super) fn new(data: &'a [u8], present: usize, prefixed: bool) -> Result<Self, String> {
        let mut rest = data;
        let mut prefixes = None;
        if prefixed && present > 0 {
            prefixes = Some(Delta::new(rest, present, 4)?);
            let end = Delta::new(rest, present, 4)?.end()?;
            rest = &rest[end..];
        }
        let lengths = Delta::new(rest, present, 4)?;
        let end = if present > 0 {
            Delta::new(rest, present, 4)?.end()?
        } else {
            0
        };
        Ok(DeltaText {
            prefixes,
            lengths,
            bytes: &rest[end..],
            at: 0,
            prev: Vec::new(),
            page: data.len(),
            expanded: 0,
            lens: Vec::new(),
            pres: Vec::new(),
        })
    }

    /// The next values, up to `k` of them (at least one when any are left) and no more once
    /// their PLAIN bytes pass [`CHUNK_BYTES`], as PLAIN BYTE_ARRAY values in `out`. How many.
    pub(super) fn read(&mut self, k: usize, out: &mut Vec<u8>) -> Result<usize, String> {
        out.clear();
        let len = |v: u64, what: &str| {
            let v = v as u32 as i32;
            usize::try_from(v).map_err(|_| format!("delta-encoded text: {what} {v}"))
        };
        let mut n = 0usize;
        while n < k && out.len() < CHUNK_BYTES {
            if self.lens.is_empty() {
                if self.lengths.left() == 0 {
                    break;
                }
                self.refill((k - n).min(4096))?;
            }
            let Some(l) = self.lens.pop() else { break };
            let l = len(l, "value length")?;
            let suffix = self
                .bytes
                .get(self.at..self.at.saturating_add(l))
                .ok_or("delta-encoded text: values past the page end")?;
            self.at += l;
            let value: &[u8] = match self.pres.pop() {
                Some(p) => {
                    let p = len(p, "prefix length")?;
                    if p > self.prev.len() {
                        return Err(format!(
                            "DELTA_BYTE_ARRAY prefix of {p} bytes after a value of {}",
                            self.prev.len()
                        ));
                    }
                    self.prev.truncate(p);
                    self.prev.extend_from_slice(suffix);
                    &self.prev
                }
                None => suffix,
            };
            self.expanded += value.len();
            if self.expanded > LARGE_TEXT && self.expanded / MAX_TEXT_EXPANSION > self.page {
                return Err(format!(
                    "DELTA_BYTE_ARRAY page of {} bytes expands to more than {MAX_TEXT_EXPANSION} times its size",
                    self.page
                ));
            }
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
            n += 1;
        }
        Ok(n)
    }

    /// The next `batch` lengths (and prefix lengths), in reverse order to be popped.
    fn refill(&mut self, batch: usize) -> Result<(), String> {
        let lens = &mut self.lens;
        self.lengths.each(batch, |v| lens.push(v))?;
        lens.reverse();
        if let Some(p) = &mut self.prefixes {
            let pres = &mut self.pres;
            p.each(batch, |v| pres.push(v))?;
            pres.reverse();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pq_pages::transcode::encode;

    /// A DELTA_LENGTH_BYTE_ARRAY page (or, with `prefixed`, DELTA_BYTE_ARRAY) of `values`.
    fn page(values: &[&[u8]], prefixed: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut suffixes: Vec<&[u8]> = Vec::new();
        if prefixed {
            let mut prev: &[u8] = &[];
            let mut prefixes = Vec::new();
            for v in values {
                let p = prev.iter().zip(v.iter()).take_while(|(a, b)| a == b).count();
                prefixes.push(p as i64);
                suffixes.push(&v[p..]);
                prev = v;
            }
            out.extend(encode(&prefixes, 4, 128, 4, true));
        } else {
            suffixes = values.to_vec();
        }
        let lengths: Vec<i64> = suffixes.iter().map(|s| s.len() as i64).collect();
        out.extend(encode(&lengths, 4, 128, 4, true));
        for s in suffixes {
            out.extend_from_slice(s);
        }
        out
    }

    /// The values of a page read `chunk` at a time, as PLAIN BYTE_ARRAY values are parsed.
    fn read_all(data: &[u8], n: usize, prefixed: bool, chunk: usize) -> Result<Vec<Vec<u8>>, String> {
        let mut t = DeltaText::new(data, n, prefixed)?;
        let (mut buf, mut all) = (Vec::new(), Vec::new());
        while all.len() < n {
            let k = t.read(chunk.min(n - all.len()), &mut buf)?;
            if k == 0 {
                return Err("no values".into());
            }
            let mut at = 0usize;
            for _ in 0..k {
                all.push(super::super::plain::byte_array(&buf, &mut at)?.to_vec());
            }
            assert_eq!(at, buf.len(), "a chunk holds its values only");
        }
        Ok(all)
    }

    #[test]
    fn delta_text_pages_give_their_values() {
        let mut next = crate::test_support::xorshift(0x2545_f491_4f6c_dd1du64);
        let words = [
            "",
            "a",
            "ab",
            "abc",
            "abd",
            "b",
            "zürich",
            "zürichsee",
            "x,y",
            "\"q\"",
        ];
        for n in [1usize, 2, 127, 129, 1000, 5000] {
            // Sorted ids (long shared prefixes), and random words (short ones).
            let ids: Vec<Vec<u8>> = (0..n)
                .map(|i| format!("customer-{:08}", i * 7).into_bytes())
                .collect();
            let mixed: Vec<Vec<u8>> = (0..n)
                .map(|_| words[(next() % words.len() as u64) as usize].as_bytes().to_vec())
                .collect();
            for values in [&ids, &mixed] {
                let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
                for prefixed in [false, true] {
                    let data = page(&refs, prefixed);
                    for chunk in [CHUNK_BYTES, 1, 100] {
                        let got = read_all(&data, n, prefixed, chunk);
                        assert_eq!(
                            got.as_ref(),
                            Ok(values),
                            "n {n}, prefixed {prefixed}, chunk {chunk}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_chunk_ends_once_its_bytes_pass_the_limit() {
        let long = vec![b'x'; CHUNK_BYTES / 3];
        let values: Vec<&[u8]> = vec![&long; 10];
        let data = page(&values, true);
        let mut t = DeltaText::new(&data, 10, true).unwrap_or_else(|e| panic!("{e}"));
        let mut buf = Vec::new();
        let k = t.read(10, &mut buf).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(k, 3, "three values pass the chunk's bytes");
        assert_eq!(t.read(10, &mut buf), Ok(3));
        assert_eq!(t.read(10, &mut buf), Ok(3));
        assert_eq!(t.read(10, &mut buf), Ok(1));
    }

    #[test]
    fn damaged_text_pages_are_errors() {
        let values: Vec<&[u8]> = vec![b"alpha", b"alpine", b"beta"];
        let data = page(&values, true);
        let err = |data: &[u8], n: usize, prefixed: bool| {
            read_all(data, n, prefixed, 100).err().unwrap_or_default()
        };
        assert!(err(&data[..data.len() - 2], 3, true).contains("past the page end"));
        assert!(err(&data, 4, true).contains("counts 3 values, the page holds 4"));
        // A first value claiming a prefix of the (empty) value before it.
        let bad = [
            encode(&[3, 0], 4, 128, 1, true),
            encode(&[1, 1], 4, 128, 1, true),
            b"xy".to_vec(),
        ]
        .concat();
        assert!(err(&bad, 2, true).contains("prefix of 3 bytes after a value of 0"));
        // A negative length.
        let bad = [encode(&[-1], 4, 128, 1, true), b"x".to_vec()].concat();
        assert!(err(&bad, 1, false).contains("value length -1"));
        // A value repeated as the prefix of the next, over and over: a page of a few KB that
        // expands past 1,100 times its size is refused, not materialised.
        let n = 40_000usize;
        let mut prefixes = vec![0i64];
        prefixes.extend(std::iter::repeat_n(2000, n - 1));
        let mut lengths = vec![2000i64];
        lengths.extend(std::iter::repeat_n(0, n - 1));
        let bomb = [
            encode(&prefixes, 4, 128, 4, true),
            encode(&lengths, 4, 128, 4, true),
            vec![b'z'; 2000],
        ]
        .concat();
        assert!(bomb.len() < 8000, "{}", bomb.len());
        let e = err(&bomb, n, true);
        assert!(e.contains("expands to more than 1100 times its size"), "{e}");
    }
}
