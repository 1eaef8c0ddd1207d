//! Page-level decoding of flat numeric Parquet columns.
//!
//! The Arrow reader materialises every value of a column, dictionary-encoded or not. Drift only
//! needs each sample's values in order, so this reader works on the pages themselves: values
//! of dictionary-encoded pages are counted by dictionary index (no value is materialised: a
//! chunk gives (value, count) pairs), PLAIN pages are counted or copied straight into the
//! sample. Definition levels and the data set's row mask (rows with a null in any compared
//! column are dropped) are honoured value by value.
//!
//! Uncompressed and Snappy column chunks (what pyarrow, Spark and pandas write by default) are
//! read straight from the memory-mapped file: page headers are parsed here ([`crate::thrift`])
//! and pages are decompressed into one reused buffer; reading only definition levels (the row
//! mask) decompresses just the start of each page. Other codecs go through the `parquet`
//! crate's page reader.
//!
//! It handles the layouts writers produce for numeric and text columns: a top-level column,
//! DOUBLE, FLOAT, INT32 or INT64 (signed integers only) or UTF-8 BYTE_ARRAY, required or
//! optional, data pages v1 and v2, PLAIN and dictionary encodings. Anything else (decimals,
//! unsigned integers, nested columns, BYTE_STREAM_SPLIT or DELTA encodings) is reported as
//! unsupported and read through Arrow.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use bytes::Bytes;
use parquet::basic::{Compression, ConvertedType, Encoding, LogicalType, Type as Physical};
use parquet::column::page::Page;
use parquet::file::reader::{FileReader, SerializedFileReader};

use crate::DriftError;
use crate::sample::Sample;
use crate::thrift::{PageType, page_header};

fn corrupt(path: &Path, column: &str, what: &str) -> DriftError {
    DriftError::Parquet {
        path: path.to_path_buf(),
        message: format!("column `{column}`: {what} (the file looks damaged; write it again)"),
    }
}

/// Physical value type of a supported column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phys {
    F64,
    F32,
    I32,
    I64,
}

impl Phys {
    fn width(self) -> usize {
        match self {
            Phys::F64 | Phys::I64 => 8,
            Phys::F32 | Phys::I32 => 4,
        }
    }

    /// Decode `out.len()` PLAIN values from `bytes` (which holds at least that many).
    fn decode(self, bytes: &[u8], out: &mut [f64]) {
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
        }
    }

    /// Append `n` PLAIN values from `bytes` (which holds at least `n * width`).
    fn extend(self, bytes: &[u8], n: usize, out: &mut Vec<f64>) {
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
        }
    }
}

/// What a supported column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Numbers of this physical type.
    Num(Phys),
    /// UTF-8 text (BYTE_ARRAY with the String or Enum logical type).
    Utf8,
}

impl Phys {
    /// Append the `n` PLAIN values of `bytes` but those at the positions `drops` (ascending,
    /// below `n`): the runs between them are copied whole.
    fn extend_without(self, bytes: &[u8], n: usize, drops: &[usize], out: &mut Vec<f64>) {
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

/// How a column is laid out, when this reader supports it.
#[derive(Debug, Clone, Copy)]
struct Layout {
    leaf: usize,
    kind: Kind,
    optional: bool,
}

/// The file's bytes, memory-mapped: pages are then decompressed straight from the page cache
/// (no read copies; that saves about a tenth of the CPU time on large files).
fn map(path: &Path) -> Result<Bytes, DriftError> {
    let file = File::open(path).map_err(|e| DriftError::io(path, e))?;
    // SAFETY: the map is read-only and private to this process, and no `&mut` to it exists.
    // As with every mapped read, a file truncated by another process while it is read can
    // end the process with SIGBUS; drift inputs are files the pipeline owns.
    #[allow(unsafe_code)]
    let mapped = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| DriftError::io(path, e))?;
    Ok(Bytes::from_owner(mapped))
}

fn layout(reader: &SerializedFileReader<Bytes>, column: &str) -> Option<Layout> {
    let schema = reader.metadata().file_metadata().schema_descr();
    let leaf = (0..schema.num_columns()).find(|&i| {
        let c = schema.column(i);
        let parts = c.path().parts();
        parts.len() == 1 && parts[0] == column
    })?;
    let d = schema.column(leaf);
    if d.max_rep_level() != 0 || d.max_def_level() > 1 {
        return None;
    }
    let logical = d.logical_type_ref();
    let kind = match d.physical_type() {
        Physical::DOUBLE => Kind::Num(Phys::F64),
        Physical::FLOAT => Kind::Num(Phys::F32),
        Physical::INT32 => Kind::Num(Phys::I32),
        Physical::INT64 => Kind::Num(Phys::I64),
        Physical::BYTE_ARRAY
            if matches!(logical, Some(LogicalType::String | LogicalType::Enum))
                || matches!(d.converted_type(), ConvertedType::UTF8 | ConvertedType::ENUM) =>
        {
            Kind::Utf8
        }
        _ => return None,
    };
    let supported = match kind {
        Kind::Utf8 => true,
        Kind::Num(_) => {
            matches!(
                d.converted_type(),
                ConvertedType::NONE
                    | ConvertedType::INT_8
                    | ConvertedType::INT_16
                    | ConvertedType::INT_32
                    | ConvertedType::INT_64
            ) && match logical {
                None => true,
                Some(LogicalType::Integer { is_signed, .. }) => *is_signed,
                Some(_) => false,
            }
        }
    };
    supported.then_some(Layout {
        leaf,
        kind,
        optional: d.max_def_level() == 1,
    })
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

/// A page handed to a [`walk`] callback.
enum Part<'a> {
    /// A dictionary page: `n` PLAIN values.
    Dict { buf: &'a [u8], n: usize },
    /// A data page of `n` rows starting at row `row` of the file.
    Data {
        row: usize,
        n: usize,
        defs: Option<&'a [u8]>,
        data: &'a [u8],
        encoding: Encoding,
    },
    /// The end of a column chunk (row group).
    ChunkEnd,
}

/// Walk the pages of `column` in `path`. The callback returns `Some(why)` to stop as
/// unsupported; its `Err(what)` is a damaged-file error. With `levels_only`, data pages carry
/// their definition levels and no values (v1 pages are decompressed only as far as their
/// levels go), and dictionary pages are skipped.
fn walk(
    path: &Path,
    column: &str,
    levels_only: bool,
    mut f: impl FnMut(Layout, Part<'_>) -> Result<Option<String>, String>,
) -> Result<Read, DriftError> {
    let pq = |e: parquet::errors::ParquetError| DriftError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let bad = |what: &str| corrupt(path, column, what);
    let bytes = map(path)?;
    let reader = SerializedFileReader::new(bytes.clone()).map_err(pq)?;
    let Some(l) = layout(&reader, column) else {
        return Ok(Read::Unsupported("column layout".into()));
    };
    let mut inflated = Vec::new();
    let mut pos = 0usize;
    for rg in 0..reader.num_row_groups() {
        let meta = reader.metadata().row_group(rg);
        let rows = usize::try_from(meta.num_rows()).unwrap_or(0);
        let mut seen = 0usize;
        // Each data page is numbered (its first row in the file) and its rows checked against
        // the row group's before it is handed on.
        let mut each = |mut part: Part<'_>| -> Result<Option<String>, String> {
            if let Part::Data { row, n, .. } = &mut part {
                if seen + *n > rows {
                    return Err("more values than the row group has rows".into());
                }
                *row = pos + seen;
                seen += *n;
            }
            f(l, part)
        };
        let cc = meta.column(l.leaf);
        let codec = match cc.compression() {
            Compression::UNCOMPRESSED => Some(false),
            Compression::SNAPPY => Some(true),
            _ => None,
        };
        let stopped = match codec {
            Some(snappy) => {
                let (start, len) = cc.byte_range();
                let chunk = usize::try_from(start)
                    .ok()
                    .zip(usize::try_from(len).ok())
                    .and_then(|(s, n)| bytes.get(s..s.checked_add(n)?))
                    .ok_or_else(|| bad("column chunk past the end of the file"))?;
                raw_pages(chunk, snappy, l, levels_only, &mut inflated, &mut each)
                    .map_err(|what| bad(&what))?
            }
            None => {
                // The crate sizes its decompression buffer from each page header: check them
                // against the chunk's bytes first.
                let (start, len) = cc.byte_range();
                let chunk = usize::try_from(start)
                    .ok()
                    .zip(usize::try_from(len).ok())
                    .and_then(|(s, n)| bytes.get(s..s.checked_add(n)?))
                    .ok_or_else(|| bad("column chunk past the end of the file"))?;
                check_page_sizes(chunk).map_err(|what| bad(&what))?;
                let mut pages = reader
                    .get_row_group(rg)
                    .and_then(|g| g.get_column_page_reader(l.leaf))
                    .map_err(pq)?;
                let mut stopped = None;
                while let Some(page) = pages.get_next_page().map_err(pq)? {
                    let part = match crate_page(&page, l).map_err(|what| bad(&what))? {
                        Ok(part) => part,
                        Err(why) => return Ok(Read::Unsupported(why)),
                    };
                    if let Some(why) = each(part).map_err(|what| bad(&what))? {
                        stopped = Some(why);
                        break;
                    }
                }
                stopped
            }
        };
        if let Some(why) = stopped {
            return Ok(Read::Unsupported(why));
        }
        if seen != rows {
            return Err(bad("fewer values than the row group has rows"));
        }
        if let Some(why) = f(l, Part::ChunkEnd).map_err(|what| bad(&what))? {
            return Ok(Read::Unsupported(why));
        }
        pos += rows;
    }
    Ok(Read::Done)
}

/// How many times its compressed size a page read by the `parquet` crate may claim once it
/// claims more than [`LARGE_PAGE`] (gzip expands at most 1032 times).
const MAX_EXPANSION: usize = 1100;
/// Uncompressed page size above which [`MAX_EXPANSION`] applies.
const LARGE_PAGE: usize = 64 << 20;

/// The page headers of a column chunk the `parquet` crate will read (codecs other than
/// Snappy): each parses, each page lies inside the chunk, and none claims a large
/// uncompressed size more than [`MAX_EXPANSION`] times its compressed one, so that a damaged
/// header cannot make the crate allocate gigabytes for a page of a few bytes.
fn check_page_sizes(chunk: &[u8]) -> Result<(), String> {
    let mut at = 0usize;
    while at < chunk.len() {
        let (h, header_len) = page_header(&chunk[at..])?;
        let (compressed, size) = (h.compressed_size as usize, h.uncompressed_size as usize);
        if size > LARGE_PAGE && size > compressed.saturating_mul(MAX_EXPANSION) {
            return Err(format!(
                "a page claims {size} bytes once decompressed from {compressed}"
            ));
        }
        at += header_len + compressed;
        if at > chunk.len() {
            return Err("page past the end of the column chunk".into());
        }
    }
    Ok(())
}

/// A page from the `parquet` crate's page reader (codecs other than Snappy) as a [`Part`]
/// (data pages with `row` 0: [`walk`] numbers them); `Ok(Err(why))`: unsupported.
fn crate_page(page: &Page, l: Layout) -> Result<Result<Part<'_>, String>, String> {
    Ok(Ok(match page {
        Page::DictionaryPage {
            buf,
            num_values,
            encoding,
            ..
        } => {
            if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                return Ok(Err(format!("dictionary encoding {encoding}")));
            }
            dict_part(buf, *num_values as usize, l)?
        }
        Page::DataPage {
            buf,
            num_values,
            encoding,
            def_level_encoding,
            ..
        } => {
            if l.optional && *def_level_encoding != Encoding::RLE {
                return Ok(Err(format!("definition levels {def_level_encoding}")));
            }
            v1_part(buf, *num_values as usize, *encoding, l)?
        }
        Page::DataPageV2 {
            buf,
            num_values,
            encoding,
            def_levels_byte_len,
            rep_levels_byte_len,
            ..
        } => {
            let n = *num_values as usize;
            let r = *rep_levels_byte_len as usize;
            let d = *def_levels_byte_len as usize;
            let defs = buf.get(r..r + d).ok_or("levels past the page end")?;
            Part::Data {
                row: 0,
                n,
                defs: l.optional.then_some(defs),
                data: &buf[r + d..],
                encoding: *encoding,
            }
        }
    }))
}

/// A dictionary page of `n` entries as a [`Part`].
fn dict_part(buf: &[u8], n: usize, l: Layout) -> Result<Part<'_>, String> {
    if let Kind::Num(phys) = l.kind
        && buf.len() < n * phys.width()
    {
        return Err("dictionary page shorter than its values".into());
    }
    Ok(Part::Dict { buf, n })
}

/// A v1 data page (decompressed) of `n` values as a [`Part`]: for optional columns a 4-byte
/// length and the definition levels come first.
fn v1_part(buf: &[u8], n: usize, encoding: Encoding, l: Layout) -> Result<Part<'_>, String> {
    let (defs, data) = if l.optional {
        let len = buf
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or("data page too short")?;
        let defs = buf.get(4..4 + len).ok_or("definition levels past the page end")?;
        (Some(defs), &buf[4 + len..])
    } else {
        (None, buf)
    };
    Ok(Part::Data {
        row: 0,
        n,
        defs,
        data,
        encoding,
    })
}

/// The `Encoding` numbered `v` in the format, when this reader may meet it.
fn encoding(v: i32) -> Option<Encoding> {
    Some(match v {
        0 => Encoding::PLAIN,
        2 => Encoding::PLAIN_DICTIONARY,
        3 => Encoding::RLE,
        5 => Encoding::DELTA_BINARY_PACKED,
        6 => Encoding::DELTA_LENGTH_BYTE_ARRAY,
        7 => Encoding::DELTA_BYTE_ARRAY,
        8 => Encoding::RLE_DICTIONARY,
        9 => Encoding::BYTE_STREAM_SPLIT,
        _ => return None,
    })
}

/// Read the pages of an uncompressed or Snappy-compressed column chunk straight from the
/// file's bytes: page headers are parsed here and pages are decompressed into one reused
/// buffer (`inflated`). Data pages are handed on with `row` 0 ([`walk`] numbers them).
/// `Ok(Some(why))`: `each` or this reader found something unsupported.
fn raw_pages(
    chunk: &[u8],
    snappy: bool,
    l: Layout,
    levels_only: bool,
    inflated: &mut Vec<u8>,
    mut each: impl FnMut(Part<'_>) -> Result<Option<String>, String>,
) -> Result<Option<String>, String> {
    let mut at = 0usize;
    while at < chunk.len() {
        let (h, header_len) = page_header(&chunk[at..])?;
        let body_len = h.compressed_size as usize;
        let body = chunk
            .get(at + header_len..at + header_len + body_len)
            .ok_or("page past the end of the column chunk")?;
        at += header_len + body_len;
        let n = h.num_values as usize;
        let size = h.uncompressed_size as usize;
        let part = match h.page_type {
            Some(PageType::Dictionary) => {
                if levels_only {
                    continue;
                }
                if !matches!(h.encoding, 0 | 2) {
                    return Ok(Some(format!("dictionary encoding {}", h.encoding)));
                }
                let buf = inflate(body, snappy, size, inflated)?;
                dict_part(buf, n, l)?
            }
            Some(PageType::Data) => {
                let Some(enc) = encoding(h.encoding) else {
                    return Ok(Some(format!("encoding {}", h.encoding)));
                };
                if l.optional && h.def_level_encoding != 3 {
                    return Ok(Some(format!(
                        "definition levels encoding {}",
                        h.def_level_encoding
                    )));
                }
                if levels_only {
                    if !l.optional {
                        let part = Part::Data {
                            row: 0,
                            n,
                            defs: None,
                            data: &[],
                            encoding: enc,
                        };
                        if let Some(why) = each(part)? {
                            return Ok(Some(why));
                        }
                        continue;
                    }
                    // Only the levels: their length, then as many bytes.
                    let buf = levels_prefix(body, snappy, size, inflated)?;
                    let defs = buf.get(4..).ok_or("data page too short")?;
                    Part::Data {
                        row: 0,
                        n,
                        defs: Some(defs),
                        data: &[],
                        encoding: enc,
                    }
                } else {
                    let buf = inflate(body, snappy, size, inflated)?;
                    v1_part(buf, n, enc, l)?
                }
            }
            Some(PageType::DataV2) => {
                let Some(enc) = encoding(h.encoding) else {
                    return Ok(Some(format!("encoding {}", h.encoding)));
                };
                let r = h.rep_levels_len.max(0) as usize;
                let d = h.def_levels_len.max(0) as usize;
                let levels = body.get(..r + d).ok_or("levels past the page end")?;
                let defs = l.optional.then(|| &levels[r..]);
                let data: &[u8] = if levels_only {
                    &[]
                } else if h.is_compressed {
                    let want = size.checked_sub(r + d).ok_or("levels longer than the page")?;
                    inflate(&body[r + d..], snappy, want, inflated)?
                } else {
                    &body[r + d..]
                };
                Part::Data {
                    row: 0,
                    n,
                    defs,
                    data,
                    encoding: enc,
                }
            }
            // Index pages and page types of later format versions carry no values.
            Some(PageType::Index | PageType::Unknown(_)) | None => continue,
        };
        if let Some(why) = each(part)? {
            return Ok(Some(why));
        }
    }
    Ok(None)
}

/// The most a Snappy block expands (a 3-byte copy tag yields 64 bytes), rounded up.
const SNAPPY_MAX_RATIO: usize = 32;

/// The first `want` bytes (at most `size`) of a page body that decompresses to `size` bytes:
/// the body itself when uncompressed, else decompressed into `out` (reused from page to page;
/// only as far as `want` when that is less than the whole).
fn inflate<'a>(body: &'a [u8], snappy: bool, size: usize, out: &'a mut Vec<u8>) -> Result<&'a [u8], String> {
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
fn levels_prefix<'a>(
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
            let r = data_page(s, n, defs, page_mask, data, encoding, |data, present, drops| {
                if data.len() < present * phys.width() {
                    return Err("PLAIN values past the page end".into());
                }
                if out.dense.is_pending() && present > drops.len() {
                    probe.clear();
                    phys.extend_without(data, present, drops, &mut probe);
                    out.dense.decide(&probe);
                }
                nan_seen = nan_seen.or(add_plain(out, phys, data, present, drops));
                Ok(())
            });
            s.plain = probe;
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

/// Values decoded and counted at a time (4 KiB: they stay in L1 between decoding, checking
/// and counting).
const RUN: usize = 512;

/// Add the `n` PLAIN values of `data` but those at the positions `drops` to `out`: counted
/// densely while that lasts, else kept. The first NaN or infinity kept, if any.
fn add_plain(out: &mut Sample, phys: Phys, data: &[u8], n: usize, drops: &[usize]) -> Option<f64> {
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
            if nan.is_none() {
                nan = out.values[from..].iter().copied().find(|x| !x.is_finite());
            }
            at += k;
        }
        start = end + 1;
    }
    nan
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
    walk(path, column, false, |l, part| {
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
                let counted = &mut *out;
                data_page(s, n, defs, page_mask, data, encoding, |data, present, drops| {
                    let mut at = 0usize;
                    let mut next = drops.iter().copied().peekable();
                    for i in 0..present {
                        let v = byte_array(data, &mut at)?;
                        if next.next_if_eq(&i).is_none() {
                            let text = std::str::from_utf8(v).map_err(|_| "a value that is not UTF-8")?;
                            match counted.get_mut(text) {
                                Some(c) => *c += 1,
                                None => {
                                    counted.insert(text.to_string(), 1);
                                }
                            }
                        }
                    }
                    Ok(())
                })
            }
            Part::ChunkEnd => {
                flush_text(s, out)?;
                Ok(None)
            }
        }
    })
}

/// One PLAIN BYTE_ARRAY value at `*at` (4-byte length, then the bytes).
fn byte_array<'a>(buf: &'a [u8], at: &mut usize) -> Result<&'a [u8], String> {
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
/// row mask drops). `Ok(Some(why))`: unsupported; `Err(what)`: damaged.
fn data_page(
    s: &mut PageScratch,
    n: usize,
    defs: Option<&[u8]>,
    mask: Option<FileMask<'_>>,
    data: &[u8],
    encoding: Encoding,
    plain: impl FnOnce(&[u8], usize, &[usize]) -> Result<(), String>,
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
    match encoding {
        Encoding::PLAIN => {
            plain(data, present, &s.drops)?;
            Ok(None)
        }
        Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY => {
            if s.counts.is_empty() && present > 0 {
                return Err("dictionary-encoded page without a dictionary".into());
            }
            let (&bw, runs) = data.split_first().ok_or("empty dictionary-encoded page")?;
            if bw > 32 {
                return Err(format!("dictionary index width {bw}"));
            }
            let dict_len = s.counts.len();
            // Rows the mask drops are few: count every index, then take the dropped ones back.
            let (counts, drops) = (&mut s.counts, &s.drops);
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
                            d += 1;
                        }
                        done += len;
                    }
                }
            }
            Ok(None)
        }
        other => Ok(Some(format!("encoding {other}"))),
    }
}

/// Decode RLE/bit-packed levels of bit width 1 (flat optional columns) into `out`.
fn decode_levels(data: &[u8], out: &mut [u8]) -> Result<(), String> {
    let mut hy = Hybrid::new(data, 1);
    let mut idx = Vec::new();
    let mut done = 0usize;
    while done < out.len() {
        match hy.next_run(out.len() - done, &mut idx)? {
            Run::Repeat(v, len) => {
                out[done..done + len].fill(v as u8);
                done += len;
            }
            Run::Packed(len) => {
                for (o, &v) in out[done..done + len].iter_mut().zip(&idx) {
                    *o = v as u8;
                }
                done += len;
            }
        }
    }
    Ok(())
}

/// One run of the RLE/bit-packing hybrid encoding.
#[derive(Debug, PartialEq, Eq)]
enum Run {
    /// A value repeated this many times.
    Repeat(u32, usize),
    /// This many bit-packed values, unpacked into the start of the caller's buffer.
    Packed(usize),
}

/// Reader of the RLE/bit-packing hybrid encoding (no length prefix).
struct Hybrid<'a> {
    data: &'a [u8],
    pos: usize,
    bw: u32,
    /// Bit-packed values left in the current run, and the bit position of the next one.
    packed_left: usize,
    packed_bit: usize,
}

/// Values unpacked per call.
const BATCH: usize = 1024;

impl<'a> Hybrid<'a> {
    fn new(data: &'a [u8], bw: u32) -> Hybrid<'a> {
        Hybrid {
            data,
            pos: 0,
            bw,
            packed_left: 0,
            packed_bit: 0,
        }
    }

    fn uleb(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.pos).ok_or("run header past the end")?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("run header too long".into())
    }

    /// The next run, at most `max` values long (`max` > 0).
    fn next_run(&mut self, max: usize, buf: &mut Vec<u32>) -> Result<Run, String> {
        while self.packed_left == 0 {
            let header = self.uleb()?;
            if header & 1 == 0 {
                let len = usize::try_from(header >> 1).map_err(|_| "run too long")?;
                let nbytes = self.bw.div_ceil(8) as usize;
                let bytes = self
                    .data
                    .get(self.pos..self.pos + nbytes)
                    .ok_or("run value past the end")?;
                self.pos += nbytes;
                let mut v = 0u32;
                for (i, &b) in bytes.iter().enumerate() {
                    v |= u32::from(b) << (8 * i);
                }
                if len == 0 {
                    continue;
                }
                return Ok(Run::Repeat(v, len.min(max)));
            }
            let groups = usize::try_from(header >> 1).map_err(|_| "run too long")?;
            let nbytes = groups * self.bw as usize;
            if self.pos + nbytes > self.data.len() {
                // Writers may cut the last run short: keep the whole values that are there.
                let avail = (self.data.len() - self.pos) * 8 / (self.bw.max(1) as usize);
                self.packed_left = (groups * 8).min(avail);
            } else {
                self.packed_left = groups * 8;
            }
            self.packed_bit = self.pos * 8;
            self.pos = (self.pos + nbytes).min(self.data.len());
            if self.packed_left == 0 {
                return Err("empty bit-packed run".into());
            }
        }
        let len = self.packed_left.min(max).min(BATCH);
        if buf.len() < len {
            buf.resize(BATCH, 0);
        }
        unpack(self.data, self.packed_bit, self.bw, &mut buf[..len]);
        self.packed_bit += len * self.bw as usize;
        self.packed_left -= len;
        if len == max {
            // The caller needs no more values from this page.
            self.packed_left = 0;
        }
        Ok(Run::Packed(len))
    }
}

/// Unpack `out.len()` values of `bw` bits starting at bit `bit` of `data` (LSB first).
fn unpack(data: &[u8], bit: usize, bw: u32, out: &mut [u32]) {
    if bw == 0 {
        out.fill(0);
        return;
    }
    let mask = if bw == 32 {
        u64::from(u32::MAX)
    } else {
        (1u64 << bw) - 1
    };
    // Values whose 8-byte window lies inside `data` (all but the last few of a page) are read
    // without a bounds branch; the rest byte by byte.
    let last_start = data.len().saturating_sub(8) * 8 + 7;
    let fast = if data.len() < 8 || bit > last_start {
        0
    } else {
        ((last_start - bit) / bw as usize + 1).min(out.len())
    };
    let (head, tail) = out.split_at_mut(fast);
    let bw = bw as usize;
    for (i, o) in head.iter_mut().enumerate() {
        let b = bit + i * bw;
        let w: [u8; 8] = data[b >> 3..(b >> 3) + 8].try_into().unwrap_or([0; 8]);
        *o = ((u64::from_le_bytes(w) >> (b & 7)) & mask) as u32;
    }
    let mut b = bit + fast * bw;
    for o in tail.iter_mut() {
        let byte = b >> 3;
        let shift = (b & 7) as u32;
        let word = match data.get(byte..byte + 8) {
            Some(w) => u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
            None => {
                let mut w = [0u8; 8];
                let tail = data.get(byte..).unwrap_or(&[]);
                w[..tail.len().min(8)].copy_from_slice(&tail[..tail.len().min(8)]);
                u64::from_le_bytes(w)
            }
        };
        *o = ((word >> shift) & mask) as u32;
        b += bw;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A page header claiming 2 GiB decompressed from 10 bytes is refused before the crate
    // allocates for it; an ordinary one passes.
    #[test]
    fn page_sizes_are_checked_before_the_crate_reads_them() {
        let header = |size: &[u8]| {
            let mut h = vec![0x15, 0x00, 0x15];
            h.extend_from_slice(size);
            h.extend_from_slice(&[0x15, 0x14, 0x00]);
            h.extend_from_slice(&[0u8; 10]);
            h
        };
        let huge = header(&[0xfe, 0xff, 0xff, 0xff, 0x0f]);
        let err = check_page_sizes(&huge).err().unwrap_or_default();
        assert!(err.contains("claims 2147483647 bytes"), "{err}");
        assert_eq!(check_page_sizes(&header(&[0xc8, 0x01])), Ok(()));
        let mut cut = header(&[0xc8, 0x01]);
        cut.pop();
        assert!(check_page_sizes(&cut).is_err(), "a page past the chunk's end");
    }

    /// Bit-pack `values` LSB first with width `bw`, in groups of 8 (zero-padded).
    fn pack(values: &[u32], bw: u32) -> Vec<u8> {
        let groups = values.len().div_ceil(8);
        let mut out = vec![0u8; groups * bw as usize];
        for (i, &v) in values.iter().enumerate() {
            for j in 0..bw as usize {
                if v >> j & 1 == 1 {
                    let bit = i * bw as usize + j;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    fn uleb(mut v: u64, out: &mut Vec<u8>) {
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

    fn decode_all(data: &[u8], bw: u32, n: usize) -> Result<Vec<u32>, String> {
        let mut hy = Hybrid::new(data, bw);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while out.len() < n {
            match hy.next_run(n - out.len(), &mut buf)? {
                Run::Repeat(v, len) => out.extend(std::iter::repeat_n(v, len)),
                Run::Packed(len) => out.extend_from_slice(&buf[..len]),
            }
        }
        Ok(out)
    }

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

    #[test]
    fn hybrid_runs_decode_for_every_width() {
        for bw in [1u32, 3, 7, 8, 13, 17, 24, 31, 32] {
            let max = if bw == 32 { u32::MAX } else { (1u32 << bw) - 1 };
            let packed: Vec<u32> = (0..2500u32)
                .map(|i| i.wrapping_mul(2_654_435_761) & max)
                .collect();
            let mut data = Vec::new();
            // A repeated run, a bit-packed run of 2500 values (313 groups), another repeat.
            uleb(300 << 1, &mut data);
            data.extend_from_slice(&(max / 3).to_le_bytes()[..bw.div_ceil(8) as usize]);
            uleb(((2500u64.div_ceil(8)) << 1) | 1, &mut data);
            data.extend_from_slice(&pack(&packed, bw));
            uleb(5 << 1, &mut data);
            data.extend_from_slice(&max.to_le_bytes()[..bw.div_ceil(8) as usize]);
            let got = decode_all(&data, bw, 300 + 2500 + 5).unwrap_or_default();
            let mut want = vec![max / 3; 300];
            want.extend_from_slice(&packed);
            // The padding of the last group (4 zero values) is skipped by the run lengths.
            assert_eq!(got.len(), 2805, "width {bw}");
            assert_eq!(&got[..2800], &want[..], "width {bw}");
            assert_eq!(&got[2800..], &[0, 0, 0, 0, max][..], "width {bw}");
        }
    }

    #[test]
    fn damaged_runs_are_errors_not_panics() {
        assert!(decode_all(&[], 5, 3).is_err());
        assert!(
            decode_all(
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                5,
                3
            )
            .is_err()
        );
        assert!(decode_all(&[4 << 1], 16, 3).is_err()); // repeat run without its value
        // A bit-packed run cut short keeps the whole values present: 2 bytes of width 5 = 3 values.
        let got = decode_all(&[(1 << 1) | 1, 0b1110_0001, 0b0000_0100], 5, 3);
        assert_eq!(got, Ok(vec![1, 7, 1]));
    }

    #[test]
    fn levels_decode_to_zeros_and_ones() {
        let mut data = Vec::new();
        uleb(10 << 1, &mut data);
        data.push(1);
        uleb((1 << 1) | 1, &mut data);
        data.push(0b1010_0101);
        let mut out = vec![9u8; 18];
        decode_levels(&data, &mut out).unwrap_or_default();
        assert_eq!(out, vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 0, 1]);
    }
}
