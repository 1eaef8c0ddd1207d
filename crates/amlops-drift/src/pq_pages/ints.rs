//! Categorical integer and boolean columns, page by page.
//!
//! Values are counted keyed by the integer (booleans as 0 and 1): dictionary-encoded pages by
//! dictionary index (the chunk's counts are moved into the map at its end), PLAIN integers one
//! by one, booleans bit-unpacked (PLAIN) or RLE-decoded. The category text is the value in
//! decimal, or `true`/`false`: what the Arrow reader's cast to text gives.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use parquet::arrow::parquet_to_arrow_schema;
use parquet::basic::Encoding;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::hybrid::decode_levels;
use super::pages::{Part, walk};
use super::plain::Phys;
use super::{FileMask, Kind, PageScratch, Read, data_page};
use crate::DriftError;
use crate::counting::FastMap;
use crate::parquet_side::value_type;
use crate::source::ValueType;

/// Why [`read_int_categories`] leaves a column to another reader: it is not an integer or
/// boolean column.
pub(crate) const NOT_INT: &str = "not an integer or boolean column";
/// Why [`int_distinct`] stopped: more distinct values than its limit.
const OVER: &str = "more distinct values than the limit";

/// Count the values of the integer or boolean column `column` in `path` on the rows kept by
/// `mask` (the file's rows; all rows when there is none) into `out`, keyed by their text.
pub(crate) fn read_int_categories(
    path: &Path,
    column: &str,
    mask: Option<FileMask<'_>>,
    out: &mut HashMap<String, u64>,
    s: &mut PageScratch,
) -> Result<Read, DriftError> {
    if let Some(why) = not_arrow_integer(path, column)? {
        return Ok(Read::Unsupported(why));
    }
    let mut counts: FastMap<i64, u64> = FastMap::default();
    let mut values = None;
    let r = count(path, column, mask, &mut counts, &mut values, usize::MAX, s)?;
    if r == Read::Done {
        for (v, c) in counts {
            *out.entry(text(v, values)).or_insert(0) += c;
        }
    }
    Ok(r)
}

/// Distinct non-null values of the integer column `column` in `path` (a file of `rows` rows),
/// added to `seen` as keys, over all rows. `Ok(None)`: this reader does not handle the column;
/// `Ok(Some(true))`: every value was read; `Ok(Some(false))`: stopped early, as `seen` held
/// more than `limit` keys.
pub(crate) fn int_distinct(
    path: &Path,
    column: &str,
    rows: usize,
    seen: &mut FastMap<i64, u64>,
    limit: usize,
) -> Result<Option<bool>, DriftError> {
    let mut values = None;
    let mut s = PageScratch::default();
    // Every row kept: the mask only lets the page decoder meet nulls.
    let keep = vec![true; rows];
    let mask = FileMask {
        keep: &keep,
        drops: &[],
        first: 0,
    };
    Ok(
        match count(path, column, Some(mask), seen, &mut values, limit, &mut s)? {
            Read::Done => Some(true),
            Read::Unsupported(why) if why == OVER => Some(false),
            Read::Unsupported(_) => None,
        },
    )
}

/// [`NOT_INT`] when the Arrow reader does not read `column` as integers or booleans: an INT64
/// column without a logical type may be a duration or a date there (the file's Arrow schema
/// says), whose text is not the integer's.
fn not_arrow_integer(path: &Path, column: &str) -> Result<Option<String>, DriftError> {
    let pq = |e: parquet::errors::ParquetError| DriftError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(path).map_err(|e| DriftError::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(pq)?;
    let meta = reader.metadata().file_metadata();
    let schema = parquet_to_arrow_schema(meta.schema_descr(), meta.key_value_metadata()).map_err(pq)?;
    let Ok(field) = schema.field_with_name(column) else {
        return Ok(Some(NOT_INT.into()));
    };
    Ok(match value_type(field.data_type()) {
        ValueType::Int | ValueType::Bool => None,
        _ => Some(NOT_INT.into()),
    })
}

/// The category text of the key `v` of a column of `values` (`None`: booleans, 0 or 1; UINT_64:
/// the integer's bits).
fn text(v: i64, values: Option<Phys>) -> String {
    match (values, v) {
        (None, 0) => "false".into(),
        (None, _) => "true".into(),
        (Some(Phys::U64), v) => (v as u64).to_string(),
        (Some(_), v) => v.to_string(),
    }
}

/// Count the kept values of `column` into `out`; stops (unsupported, [`OVER`]) once `out`
/// holds more than `limit` keys. `values` tells what the column holds (`None`: booleans); keys are
/// the integers (UINT_64: their bits as `i64`).
fn count(
    path: &Path,
    column: &str,
    mask: Option<FileMask<'_>>,
    out: &mut FastMap<i64, u64>,
    values: &mut Option<Phys>,
    limit: usize,
    s: &mut PageScratch,
) -> Result<Read, DriftError> {
    s.counts.clear();
    // The chunk's dictionary, and a page's boolean values.
    let mut dict: Vec<i64> = Vec::new();
    let mut bits: Vec<u8> = Vec::new();
    let mut cursor = 0usize;
    walk(path, column, false, |l, part| {
        let phys = match l.kind {
            Kind::Num(p @ (Phys::I32 | Phys::I64 | Phys::U32 | Phys::U64)) => Some(p),
            Kind::Bool => None,
            _ => return Ok(Some(NOT_INT.into())),
        };
        *values = phys;
        match part {
            Part::Dict { buf, n } => {
                let Some(phys) = phys else {
                    return Ok(Some("dictionary-encoded booleans".into()));
                };
                flush(&mut dict, s, out);
                decode(phys, buf, n, &mut dict);
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
                // Booleans are PLAIN (bit-packed) or RLE; both are decoded by the PLAIN hook.
                let (as_encoding, rle) = match (phys, encoding) {
                    (None, Encoding::PLAIN) => (Encoding::PLAIN, false),
                    (None, Encoding::RLE) => (Encoding::PLAIN, true),
                    (None, other) => return Ok(Some(format!("boolean encoding {other}"))),
                    (Some(_), e) => (e, false),
                };
                let page_mask = mask.map(|m| m.page(row, n, &mut cursor)).transpose()?;
                let mut dropped = s.dropped.take();
                let counted = &mut *out;
                let r = data_page(
                    s,
                    n,
                    defs,
                    page_mask,
                    data,
                    as_encoding,
                    l.kind,
                    |data, present, drops| {
                        let mut next = drops.iter().copied().peekable();
                        let mut add = |i: usize, v: i64| {
                            if next.next_if_eq(&i).is_some() {
                                if let Some(d) = dropped.as_mut() {
                                    d.category(&text(v, phys));
                                }
                            } else {
                                *counted.entry(v).or_insert(0) += 1;
                            }
                        };
                        match phys {
                            Some(phys) => {
                                if data.len() < present * phys.width() {
                                    return Err("PLAIN values past the page end".into());
                                }
                                match phys {
                                    Phys::I64 | Phys::U64 => {
                                        for (i, c) in data.chunks_exact(8).take(present).enumerate() {
                                            add(
                                                i,
                                                i64::from_le_bytes([
                                                    c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
                                                ]),
                                            );
                                        }
                                    }
                                    Phys::U32 => {
                                        for (i, c) in data.chunks_exact(4).take(present).enumerate() {
                                            add(i, i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
                                        }
                                    }
                                    _ => {
                                        for (i, c) in data.chunks_exact(4).take(present).enumerate() {
                                            add(i, i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])));
                                        }
                                    }
                                }
                            }
                            None => {
                                bits.clear();
                                bits.resize(present, 0);
                                if rle {
                                    let len = data
                                        .get(..4)
                                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                                        .ok_or("RLE booleans past the page end")?;
                                    let runs =
                                        data.get(4..4 + len).ok_or("RLE booleans past the page end")?;
                                    decode_levels(runs, &mut bits)?;
                                } else {
                                    if data.len() < present.div_ceil(8) {
                                        return Err("PLAIN booleans past the page end".into());
                                    }
                                    for (i, b) in bits.iter_mut().enumerate() {
                                        *b = (data[i / 8] >> (i % 8)) & 1;
                                    }
                                }
                                for (i, &b) in bits.iter().enumerate() {
                                    add(i, i64::from(b));
                                }
                            }
                        }
                        Ok(())
                    },
                );
                if let Some(d) = dropped.as_mut() {
                    for &i in &s.dropped_idx {
                        if let Some(&v) = dict.get(i as usize) {
                            d.category(&text(v, phys));
                        }
                    }
                }
                s.dropped = dropped;
                match r? {
                    Some(why) => Ok(Some(why)),
                    None if out.len() > limit => Ok(Some(OVER.into())),
                    None => Ok(None),
                }
            }
            Part::ChunkEnd => {
                flush(&mut dict, s, out);
                Ok((out.len() > limit).then(|| OVER.into()))
            }
        }
    })
}

/// Append `n` PLAIN integers of `phys` from `buf` (which holds them: checked by the walk).
fn decode(phys: Phys, buf: &[u8], n: usize, out: &mut Vec<i64>) {
    match phys {
        Phys::I64 | Phys::U64 => out.extend(
            buf.chunks_exact(8)
                .take(n)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
        ),
        Phys::U32 => out.extend(
            buf.chunks_exact(4)
                .take(n)
                .map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        ),
        _ => out.extend(
            buf.chunks_exact(4)
                .take(n)
                .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        ),
    }
}

/// Move a chunk's dictionary counts into `out`.
fn flush(dict: &mut Vec<i64>, s: &mut PageScratch, out: &mut FastMap<i64, u64>) {
    for (&v, &c) in dict.iter().zip(&s.counts) {
        if c > 0 {
            *out.entry(v).or_insert(0) += u64::from(c);
        }
    }
    dict.clear();
    s.counts.clear();
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::PathBuf;
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, BooleanArray, Date64Array, DurationSecondArray, Int8Array, Int32Array, Int64Array,
        RecordBatch, StringArray, UInt16Array, UInt32Array, UInt64Array,
    };
    use parquet::file::properties::{WriterProperties, WriterVersion};

    use super::*;
    use crate::parquet_side::ParquetSide;
    use crate::quality::Reading;
    use crate::test_support::xorshift;

    const COLUMNS: [&str; 12] = [
        "u16",
        "u32",
        "u64",
        "i32",
        "i64",
        "i64_nulls",
        "i8",
        "flag",
        "flag_nulls",
        "words",
        "duration",
        "date64",
    ];

    /// Integer and boolean columns with few distinct values (some with nulls), and a text
    /// column with nulls (rows dropped by the mask).
    fn write(path: &Path, props: WriterProperties, rows: usize, seed: u64) {
        let mut r = xorshift(seed);
        let i32s: Vec<i32> = (0..rows).map(|_| (r() % 40) as i32 - 20).collect();
        // Values past 2^53 (exact as integers, not as f64), negative ones.
        let i64s: Vec<i64> = (0..rows)
            .map(|_| (r() % 9) as i64 * 1_000_000_000_000_007 - 4_000_000_000_000_000_000)
            .collect();
        let i64n: Vec<Option<i64>> = (0..rows)
            .map(|i| (i % 11 != 5).then(|| (r() % 300) as i64))
            .collect();
        let i8s: Vec<i8> = (0..rows).map(|_| (r() % 20) as i8 - 10).collect();
        let flags: Vec<bool> = (0..rows).map(|_| r() % 10 < 3).collect();
        let flagn: Vec<Option<bool>> = (0..rows).map(|i| (i % 7 != 2).then(|| r() & 1 == 0)).collect();
        let words: Vec<Option<String>> = (0..rows)
            .map(|i| (i % 13 != 7).then(|| format!("w{}", r() % 9)))
            .collect();
        let secs: Vec<i64> = (0..rows).map(|_| (r() % 5) as i64 * 3600).collect();
        let days: Vec<i64> = (0..rows).map(|_| (r() % 5) as i64 * 86_400_000).collect();
        let u16s: Vec<u16> = (0..rows).map(|_| 65_500 + (r() % 30) as u16).collect();
        // Above i32::MAX: negative as INT32 bits.
        let u32s: Vec<u32> = (0..rows).map(|_| 4_000_000_000 + (r() % 25) as u32).collect();
        let u64s: Vec<u64> = (0..rows).map(|_| u64::MAX - r() % 12).collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("u16", Arc::new(UInt16Array::from(u16s))),
            ("u32", Arc::new(UInt32Array::from(u32s))),
            ("u64", Arc::new(UInt64Array::from(u64s))),
            ("i32", Arc::new(Int32Array::from(i32s))),
            ("i64", Arc::new(Int64Array::from(i64s))),
            ("i64_nulls", Arc::new(Int64Array::from(i64n))),
            ("i8", Arc::new(Int8Array::from(i8s))),
            ("flag", Arc::new(BooleanArray::from(flags))),
            ("flag_nulls", Arc::new(BooleanArray::from(flagn))),
            ("words", Arc::new(StringArray::from(words))),
            // INT64 without a logical type, whose Arrow text is not the integer's.
            ("duration", Arc::new(DurationSecondArray::from(secs))),
            ("date64", Arc::new(Date64Array::from(days))),
        ];
        let batch = RecordBatch::try_from_iter(cols).unwrap_or_else(|e| panic!("batch: {e}"));
        crate::test_support::write(path, &batch, props);
    }

    // Category counts (and the values and nulls of the rows the mask drops) read page by page
    // equal the Arrow reader's, for INT32 (signed and unsigned), INT64 and BOOLEAN columns with
    // and without dictionaries, v1 and v2 pages (DELTA_BINARY_PACKED integers without a
    // dictionary), several row groups and pages, nulls, and two files.
    #[test]
    fn integer_and_boolean_counts_equal_arrow() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        for (v, (version, dictionary)) in [
            (WriterVersion::PARQUET_1_0, true),
            (WriterVersion::PARQUET_1_0, false),
            (WriterVersion::PARQUET_2_0, true),
            (WriterVersion::PARQUET_2_0, false),
        ]
        .into_iter()
        .enumerate()
        {
            let files: Vec<PathBuf> = (0..2)
                .map(|k| {
                    let path = dir.path().join(format!("v{v}_{k}.parquet"));
                    let props = WriterProperties::builder()
                        .set_writer_version(version)
                        .set_dictionary_enabled(dictionary)
                        .set_max_row_group_size(700)
                        .set_data_page_row_count_limit(128)
                        .set_write_batch_size(64)
                        .build();
                    write(&path, props, 2000 + 300 * k, 7 + (v * 2 + k) as u64);
                    path
                })
                .collect();
            let columns: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
            let side = ParquetSide::open(&files, &columns).unwrap_or_else(|e| panic!("open: {e}"));
            for c in COLUMNS {
                let (mut paged, mut arrow) = (Reading::default(), Reading::default());
                let got = side
                    .counts(c, Some(&mut paged))
                    .unwrap_or_else(|e| panic!("{c}: {e}"));
                let want = side
                    .counts_arrow(c, Some(&mut arrow))
                    .unwrap_or_else(|e| panic!("{c}: {e}"));
                assert_eq!(got, want, "{c}, variant {v}");
                assert_eq!(paged, arrow, "{c}, variant {v}: dropped rows");
                assert!(!want.is_empty() && arrow.categories.len() > 0, "{c}");
                if c.ends_with("nulls") {
                    // Nulls without a mask are an error: the caller passes one then.
                    continue;
                }
                // Page by page, not through Arrow, but for the columns whose Arrow text is not
                // the integer's.
                let direct = read_int_categories(
                    &files[0],
                    c,
                    None,
                    &mut HashMap::new(),
                    &mut PageScratch::default(),
                );
                let arrow_only = matches!(c, "words" | "duration" | "date64");
                let direct = direct.unwrap_or_else(|e| panic!("{c}: {e}"));
                assert_eq!(direct == Read::Done, !arrow_only, "{c}, variant {v}: {direct:?}");
            }
            // Distinct values, exact, and stopping past the limit.
            for c in ["i32", "i64", "i64_nulls", "i8", "u16", "u32", "u64"] {
                let mut want: HashSet<String> = HashSet::new();
                for p in &files {
                    let side =
                        ParquetSide::open(std::slice::from_ref(p), &[]).unwrap_or_else(|e| panic!("{e}"));
                    want.extend(
                        side.counts_arrow(c, None)
                            .unwrap_or_else(|e| panic!("{e}"))
                            .into_keys(),
                    );
                }
                let mut seen = FastMap::default();
                let mut done = true;
                for p in &files {
                    let rows = ParquetSide::open(std::slice::from_ref(p), &[])
                        .unwrap_or_else(|e| panic!("{e}"))
                        .rows_total as usize;
                    match int_distinct(p, c, rows, &mut seen, usize::MAX).unwrap_or_else(|e| panic!("{e}")) {
                        Some(all) => assert!(all),
                        None => done = false,
                    }
                }
                if done {
                    assert_eq!(seen.len(), want.len(), "{c}, variant {v}");
                    // The side's count stops past the count that decides the 5% rule.
                    let rule = (want.len() as f64) < side.rows_total as f64 * crate::INT_CATEGORICAL_RATIO;
                    let got = side.int_distinct(c).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(got, rule.then_some(want.len()), "{c}, variant {v}");
                    let mut few = FastMap::default();
                    let stopped = int_distinct(&files[0], c, 2000, &mut few, 3);
                    assert_eq!(stopped.unwrap_or_else(|e| panic!("{e}")), Some(false), "{c}");
                }
            }
        }
    }
}
