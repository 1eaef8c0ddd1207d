//! Walking the pages of a column chunk: page headers parsed from the memory-mapped file
//! (every codec but the legacy LZ4 framing) or the `parquet` crate's page reader (that one).

use std::fs::File;
use std::path::Path;

use bytes::Bytes;
use parquet::basic::{ConvertedType, Encoding, LogicalType, Type as Physical};
use parquet::column::page::Page;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::codec::{Codec, Inflater, LARGE_PAGE, MAX_EXPANSION};
use super::plain::Phys;
use super::{Kind, Layout, Read, corrupt};
use crate::DriftError;
use crate::thrift::{PageType, page_header};

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
    let unsigned = matches!(logical, Some(LogicalType::Integer { is_signed: false, .. }))
        || matches!(
            d.converted_type(),
            ConvertedType::UINT_8 | ConvertedType::UINT_16 | ConvertedType::UINT_32 | ConvertedType::UINT_64
        );
    let kind = match d.physical_type() {
        Physical::DOUBLE => Kind::Num(Phys::F64),
        Physical::FLOAT => Kind::Num(Phys::F32),
        Physical::INT32 if unsigned => Kind::Num(Phys::U32),
        Physical::INT64 if unsigned => Kind::Num(Phys::U64),
        Physical::INT32 => Kind::Num(Phys::I32),
        Physical::INT64 => Kind::Num(Phys::I64),
        Physical::BOOLEAN => Kind::Bool,
        Physical::BYTE_ARRAY
            if matches!(logical, Some(LogicalType::String | LogicalType::Enum))
                || matches!(d.converted_type(), ConvertedType::UTF8 | ConvertedType::ENUM) =>
        {
            Kind::Utf8
        }
        _ => return None,
    };
    let supported = match kind {
        Kind::Utf8 | Kind::Bool => true,
        // Plain integers and floats: no decimal, date, time or other logical type.
        Kind::Num(_) => {
            matches!(
                d.converted_type(),
                ConvertedType::NONE
                    | ConvertedType::INT_8
                    | ConvertedType::INT_16
                    | ConvertedType::INT_32
                    | ConvertedType::INT_64
                    | ConvertedType::UINT_8
                    | ConvertedType::UINT_16
                    | ConvertedType::UINT_32
                    | ConvertedType::UINT_64
            ) && matches!(logical, None | Some(LogicalType::Integer { .. }))
        }
    };
    supported.then_some(Layout {
        leaf,
        kind,
        optional: d.max_def_level() == 1,
    })
}
/// A page handed to a [`walk`] callback.
pub(super) enum Part<'a> {
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
pub(super) fn walk(
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
    let mut inflater = Inflater::default();
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
        let stopped = match Codec::of(cc.compression()) {
            Some(codec) => {
                let (start, len) = cc.byte_range();
                let chunk = usize::try_from(start)
                    .ok()
                    .zip(usize::try_from(len).ok())
                    .and_then(|(s, n)| bytes.get(s..s.checked_add(n)?))
                    .ok_or_else(|| bad("column chunk past the end of the file"))?;
                raw_pages(chunk, codec, l, levels_only, &mut inflater, &mut each)
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

/// The page headers of a column chunk the `parquet` crate will read (codecs other than
/// those [`Codec`] handles): each parses, each page lies inside the chunk, and none claims a large
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

/// A page from the `parquet` crate's page reader (the legacy LZ4 framing) as a [`Part`]
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

/// Read the pages of a column chunk compressed with `codec` straight from the
/// file's bytes: page headers are parsed here and pages are decompressed into one reused
/// buffer (`inflated`). Data pages are handed on with `row` 0 ([`walk`] numbers them).
/// `Ok(Some(why))`: `each` or this reader found something unsupported.
fn raw_pages(
    chunk: &[u8],
    codec: Codec,
    l: Layout,
    levels_only: bool,
    inflater: &mut Inflater,
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
                let buf = inflater.inflate(body, codec, size)?;
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
                    let buf = inflater.levels_prefix(body, codec, size)?;
                    let defs = buf.get(4..).ok_or("data page too short")?;
                    Part::Data {
                        row: 0,
                        n,
                        defs: Some(defs),
                        data: &[],
                        encoding: enc,
                    }
                } else {
                    let buf = inflater.inflate(body, codec, size)?;
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
                    inflater.inflate(&body[r + d..], codec, want)?
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
}
