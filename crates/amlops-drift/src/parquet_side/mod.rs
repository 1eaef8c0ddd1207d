//! Parquet input: schema and null statistics from the footers, then one projected read per
//! column (a column is decoded only when its metric job runs).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read as _, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;

use crate::DriftError;
use crate::counting::{FastMap, MAX_INT_CATEGORIES, TextCounter};
use crate::engine::INT_CATEGORICAL_RATIO;
use crate::pq_pages::{self, FileMask, PageScratch, Read};
use crate::quality::Reading;
use crate::sample::Sample;
use crate::source::ValueType;
use crate::thrift;

const BATCH: usize = 64 * 1024;

fn pq_err(path: &Path, e: impl std::fmt::Display) -> DriftError {
    DriftError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Rows a file may claim per byte of its size. A row costs at least a bit of definition or
/// dictionary-index data in some page, but run-length encoding packs a run of equal levels or
/// indices into a few bytes, so only a generous bound holds for every well-formed file. It keeps
/// the row mask and level buffers (a byte a row) within a fixed multiple of the input's size when
/// a damaged footer claims billions of rows.
const MAX_ROWS_PER_BYTE: u64 = 1 << 14;

/// Run `f`, which decodes `column` of `path` (`None`: the footer) with the `parquet` and
/// `arrow` crates: a panic inside them on damaged input becomes an error naming the file and
/// the column instead of ending the task.
pub(crate) fn guarded<T>(
    path: &Path,
    column: Option<&str>,
    f: impl FnOnce() -> Result<T, DriftError>,
) -> Result<T, DriftError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown failure".into());
            let what = match column {
                Some(c) => format!("column `{c}`"),
                None => "the footer (schema and row groups)".to_string(),
            };
            Err(DriftError::Parquet {
                path: path.to_path_buf(),
                message: format!(
                    "{what}: the Parquet decoder failed on damaged data ({why}); the file looks damaged, write it again"
                ),
            })
        }
    }
}

fn open(
    path: &Path,
    options: ArrowReaderOptions,
) -> Result<ParquetRecordBatchReaderBuilder<File>, DriftError> {
    let mut f = File::open(path).map_err(|e| DriftError::io(path, e))?;
    let len = f.metadata().map_err(|e| DriftError::io(path, e))?.len();
    check_footer(path, &mut f, len)?;
    let b = guarded(path, None, || {
        ParquetRecordBatchReaderBuilder::try_new_with_options(f, options).map_err(|e| pq_err(path, e))
    })?;
    check_rows(path, b.metadata(), len)?;
    Ok(b)
}

/// Refuse a footer whose lengths do not fit in its bytes ([`thrift::footer_fits`]) before the
/// `parquet` crate reserves memory by them. Files too short for a footer, without the `PAR1`
/// magic or with a footer longer than the file are left to the crate, which reports them.
fn check_footer(path: &Path, f: &mut File, len: u64) -> Result<(), DriftError> {
    let io = |e| DriftError::io(path, e);
    if len < 12 {
        return Ok(());
    }
    let mut tail = [0u8; 8];
    f.seek(SeekFrom::End(-8)).map_err(io)?;
    f.read_exact(&mut tail).map_err(io)?;
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if &tail[4..] != b"PAR1" || footer_len + 8 > len {
        f.rewind().map_err(io)?;
        return Ok(());
    }
    // At most the file's size (checked above).
    let mut footer = vec![0u8; footer_len as usize];
    f.seek(SeekFrom::Start(len - 8 - footer_len)).map_err(io)?;
    f.read_exact(&mut footer).map_err(io)?;
    f.rewind().map_err(io)?;
    if thrift::footer_fits(&footer) {
        return Ok(());
    }
    Err(DriftError::Parquet {
        path: path.to_path_buf(),
        message: format!(
            "the footer ({footer_len} bytes) is damaged: a list or a text in it is longer than the \
             footer, or it ends early; write the file again"
        ),
    })
}

/// The footer's row counts: none negative, the file's the sum of its row groups', and no more
/// than the file's size can hold (see [`MAX_ROWS_PER_BYTE`]).
fn check_rows(path: &Path, meta: &ParquetMetaData, file_len: u64) -> Result<(), DriftError> {
    let bad = |what: String| {
        Err(DriftError::Parquet {
            path: path.to_path_buf(),
            message: format!("{what} (the footer looks damaged; write the file again)"),
        })
    };
    let claimed = meta.file_metadata().num_rows();
    let mut sum = 0i64;
    for (i, rg) in meta.row_groups().iter().enumerate() {
        let n = rg.num_rows();
        if n < 0 {
            return bad(format!("row group {i} claims {n} rows"));
        }
        sum = sum.saturating_add(n);
    }
    if claimed < 0 || claimed != sum {
        return bad(format!(
            "the footer claims {claimed} rows but its row groups hold {sum}"
        ));
    }
    if claimed as u64 > file_len.saturating_mul(MAX_ROWS_PER_BYTE) {
        return bad(format!(
            "the footer claims {claimed} rows, more than a file of {file_len} bytes can hold"
        ));
    }
    Ok(())
}

/// The kind of values an Arrow type holds (a dictionary's: its values').
pub(crate) fn value_type(dt: &DataType) -> ValueType {
    match dt {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => ValueType::Float,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => ValueType::Float,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ValueType::Int,
        DataType::Boolean => ValueType::Bool,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ValueType::Str,
        DataType::Dictionary(_, v) => match value_type(v) {
            ValueType::Str => ValueType::Str,
            other => other,
        },
        _ => ValueType::Other,
    }
}

/// A Parquet data set with its row-validity mask (rows with a null in a compared column drop).
#[derive(Debug)]
pub(crate) struct ParquetSide {
    files: Vec<PathBuf>,
    file_rows: Vec<u64>,
    /// Uncompressed bytes of each column over all files (to schedule the longest jobs first).
    sizes: HashMap<String, u64>,
    /// Smallest and largest value of each numeric column, when every row group says.
    ranges: HashMap<String, Option<(f64, f64)>>,
    mask: Option<Vec<bool>>,
    /// The rows each file drops (rows of that file, ascending), when there is a mask.
    drops: Vec<Vec<usize>>,
    /// Bytes of all files: value buffers are reserved for at most as many values as that
    /// (a damaged footer's row count does not size them).
    file_bytes: u64,
    pub rows_total: u64,
    pub rows_valid: u64,
}

/// Column names and types (widened across files); errors on files without rows.
pub(crate) fn schema(files: &[PathBuf]) -> Result<Vec<(String, ValueType)>, DriftError> {
    let mut out: Vec<(String, ValueType)> = Vec::new();
    for path in files {
        let b = open(path, ArrowReaderOptions::new())?;
        if b.metadata().file_metadata().num_rows() == 0 {
            return Err(DriftError::EmptyFile { path: path.clone() });
        }
        for f in b.schema().fields() {
            let vt = value_type(f.data_type());
            match out.iter_mut().find(|(c, _)| c == f.name()) {
                Some((_, t)) => {
                    *t = t.unify(vt).ok_or_else(|| DriftError::WrongType {
                        path: path.clone(),
                        line: None,
                        column: f.name().clone(),
                        message: format!(
                            "holds {} here but {} in {}",
                            vt.describe(),
                            t.describe(),
                            files[0].display()
                        ),
                    })?;
                }
                None if path == &files[0] => out.push((f.name().clone(), vt)),
                None => {}
            }
        }
    }
    Ok(out)
}

/// Read one column of one file batch by batch, as dictionary arrays for string columns.
pub(crate) fn for_each_array(
    path: &Path,
    column: &str,
    f: impl FnMut(&ArrayRef) -> Result<(), DriftError>,
) -> Result<(), DriftError> {
    guarded(path, Some(column), || arrays(path, column, f))
}

fn arrays(
    path: &Path,
    column: &str,
    mut f: impl FnMut(&ArrayRef) -> Result<(), DriftError>,
) -> Result<(), DriftError> {
    let probe = open(path, ArrowReaderOptions::new())?;
    let schema = probe.schema().clone();
    let idx = schema.index_of(column).map_err(|_| DriftError::MissingColumn {
        path: path.to_path_buf(),
        column: column.to_string(),
        available: schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let dict = matches!(
        schema.field(idx).data_type(),
        DataType::Utf8 | DataType::LargeUtf8
    );
    let builder = if dict {
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, fl)| {
                if i == idx {
                    fl.as_ref().clone().with_data_type(DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(fl.data_type().clone()),
                    ))
                } else {
                    fl.as_ref().clone()
                }
            })
            .collect();
        let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        match open(path, ArrowReaderOptions::new().with_schema(hinted)) {
            Ok(b) => b,
            Err(_) => probe,
        }
    } else {
        probe
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [idx]);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH)
        .build()
        .map_err(|e| pq_err(path, e))?;
    for batch in reader {
        let batch = batch.map_err(|e| pq_err(path, e))?;
        f(batch.column(0))?;
    }
    Ok(())
}

fn may_have_nulls(path: &Path, column: &str) -> Result<bool, DriftError> {
    let b = open(path, ArrowReaderOptions::new())?;
    let Ok(idx) = b.schema().index_of(column) else {
        return Err(DriftError::MissingColumn {
            path: path.to_path_buf(),
            column: column.to_string(),
            available: b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let leaf = b
        .parquet_schema()
        .columns()
        .iter()
        .position(|c| c.path().parts().first().map(String::as_str) == Some(b.schema().field(idx).name()))
        .unwrap_or(idx);
    for rg in b.metadata().row_groups() {
        let nulls = rg.column(leaf).statistics().and_then(|s| s.null_count_opt());
        if nulls != Some(0) {
            return Ok(true);
        }
    }
    Ok(false)
}

impl ParquetSide {
    /// Build the validity mask over the compared columns.
    pub(crate) fn open(files: &[PathBuf], columns: &[String]) -> Result<ParquetSide, DriftError> {
        let mut rows_total = 0u64;
        let mut file_rows = Vec::new();
        let mut sizes: HashMap<String, u64> = HashMap::new();
        // Value range of each numeric column from the row-group statistics (None: unknown).
        let mut ranges: HashMap<String, Option<(f64, f64)>> = HashMap::new();
        let mut file_bytes = 0u64;
        for p in files {
            let b = open(p, ArrowReaderOptions::new())?;
            file_bytes += std::fs::metadata(p).map_or(0, |m| m.len());
            let n = b.metadata().file_metadata().num_rows() as u64;
            file_rows.push(n);
            rows_total += n;
            let schema = b.metadata().file_metadata().schema_descr();
            for rg in b.metadata().row_groups() {
                for (i, cc) in rg.columns().iter().enumerate() {
                    let name = schema
                        .column(i)
                        .path()
                        .parts()
                        .first()
                        .cloned()
                        .unwrap_or_default();
                    *sizes.entry(name.clone()).or_insert(0) += cc.uncompressed_size().max(0) as u64;
                    let r = ranges
                        .entry(name)
                        .or_insert(Some((f64::INFINITY, f64::NEG_INFINITY)));
                    *r = r.and_then(|(lo, hi)| {
                        let (a, b) = stat_range(cc.statistics()?)?;
                        Some((lo.min(a), hi.max(b)))
                    });
                }
            }
        }
        let mut mask: Option<Vec<bool>> = None;
        for c in columns {
            let mut offset = 0usize;
            for (p, &n) in files.iter().zip(&file_rows) {
                if may_have_nulls(p, c)? {
                    let m = mask.get_or_insert_with(|| vec![true; rows_total as usize]);
                    let here = &mut m[offset..offset + n as usize];
                    match guarded(p, Some(c), || pq_pages::null_rows(p, c, here))? {
                        Read::Done => {
                            offset += n as usize;
                            continue;
                        }
                        Read::Unsupported(why) => {
                            tracing::debug!(column = %c, file = %p.display(), %why, "nulls read through Arrow");
                        }
                    }
                    let mut pos = offset;
                    for_each_array(p, c, |a| {
                        if a.null_count() > 0 {
                            for i in 0..a.len() {
                                if a.is_null(i) {
                                    m[pos + i] = false;
                                }
                            }
                        }
                        pos += a.len();
                        Ok(())
                    })?;
                }
                offset += n as usize;
            }
        }
        let mut drops: Vec<Vec<usize>> = Vec::new();
        if let Some(m) = &mask {
            let mut offset = 0usize;
            for &n in &file_rows {
                drops.push(dropped_rows(&m[offset..offset + n as usize]));
                offset += n as usize;
            }
        }
        let rows_valid = rows_total - drops.iter().map(|d| d.len() as u64).sum::<u64>();
        Ok(ParquetSide {
            files: files.to_vec(),
            file_rows,
            sizes,
            ranges,
            mask,
            drops,
            file_bytes,
            rows_total,
            rows_valid,
        })
    }

    /// The row mask of file `f`, which starts at row `offset` of the data set.
    fn file_mask(&self, f: usize, offset: usize) -> Option<FileMask<'_>> {
        let m = self.mask.as_ref()?;
        Some(FileMask {
            keep: &m[offset..offset + self.file_rows[f] as usize],
            drops: &self.drops[f],
            first: 0,
        })
    }

    /// Uncompressed bytes of a column over all files.
    pub(crate) fn size(&self, column: &str) -> u64 {
        self.sizes.get(column).copied().unwrap_or(0)
    }

    /// Values of a numeric column on the rows kept: page by page where the layout allows
    /// (dictionary pages counted by index), else through Arrow. With `dropped`, the column's
    /// nulls and its values on the rows the mask drops are recorded there (data quality).
    pub(crate) fn numeric(
        &self,
        column: &str,
        out: &mut Sample,
        dropped: Option<&mut Reading>,
    ) -> Result<(), DriftError> {
        let mut scratch = PageScratch::default();
        scratch.dropped = dropped.as_ref().map(|_| Reading::default());
        let mut offset = 0usize;
        if let Some(Some((lo, hi))) = self.ranges.get(column) {
            out.dense.offer(*lo, *hi, self.rows_valid);
        }
        out.expected = self.rows_valid.min(self.file_bytes) as usize;
        for (f, (p, &n)) in self.files.iter().zip(&self.file_rows).enumerate() {
            let mask = self.file_mask(f, offset);
            match guarded(p, Some(column), || {
                pq_pages::read_numeric(p, column, mask, out, &mut scratch)
            })? {
                Read::Done => offset += n as usize,
                Read::Unsupported(why) => {
                    tracing::debug!(%column, file = %p.display(), %why, "column read through Arrow");
                    out.clear();
                    return self.numeric_arrow(column, &mut out.values, dropped);
                }
            }
        }
        if let Some(d) = dropped {
            *d = scratch.dropped.take().unwrap_or_default();
            d.nulls = scratch.nulls;
        }
        Ok(())
    }

    /// Values of a numeric column on the rows kept, through the Arrow reader (and with
    /// `dropped`, its nulls and its values on the rows dropped).
    fn numeric_arrow(
        &self,
        column: &str,
        out: &mut Vec<f64>,
        mut dropped: Option<&mut Reading>,
    ) -> Result<(), DriftError> {
        if let Some(d) = &mut dropped {
            **d = Reading::default();
        }
        out.reserve(self.rows_valid.min(self.file_bytes) as usize);
        let mut pos = 0usize;
        for p in &self.files {
            let start = out.len();
            for_each_array(p, column, |a| {
                let owned;
                let arr = if a.data_type() == &DataType::Float64 {
                    a.as_primitive::<Float64Type>()
                } else {
                    owned = arrow_cast::cast(a, &DataType::Float64).map_err(|e| DriftError::WrongType {
                        path: p.clone(),
                        line: None,
                        column: column.to_string(),
                        message: format!("cannot read as numbers: {e}"),
                    })?;
                    owned.as_primitive::<Float64Type>()
                };
                let vals = arr.values();
                if let (Some(d), Some(m)) = (dropped.as_deref_mut(), &self.mask) {
                    d.nulls += arr.null_count() as u64;
                    for (i, k) in m[pos..pos + vals.len()].iter().enumerate() {
                        if !k && !arr.is_null(i) {
                            d.numbers.push(vals[i]);
                        }
                    }
                }
                match &self.mask {
                    None => out.extend_from_slice(vals),
                    Some(m) => out.extend(
                        vals.iter()
                            .zip(&m[pos..pos + vals.len()])
                            .filter(|(_, k)| **k)
                            .map(|(v, _)| *v),
                    ),
                }
                pos += vals.len();
                Ok(())
            })?;
            if let Some(&v) = out[start..].iter().find(|v| !v.is_finite()) {
                return Err(pq_pages::not_finite(p, column, v));
            }
        }
        Ok(())
    }

    /// Category counts of a column on the rows kept (values in their text form): page by page
    /// for UTF-8 columns (dictionary pages counted by index), else through Arrow. With
    /// `dropped`, the column's nulls and its values on the rows the mask drops are recorded there.
    pub(crate) fn counts(
        &self,
        column: &str,
        dropped: Option<&mut Reading>,
    ) -> Result<HashMap<String, u64>, DriftError> {
        let mut out: HashMap<String, u64> = HashMap::new();
        let mut scratch = PageScratch::default();
        scratch.dropped = dropped.as_ref().map(|_| Reading::default());
        let mut offset = 0usize;
        for (f, (p, &n)) in self.files.iter().zip(&self.file_rows).enumerate() {
            let mask = self.file_mask(f, offset);
            match guarded(p, Some(column), || {
                match pq_pages::read_int_categories(p, column, mask, &mut out, &mut scratch)? {
                    Read::Unsupported(why) if why == pq_pages::NOT_INT => {
                        pq_pages::read_categories(p, column, mask, &mut out, &mut scratch)
                    }
                    r => Ok(r),
                }
            })? {
                Read::Done => offset += n as usize,
                Read::Unsupported(why) => {
                    tracing::debug!(%column, file = %p.display(), %why, "categories read through Arrow");
                    return self.counts_arrow(column, dropped);
                }
            }
        }
        if let Some(d) = dropped {
            *d = scratch.dropped.take().unwrap_or_default();
            d.nulls = scratch.nulls;
        }
        Ok(out)
    }

    /// Category counts of a column on the rows kept, through the Arrow reader (and with
    /// `dropped`, its nulls and its values on the rows dropped).
    pub(crate) fn counts_arrow(
        &self,
        column: &str,
        mut dropped: Option<&mut Reading>,
    ) -> Result<HashMap<String, u64>, DriftError> {
        if let Some(d) = &mut dropped {
            **d = Reading::default();
        }
        let mut out: HashMap<String, u64> = HashMap::new();
        let mut plain = TextCounter::default();
        let mut pos = 0usize;
        for p in &self.files {
            for_each_array(p, column, |a| {
                let n = a.len();
                let keep = |i: usize| !a.is_null(i) && self.mask.as_ref().is_none_or(|m| m[pos + i]);
                // The rows dropped whose value is present (data quality).
                let mut gone: Vec<usize> = Vec::new();
                if let (Some(d), Some(m)) = (dropped.as_deref_mut(), &self.mask) {
                    d.nulls += a.null_count() as u64;
                    gone.extend((0..n).filter(|&i| !m[pos + i] && !a.is_null(i)));
                }
                if let Some(d) = a.as_any_dictionary_opt() {
                    let values = to_strings(d.values(), p, column)?;
                    let keys = d.normalized_keys();
                    if let Some(r) = dropped.as_deref_mut() {
                        for &i in &gone {
                            if let Some(v) = keys.get(i).and_then(|&k| values.get(k)) {
                                r.category(v);
                            }
                        }
                    }
                    let mut per = vec![0u64; values.len()];
                    for (i, &k) in keys.iter().enumerate() {
                        if keep(i) {
                            per[k] += 1;
                        }
                    }
                    for (k, c) in per.into_iter().enumerate() {
                        if c > 0 {
                            *out.entry(values[k].clone()).or_insert(0) += c;
                        }
                    }
                } else {
                    // One string array, counted by bytes (no `String` a value).
                    let text = as_text(a, p, column)?;
                    let values = text.as_string::<i32>();
                    if let Some(r) = dropped.as_deref_mut() {
                        for &i in &gone {
                            r.category(values.value(i));
                        }
                    }
                    for i in 0..n {
                        if keep(i) {
                            plain.count(values.value(i).as_bytes());
                        }
                    }
                }
                pos += n;
                Ok(())
            })?;
        }
        for (k, n) in plain.into_counts() {
            // Keys are the bytes of `str`s.
            *out.entry(String::from_utf8_lossy(&k).into_owned()).or_insert(0) += n;
        }
        Ok(out)
    }

    /// Distinct non-null values of an integer column over all rows (`None` above the cap, or
    /// above the count that makes the column numerical by the 5% rule: reading stops there).
    pub(crate) fn int_distinct(&self, column: &str) -> Result<Option<usize>, DriftError> {
        let rule = (self.rows_total as f64 * INT_CATEGORICAL_RATIO).ceil() as usize;
        let limit = MAX_INT_CATEGORIES.min(rule);
        let mut seen: FastMap<i64, u64> = FastMap::default();
        let mut paged = true;
        for (p, &n) in self.files.iter().zip(&self.file_rows) {
            match guarded(p, Some(column), || {
                pq_pages::int_distinct(p, column, n as usize, &mut seen, limit)
            })? {
                Some(true) => {}
                Some(false) => return Ok(None),
                None => {
                    paged = false;
                    break;
                }
            }
        }
        if paged {
            return Ok(Some(seen.len()));
        }
        let mut set: HashSet<i64> = HashSet::new();
        let mut over = false;
        for p in &self.files {
            for_each_array(p, column, |a| {
                if over {
                    return Ok(());
                }
                let c = arrow_cast::cast(a, &DataType::Int64).map_err(|e| pq_err(p, e))?;
                let c = c.as_primitive::<Int64Type>();
                for i in 0..c.len() {
                    if !c.is_null(i) {
                        set.insert(c.value(i));
                    }
                }
                if set.len() > limit {
                    over = true;
                }
                Ok(())
            })?;
        }
        Ok(if over { None } else { Some(set.len()) })
    }
}

/// The value range a column chunk's statistics give, for numeric physical types.
/// The positions of the `false` flags of `keep`, ascending (a block of 64 flags that are all
/// set is passed over at once).
fn dropped_rows(keep: &[bool]) -> Vec<usize> {
    let mut out = Vec::new();
    for (b, block) in keep.chunks(64).enumerate() {
        if block.iter().fold(true, |all, &k| all & k) {
            continue;
        }
        out.extend(
            block
                .iter()
                .enumerate()
                .filter(|(_, k)| !**k)
                .map(|(i, _)| b * 64 + i),
        );
    }
    out
}

fn stat_range(st: &parquet::file::statistics::Statistics) -> Option<(f64, f64)> {
    use parquet::file::statistics::Statistics as S;
    let (lo, hi) = match st {
        S::Double(v) => (*v.min_opt()?, *v.max_opt()?),
        S::Float(v) => (f64::from(*v.min_opt()?), f64::from(*v.max_opt()?)),
        S::Int32(v) => (f64::from(*v.min_opt()?), f64::from(*v.max_opt()?)),
        S::Int64(v) => (*v.min_opt()? as f64, *v.max_opt()? as f64),
        _ => return None,
    };
    (lo <= hi).then_some((lo, hi))
}

/// The values in their text form, as one string array (nulls stay null).
fn as_text(a: &ArrayRef, path: &Path, column: &str) -> Result<ArrayRef, DriftError> {
    arrow_cast::cast(a, &DataType::Utf8).map_err(|e| DriftError::WrongType {
        path: path.to_path_buf(),
        line: None,
        column: column.to_string(),
        message: format!("cannot read as categories: {e}"),
    })
}

pub(crate) fn to_strings(a: &ArrayRef, path: &Path, column: &str) -> Result<Vec<String>, DriftError> {
    let s = as_text(a, path, column)?;
    let s = s.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| {
            if s.is_null(i) {
                String::new()
            } else {
                s.value(i).to_string()
            }
        })
        .collect())
}

#[cfg(test)]
mod tests;
