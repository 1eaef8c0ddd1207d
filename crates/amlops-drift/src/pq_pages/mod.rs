//! Page-level decoding of flat numeric Parquet columns.
//!
//! The Arrow reader materialises every value of a column, dictionary-encoded or not. Drift only
//! needs each sample's values in order, so this reader works on the pages themselves: values
//! of dictionary-encoded pages are counted by dictionary index (no value is materialised: a
//! chunk gives (value, count) pairs), PLAIN pages are counted or copied straight into the
//! sample. Definition levels and the data set's row mask (rows with a null in any compared
//! column are dropped) are honoured value by value.
//!
//! Column chunks are read straight from the memory-mapped file: page headers are parsed here
//! ([`crate::thrift`]) and pages (uncompressed, Snappy, zstd, gzip, LZ4_RAW or Brotli) are
//! decompressed into one reused buffer with one reused context per codec; reading only
//! definition levels (the row mask) decompresses just the start of Snappy and zstd pages. The
//! legacy LZ4 framing (Hadoop's or LZ4 frames, which the `parquet` crate tells apart by trying
//! each) goes through the crate's page reader.
//!
//! It handles the layouts writers produce for numeric and text columns: a top-level column,
//! DOUBLE, FLOAT, INT32 or INT64 (signed or unsigned integers) or UTF-8 BYTE_ARRAY, required or
//! optional, data pages v1 and v2, PLAIN and dictionary encodings, and the encodings of Parquet
//! v2 writers, rewritten as PLAIN a chunk at a time: for numbers BYTE_STREAM_SPLIT and
//! (integers) DELTA_BINARY_PACKED ([`transcode`]), for text DELTA_LENGTH_BYTE_ARRAY and
//! DELTA_BYTE_ARRAY ([`delta_text`]). Anything else (decimals, dates and times, nested columns,
//! booleans in a dictionary) is reported as unsupported and read through Arrow.

mod codec;
mod delta_text;
mod hybrid;
mod ints;
mod pages;
mod plain;
mod transcode;

use std::collections::HashMap;
use std::path::Path;

use parquet::basic::Encoding;

use crate::DriftError;
use crate::counting::TextCounter;
use crate::quality::Reading;
use crate::sample::Sample;

use delta_text::DeltaText;
use hybrid::{Hybrid, Run, decode_levels};
use pages::{Part, walk};
use plain::{Phys, add_plain, byte_array};
use transcode::{CHUNK, Delta, Split};
#[doc(hidden)]
pub use transcode::{FuzzEncoding, FuzzPage, fuzz_transcode};

pub(crate) use ints::{NOT_INT, int_distinct, read_int_categories};

fn corrupt(path: &Path, column: &str, what: &str) -> DriftError {
    DriftError::Parquet {
        path: path.to_path_buf(),
        message: format!("column `{column}`: {what} (the file looks damaged; write it again)"),
    }
}

/// What a supported column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Numbers of this physical type.
    Num(Phys),
    /// UTF-8 text (BYTE_ARRAY with the String or Enum logical type).
    Utf8,
    /// Booleans (read as categories only, in [`ints`]).
    Bool,
}

/// How a column is laid out, when this reader supports it.
#[derive(Debug, Clone, Copy)]
struct Layout {
    leaf: usize,
    kind: Kind,
    optional: bool,
}

/// Reusable decoding buffers.
#[derive(Debug, Default)]
pub(crate) struct PageScratch {
    defs: Vec<u8>,
    idx: Vec<u32>,
    dict: Vec<f64>,
    counts: Vec<u32>,
    /// Positions of a page's values that the row mask drops.
    drops: Vec<usize>,
    /// A page's PLAIN values, and a chunk's counted dictionary entries.
    plain: Vec<f64>,
    pairs: Vec<(f64, u64)>,
    /// A text dictionary: the bytes of its values and where each one ends.
    text: Vec<u8>,
    text_ends: Vec<usize>,
    /// A data page's dictionary indices at the positions the row mask drops.
    dropped_idx: Vec<u32>,
    /// A chunk of a page's values rewritten as PLAIN (BYTE_STREAM_SPLIT and DELTA encodings),
    /// and the row mask's drops among them.
    rewritten: Vec<u8>,
    chunk_drops: Vec<usize>,
    /// Nulls met in the pages read.
    pub nulls: u64,
    /// When set, the values on the rows the mask drops are recorded here (data quality).
    pub dropped: Option<Reading>,
}

/// The rows of one file that the data set's row mask keeps: a flag a row, and the rows it
/// drops (ascending), which are few: pages without nulls of their own skip those rows by
/// position instead of testing every row's flag.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileMask<'a> {
    /// A flag for each row from row `first` of the file.
    pub keep: &'a [bool],
    /// The dropped rows among those, as rows of the file.
    pub drops: &'a [usize],
    pub first: usize,
}

impl<'a> FileMask<'a> {
    /// The part of the mask covering a data page's `n` rows from `row`. Pages come in row
    /// order: `cursor` (0 for the first page) remembers where the previous page's drops ended.
    fn page(self, row: usize, n: usize, cursor: &mut usize) -> Result<FileMask<'a>, String> {
        let keep = self
            .keep
            .get(row - self.first..row - self.first + n)
            .ok_or("more rows than the file reports")?;
        let mut from = (*cursor).min(self.drops.len());
        if from > 0 && self.drops[from - 1] >= row {
            from = self.drops.partition_point(|&d| d < row);
        }
        while from < self.drops.len() && self.drops[from] < row {
            from += 1;
        }
        let mut to = from;
        while to < self.drops.len() && self.drops[to] < row + n {
            to += 1;
        }
        *cursor = to;
        Ok(FileMask {
            keep,
            drops: &self.drops[from..to],
            first: row,
        })
    }
}

/// The result of [`read_numeric`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// The column's kept values were added to the sample.
    Done,
    /// This reader does not handle the column's layout or an encoding it met (why); the sample
    /// may hold part of the column and must be cleared.
    Unsupported(String),
}

/// Add the values of `column` in `path` on the rows kept by `mask` (the file's rows; all rows
/// when there is none) to `out`.
pub(crate) fn read_numeric(
    path: &Path,
    column: &str,
    mask: Option<FileMask<'_>>,
    out: &mut Sample,
    s: &mut PageScratch,
) -> Result<Read, DriftError> {
    s.dict.clear();
    s.counts.clear();
    // The first NaN or infinity kept, if any.
    let mut nan_seen: Option<f64> = None;
    let mut cursor = 0usize;
    let r = walk(path, column, false, |l, part| match part {
        Part::Dict { buf, n } => {
            let Kind::Num(phys) = l.kind else {
                return Ok(Some("not a numeric column".into()));
            };
            nan_seen = nan_seen.or(flush(s, out));
            phys.extend(buf, n, &mut s.dict);
            s.counts.resize(n, 0);
            if out.dense.is_pending() {
                out.dense.decide(&s.dict);
            }
            Ok(None)
        }
        Part::Data {
            row,
            n,
            defs,
            data,
            encoding,
        } => {
            let Kind::Num(phys) = l.kind else {
                return Ok(Some("not a numeric column".into()));
            };
            let page_mask = mask.map(|m| m.page(row, n, &mut cursor)).transpose()?;
            // The first PLAIN page of a sample decides dense counting; PLAIN values are then
            // counted (or kept) a cache-sized run at a time, straight from the page.
            let mut probe = std::mem::take(&mut s.plain);
            let mut dropped = s.dropped.take();
            let r = data_page(
                s,
                n,
                defs,
                page_mask,
                data,
                encoding,
                l.kind,
                |data, present, drops| {
                    if data.len() < present * phys.width() {
                        return Err("PLAIN values past the page end".into());
                    }
                    if let Some(d) = dropped.as_mut() {
                        for &i in drops {
                            phys.extend(&data[i * phys.width()..], 1, &mut d.numbers);
                        }
                    }
                    if out.dense.is_pending() && present > drops.len() {
                        probe.clear();
                        phys.extend_without(data, present, drops, &mut probe);
                        out.dense.decide(&probe);
                    }
                    nan_seen = nan_seen.or(add_plain(out, phys, data, present, drops));
                    Ok(())
                },
            );
            s.plain = probe;
            if let Some(d) = dropped.as_mut() {
                d.numbers
                    .extend(s.dropped_idx.iter().filter_map(|&i| s.dict.get(i as usize)));
            }
            s.dropped = dropped;
            r
        }
        Part::ChunkEnd => {
            nan_seen = nan_seen.or(flush(s, out));
            Ok(None)
        }
    })?;
    if let Some(v) = nan_seen {
        return Err(not_finite(path, column, v));
    }
    Ok(r)
}

/// Count the values of the UTF-8 column `column` in `path` on the rows kept by `mask` (the
/// file's rows; all rows when there is none) into `out`, by dictionary index where pages are
/// dictionary-encoded.
pub(crate) fn read_categories(
    path: &Path,
    column: &str,
    mask: Option<FileMask<'_>>,
    out: &mut HashMap<String, u64>,
    s: &mut PageScratch,
) -> Result<Read, DriftError> {
    s.counts.clear();
    s.text.clear();
    s.text_ends.clear();
    let mut cursor = 0usize;
    // PLAIN values are counted by their bytes (short ones as one integer key, see `TextCounter`),
    // and moved into `out` once the column is read.
    let mut plain = TextCounter::default();
    let read = walk(path, column, false, |l, part| {
        if l.kind != Kind::Utf8 {
            return Ok(Some("not a text column".into()));
        }
        match part {
            Part::Dict { buf, n } => {
                flush_text(s, out)?;
                let mut at = 0usize;
                for _ in 0..n {
                    let v = byte_array(buf, &mut at)?;
                    s.text.extend_from_slice(v);
                    s.text_ends.push(s.text.len());
                }
                s.counts.resize(n, 0);
                Ok(None)
            }
            Part::Data {
                row,
                n,
                defs,
                data,
                encoding,
            } => {
                let page_mask = mask.map(|m| m.page(row, n, &mut cursor)).transpose()?;
                let counted = &mut plain;
                let mut dropped = s.dropped.take();
                let r = data_page(
                    s,
                    n,
                    defs,
                    page_mask,
                    data,
                    encoding,
                    l.kind,
                    |data, present, drops| {
                        let mut at = 0usize;
                        let mut next = drops.iter().copied().peekable();
                        for i in 0..present {
                            let v = byte_array(data, &mut at)?;
                            if next.next_if_eq(&i).is_some() {
                                if let Some(d) = dropped.as_mut() {
                                    match std::str::from_utf8(v) {
                                        Ok(text) => d.category(text),
                                        Err(_) => d.not_text += 1,
                                    }
                                }
                            } else {
                                // Checked to be UTF-8 once a distinct value, after the read.
                                counted.count(v);
                            }
                        }
                        Ok(())
                    },
                );
                if let Some(d) = dropped.as_mut() {
                    for &i in &s.dropped_idx {
                        let i = i as usize;
                        let start = if i == 0 {
                            Some(0)
                        } else {
                            s.text_ends.get(i - 1).copied()
                        };
                        let value = start.zip(s.text_ends.get(i)).and_then(|(a, &b)| s.text.get(a..b));
                        match value.map(std::str::from_utf8) {
                            Some(Ok(text)) => d.category(text),
                            _ => d.not_text += 1,
                        }
                    }
                }
                s.dropped = dropped;
                r
            }
            Part::ChunkEnd => {
                flush_text(s, out)?;
                Ok(None)
            }
        }
    })?;
    if read == Read::Done {
        for (k, n) in plain.into_counts() {
            let text =
                String::from_utf8(k).map_err(|_| corrupt(path, column, "a value that is not UTF-8"))?;
            *out.entry(text).or_insert(0) += n;
        }
    }
    Ok(read)
}

/// Move a chunk's text dictionary counts into `out`.
fn flush_text(s: &mut PageScratch, out: &mut HashMap<String, u64>) -> Result<(), String> {
    let mut start = 0usize;
    for (&end, &c) in s.text_ends.iter().zip(&s.counts) {
        if c > 0 {
            let text = std::str::from_utf8(&s.text[start..end]).map_err(|_| "a value that is not UTF-8")?;
            match out.get_mut(text) {
                Some(n) => *n += u64::from(c),
                None => {
                    out.insert(text.to_string(), u64::from(c));
                }
            }
        }
        start = end;
    }
    s.text.clear();
    s.text_ends.clear();
    s.counts.clear();
    Ok(())
}

/// Clear `mask[row]` for every row of the file where `column` is null.
pub(crate) fn null_rows(path: &Path, column: &str, mask: &mut [bool]) -> Result<Read, DriftError> {
    let mut idx = Vec::new();
    walk(path, column, true, |_, part| {
        if let Part::Data { row, n, defs, .. } = part
            && let Some(defs) = defs
        {
            let m = mask
                .get_mut(row..row + n)
                .ok_or("more rows than the file reports")?;
            // Runs of present values (level 1) leave the mask as it is.
            let mut hy = Hybrid::new(defs, 1);
            let mut done = 0usize;
            while done < n {
                match hy.next_run(n - done, &mut idx)? {
                    Run::Repeat(v, len) => {
                        if v != 1 {
                            m[done..done + len].fill(false);
                        }
                        done += len;
                    }
                    Run::Packed(len) => {
                        for (k, &d) in m[done..done + len].iter_mut().zip(&idx) {
                            *k &= d == 1;
                        }
                        done += len;
                    }
                }
            }
        }
        Ok(None)
    })
}

/// Move a chunk's dictionary counts into the sample (its dense counts, else its pairs); true
/// the first NaN or infinity counted, if any.
fn flush(s: &mut PageScratch, out: &mut Sample) -> Option<f64> {
    let mut nan = None;
    s.pairs.clear();
    for (&x, &c) in s.dict.iter().zip(&s.counts) {
        if c > 0 {
            if !x.is_finite() {
                nan = nan.or(Some(x));
            }
            s.pairs.push((x, u64::from(c)));
        }
    }
    if !(out.dense.is_on() && out.dense.add_pairs(&s.pairs)) {
        out.dense.demote(&mut out.values, &mut out.pairs);
        out.pairs.extend_from_slice(&s.pairs);
    }
    s.dict.clear();
    s.counts.clear();
    nan
}

/// The error for a NaN or an infinity `v` in a numerical column: NaN is a missing value
/// written the wrong way; an infinity is rejected as the CSV reader rejects `inf`.
pub(crate) fn not_finite(path: &Path, column: &str, v: f64) -> DriftError {
    if v.is_nan() {
        DriftError::WrongType {
            path: path.to_path_buf(),
            line: None,
            column: column.to_string(),
            message: "holds NaN values; write missing values as nulls".into(),
        }
    } else {
        DriftError::not_a_number(path, None, column, &v.to_string(), "floating-point numbers")
    }
}

/// Decode one data page of `n` rows: dictionary indices are counted into `s.counts`, PLAIN
/// values go to `plain(data, present, drops)` (the positions of the present values that the
/// row mask drops). Numbers in BYTE_STREAM_SPLIT or (integers) DELTA_BINARY_PACKED pages, and
/// text in DELTA_LENGTH_BYTE_ARRAY or DELTA_BYTE_ARRAY pages, go to `plain` too, rewritten as
/// PLAIN up to [`CHUNK`] values at a time. `Ok(Some(why))`: unsupported; `Err(what)`: damaged.
#[allow(clippy::too_many_arguments)]
fn data_page(
    s: &mut PageScratch,
    n: usize,
    defs: Option<&[u8]>,
    mask: Option<FileMask<'_>>,
    data: &[u8],
    encoding: Encoding,
    kind: Kind,
    mut plain: impl FnMut(&[u8], usize, &[usize]) -> Result<(), String>,
) -> Result<Option<String>, String> {
    // How many of the page's values are present (not null).
    let mut present = n;
    let mut nulls = false;
    if let Some(defs) = defs {
        s.defs.clear();
        s.defs.resize(n, 0);
        decode_levels(defs, &mut s.defs)?;
        present = s.defs.iter().filter(|&&d| d == 1).count();
        nulls = present < n;
    }
    s.nulls += (n - present) as u64;
    s.dropped_idx.clear();
    // Positions of the present values that the row mask drops.
    s.drops.clear();
    match (mask, nulls) {
        (None, false) => {}
        (None, true) => {
            return Err("nulls that the row group statistics do not report".into());
        }
        // Without nulls in the page, value positions are row positions.
        (Some(m), false) => s.drops.extend(m.drops.iter().map(|&r| r - m.first)),
        // A dropped row whose value is present: its position is its row less the nulls
        // before it.
        (Some(m), true) => {
            let (mut nulls, mut counted) = (0usize, 0usize);
            for &r in m.drops {
                let r = r - m.first;
                nulls += s.defs[counted..r]
                    .iter()
                    .map(|&d| usize::from(d == 0))
                    .sum::<usize>();
                counted = r;
                if s.defs[r] == 1 {
                    s.drops.push(r - nulls);
                }
            }
        }
    }
    match (encoding, kind) {
        (Encoding::PLAIN, _) => {
            plain(data, present, &s.drops)?;
            Ok(None)
        }
        (Encoding::BYTE_STREAM_SPLIT, Kind::Num(phys)) => {
            let mut split = Split::new(data, present, phys.width())?;
            in_chunks(
                present,
                &s.drops,
                &mut s.rewritten,
                &mut s.chunk_drops,
                plain,
                |k, out| {
                    split.read(k, out);
                    Ok(k)
                },
            )?;
            Ok(None)
        }
        (Encoding::DELTA_BINARY_PACKED, Kind::Num(phys)) if phys.is_integer() => {
            let mut delta = Delta::new(data, present, phys.width())?;
            in_chunks(
                present,
                &s.drops,
                &mut s.rewritten,
                &mut s.chunk_drops,
                plain,
                |k, out| delta.read(k, out).map(|()| k),
            )?;
            Ok(None)
        }
        (Encoding::DELTA_LENGTH_BYTE_ARRAY | Encoding::DELTA_BYTE_ARRAY, Kind::Utf8) => {
            let prefixed = encoding == Encoding::DELTA_BYTE_ARRAY;
            let mut text = DeltaText::new(data, present, prefixed)?;
            in_chunks(
                present,
                &s.drops,
                &mut s.rewritten,
                &mut s.chunk_drops,
                plain,
                |k, out| text.read(k, out),
            )?;
            Ok(None)
        }
        (Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY, _) => {
            if s.counts.is_empty() && present > 0 {
                return Err("dictionary-encoded page without a dictionary".into());
            }
            let (&bw, runs) = data.split_first().ok_or("empty dictionary-encoded page")?;
            if bw > 32 {
                return Err(format!("dictionary index width {bw}"));
            }
            let dict_len = s.counts.len();
            // Rows the mask drops are few: count every index, then take the dropped ones back.
            let (counts, drops, dropped_idx) = (s.counts.as_mut_slice(), &s.drops, &mut s.dropped_idx);
            let mut d = 0usize;
            let mut hy = Hybrid::new(runs, u32::from(bw));
            let mut done = 0usize;
            while done < present {
                let left = present - done;
                match hy.next_run(left, &mut s.idx)? {
                    Run::Repeat(v, len) => {
                        let v = v as usize;
                        if v >= dict_len {
                            return Err("dictionary index out of range".into());
                        }
                        let first = d;
                        while d < drops.len() && drops[d] < done + len {
                            d += 1;
                        }
                        dropped_idx.extend(std::iter::repeat_n(v as u32, d - first));
                        counts[v] += (len - (d - first)) as u32;
                        done += len;
                    }
                    Run::Packed(len) => {
                        let idx = &s.idx[..len];
                        if idx.iter().copied().max().unwrap_or(0) as usize >= dict_len {
                            return Err("dictionary index out of range".into());
                        }
                        for &v in idx {
                            counts[v as usize] += 1;
                        }
                        while d < drops.len() && drops[d] < done + len {
                            counts[idx[drops[d] - done] as usize] -= 1;
                            dropped_idx.push(idx[drops[d] - done]);
                            d += 1;
                        }
                        done += len;
                    }
                }
            }
            Ok(None)
        }
        (other, _) => Ok(Some(format!("encoding {other}"))),
    }
}

/// Hand `present` values to `plain` up to [`CHUNK`] at a time, each chunk's PLAIN bytes written
/// into `buf` by `fill(k, buf)` (which returns how many it wrote, at least one), with the row
/// mask's `drops` among them (as positions in the chunk).
fn in_chunks(
    present: usize,
    drops: &[usize],
    buf: &mut Vec<u8>,
    chunk_drops: &mut Vec<usize>,
    mut plain: impl FnMut(&[u8], usize, &[usize]) -> Result<(), String>,
    mut fill: impl FnMut(usize, &mut Vec<u8>) -> Result<usize, String>,
) -> Result<(), String> {
    let mut d = 0usize;
    let mut from = 0usize;
    while from < present {
        let k = fill((present - from).min(CHUNK), buf)?;
        if k == 0 {
            return Err("the page's values end before its count".into());
        }
        chunk_drops.clear();
        while d < drops.len() && drops[d] < from + k {
            chunk_drops.push(drops[d] - from);
            d += 1;
        }
        plain(buf, k, chunk_drops)?;
        from += k;
    }
    Ok(())
}
