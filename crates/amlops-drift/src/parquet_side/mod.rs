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

fn value_type(dt: &DataType) -> ValueType {
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
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    };
    use parquet::basic::{Compression, Encoding};
    use parquet::file::properties::{WriterProperties, WriterVersion};
    use parquet::schema::types::ColumnPath;

    use super::*;

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    /// Columns in every layout the page reader handles, plus ones it leaves to Arrow.
    fn write(path: &Path, props: WriterProperties, rows: usize, seed: u64) {
        let mut r = xorshift(seed);
        let mut unit = move || (r() >> 11) as f64 / (1u64 << 53) as f64;
        let few: Vec<f64> = (0..rows).map(|_| (unit() * 50.0).round() / 10.0).collect();
        let many: Vec<f64> = (0..rows).map(|_| unit() * 1e3 - 300.0).collect();
        let nullable: Vec<Option<f64>> = (0..rows)
            .map(|i| (i % 7 != 3).then(|| (unit() * 1e4).round() / 100.0))
            .collect();
        let f32s: Vec<f32> = (0..rows).map(|_| (unit() * 100.0) as f32).collect();
        let i32s: Vec<i32> = (0..rows).map(|_| (unit() * 40.0) as i32 - 20).collect();
        let i64s: Vec<Option<i64>> = (0..rows)
            .map(|i| (i % 11 != 5).then(|| (unit() * 1e9) as i64))
            .collect();
        let words: Vec<Option<String>> = (0..rows)
            .map(|i| (i % 13 != 7).then(|| format!("w{}", (unit() * 40.0) as u32)))
            .collect();
        let split: Vec<f64> = (0..rows).map(|_| unit()).collect();
        let cols: Vec<(&str, ArrayRef)> = vec![
            ("few", Arc::new(Float64Array::from(few))),
            ("many", Arc::new(Float64Array::from(many))),
            ("nullable", Arc::new(Float64Array::from(nullable))),
            ("f32", Arc::new(Float32Array::from(f32s))),
            ("i32", Arc::new(Int32Array::from(i32s))),
            ("i64", Arc::new(Int64Array::from(i64s))),
            ("words", Arc::new(StringArray::from(words))),
            ("split", Arc::new(Float64Array::from(split))),
        ];
        let batch = RecordBatch::try_from_iter(cols).unwrap_or_else(|e| panic!("batch: {e}"));
        crate::test_parquet::write(path, &batch, props);
    }

    fn sorted_bits(v: &Sample) -> Vec<u64> {
        let mut all = v.all_values();
        all.sort_unstable_by(|a, b| a.total_cmp(b));
        all.iter().map(|x| x.to_bits()).collect()
    }

    // Page-level reading equals Arrow reading for every column of files written with small
    // dictionaries (PLAIN fallback within a chunk), small pages, several row groups, v1 and v2
    // data pages, nulls dropping rows across columns, and a BYTE_STREAM_SPLIT column.
    #[test]
    fn page_reader_equals_arrow_in_every_layout() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        // Chunks are read page by page straight from the file, whatever their codec (see also
        // `every_codec_reads_like_arrow`).
        let variants = [
            (
                WriterVersion::PARQUET_1_0,
                512usize,
                3000usize,
                Compression::SNAPPY,
            ),
            (WriterVersion::PARQUET_2_0, 4096, 1000, Compression::SNAPPY),
            (
                WriterVersion::PARQUET_1_0,
                1 << 20,
                100_000,
                Compression::UNCOMPRESSED,
            ),
            (WriterVersion::PARQUET_2_0, 512, 3000, Compression::UNCOMPRESSED),
            (
                WriterVersion::PARQUET_1_0,
                512,
                3000,
                Compression::ZSTD(Default::default()),
            ),
        ];
        let columns = ["few", "many", "nullable", "f32", "i32", "i64", "words", "split"];
        for (k, &(version, dict_limit, group, codec)) in variants.iter().enumerate() {
            let files: Vec<PathBuf> = (0..2)
                .map(|i| dir.path().join(format!("v{k}-{i}.parquet")))
                .collect();
            for (i, f) in files.iter().enumerate() {
                let props = WriterProperties::builder()
                    .set_writer_version(version)
                    .set_compression(codec)
                    .set_dictionary_page_size_limit(dict_limit)
                    .set_data_page_row_count_limit(700)
                    .set_write_batch_size(100)
                    .set_max_row_group_size(group)
                    .set_column_dictionary_enabled(ColumnPath::from("split"), false)
                    .set_column_encoding(ColumnPath::from("split"), Encoding::BYTE_STREAM_SPLIT)
                    .build();
                write(f, props, 5000 + 1000 * i, 7 + i as u64);
            }
            let side =
                ParquetSide::open(&files, &columns.map(String::from)).unwrap_or_else(|e| panic!("open: {e}"));
            assert!(side.mask.is_some(), "nulls give a row mask");
            // Rows of a file with a null in `nullable`, `i64` or `words` drop.
            let valid = |rows: usize| {
                (0..rows)
                    .filter(|i| i % 7 != 3 && i % 11 != 5 && i % 13 != 7)
                    .count()
            };
            assert_eq!(side.rows_valid, (valid(5000) + valid(6000)) as u64, "variant {k}");
            for c in ["few", "many", "nullable", "f32", "i32", "i64", "split"] {
                let mut pages = Sample::default();
                side.numeric(c, &mut pages, None)
                    .unwrap_or_else(|e| panic!("{c}: {e}"));
                let mut arrow = Vec::new();
                side.numeric_arrow(c, &mut arrow, None)
                    .unwrap_or_else(|e| panic!("{c}: {e}"));
                assert_eq!(pages.len(), side.rows_valid, "variant {k} column {c}");
                // Decimal columns with statistics are counted densely while read.
                let decimal = matches!(c, "few" | "nullable" | "i32");
                assert_eq!(pages.dense.is_on(), decimal, "variant {k} column {c}");
                assert_eq!(
                    sorted_bits(&pages),
                    sorted_bits(&Sample::from_values(arrow)),
                    "variant {k} column {c}"
                );
                // The page reader handled every column but the BYTE_STREAM_SPLIT one (and the
                // v2 writer's DELTA_BINARY_PACKED fallback for integers, also left to Arrow).
                let mut direct = Sample::default();
                let m = side.file_mask(0, 0);
                let r = pq_pages::read_numeric(&files[0], c, m, &mut direct, &mut PageScratch::default())
                    .unwrap_or_else(|e| panic!("{c}: {e}"));
                if !(version == WriterVersion::PARQUET_2_0 && c == "i64") {
                    assert_eq!(r == Read::Done, c != "split", "variant {k} column {c}: {r:?}");
                }
                if c == "few" && k == 2 {
                    assert!(
                        direct.values.is_empty() && !direct.pairs.is_empty(),
                        "dictionary pages counted by index"
                    );
                }
                if c == "many" && k == 0 {
                    assert!(
                        !direct.values.is_empty() && !direct.pairs.is_empty(),
                        "dictionary then PLAIN"
                    );
                }
            }
            let pages = side
                .counts("words", None)
                .unwrap_or_else(|e| panic!("words: {e}"));
            let arrow = side
                .counts_arrow("words", None)
                .unwrap_or_else(|e| panic!("words: {e}"));
            assert_eq!(pages, arrow, "variant {k}");
            let m = side.file_mask(0, 0);
            let r = pq_pages::read_categories(
                &files[0],
                "words",
                m,
                &mut HashMap::new(),
                &mut PageScratch::default(),
            );
            assert_eq!(r.ok(), Some(Read::Done), "variant {k}: text read page by page");
            assert_eq!(pages.values().sum::<u64>(), side.rows_valid);
        }
    }

    #[test]
    fn nan_in_a_float_column_is_an_error_naming_the_column() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        for dictionary in [true, false] {
            let path = dir.path().join(format!("nan-{dictionary}.parquet"));
            let col: ArrayRef = Arc::new(Float64Array::from(vec![1.0, f64::NAN, 2.0]));
            let batch = RecordBatch::try_from_iter([("x", col)]).unwrap_or_else(|e| panic!("{e}"));
            let props = WriterProperties::builder()
                .set_dictionary_enabled(dictionary)
                .build();
            crate::test_parquet::write(&path, &batch, props);
            let side = ParquetSide::open(std::slice::from_ref(&path), &["x".to_string()])
                .unwrap_or_else(|e| panic!("{e}"));
            let err = side
                .numeric("x", &mut Sample::default(), None)
                .err()
                .map(|e| e.to_string());
            let msg = err.unwrap_or_default();
            assert!(
                msg.contains("NaN") && msg.contains('x') && msg.contains("nan-"),
                "{msg}"
            );
        }
    }

    #[test]
    fn a_text_value_that_is_not_utf8_is_an_error_naming_the_column() {
        use arrow_array::StringArray;
        use parquet::file::properties::EnabledStatistics;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        for dictionary in [true, false] {
            let path = dir.path().join(format!("text-{dictionary}.parquet"));
            // Written as valid text, then the placeholder's bytes replaced by bytes that are not
            // UTF-8 (no statistics, no compression: the value's bytes are in the file as such).
            let col: ArrayRef = Arc::new(StringArray::from(vec!["alpha", "b@@@@@", "alpha", "gamma"]));
            let batch = RecordBatch::try_from_iter([("city", col)]).unwrap_or_else(|e| panic!("{e}"));
            let props = WriterProperties::builder()
                .set_dictionary_enabled(dictionary)
                .set_statistics_enabled(EnabledStatistics::None)
                .build();
            crate::test_parquet::write(&path, &batch, props);
            let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let at = bytes
                .windows(6)
                .position(|w| w == b"b@@@@@")
                .unwrap_or_else(|| panic!("placeholder not in the file"));
            bytes[at + 1..at + 6].copy_from_slice(&[0xff, 0xfe, 0xc0, 0x80, 0xff]);
            std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
            let side = ParquetSide::open(std::slice::from_ref(&path), &["city".to_string()])
                .unwrap_or_else(|e| panic!("{e}"));
            let msg = side
                .counts("city", None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                msg.contains("not UTF-8") && msg.contains("`city`") && msg.contains("text-"),
                "dictionary {dictionary}: {msg:?}"
            );
        }
    }

    // Every codec the page reader decompresses itself (and the legacy LZ4 framing, left to the
    // `parquet` crate), dictionary on and off, v1 and v2 pages, several row groups, nulls in
    // several columns: the samples and category counts equal the Arrow reader's bit for bit.
    #[test]
    fn every_codec_reads_like_arrow() {
        use parquet::basic::{BrotliLevel, GzipLevel, ZstdLevel};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let codecs = [
            Compression::UNCOMPRESSED,
            Compression::SNAPPY,
            Compression::GZIP(GzipLevel::default()),
            Compression::ZSTD(ZstdLevel::default()),
            Compression::LZ4_RAW,
            Compression::BROTLI(BrotliLevel::default()),
            Compression::LZ4,
        ];
        let layouts = [
            (WriterVersion::PARQUET_1_0, true),
            (WriterVersion::PARQUET_1_0, false),
            (WriterVersion::PARQUET_2_0, true),
        ];
        let columns = ["few", "many", "nullable", "f32", "i32", "i64", "words", "split"];
        for (k, codec) in codecs.iter().enumerate() {
            for (j, &(version, dictionary)) in layouts.iter().enumerate() {
                let files: Vec<PathBuf> = (0..2)
                    .map(|i| dir.path().join(format!("c{k}-{j}-{i}.parquet")))
                    .collect();
                for (i, f) in files.iter().enumerate() {
                    let props = WriterProperties::builder()
                        .set_writer_version(version)
                        .set_compression(*codec)
                        .set_dictionary_enabled(dictionary)
                        .set_data_page_row_count_limit(600)
                        .set_write_batch_size(100)
                        .set_max_row_group_size(1700)
                        .build();
                    write(f, props, 4000 + 1500 * i, 11 + i as u64);
                }
                let what = format!("{codec} {version:?} dictionary {dictionary}");
                let side = ParquetSide::open(&files, &columns.map(String::from))
                    .unwrap_or_else(|e| panic!("{what}: open: {e}"));
                for c in ["few", "many", "nullable", "f32", "i32", "i64", "split"] {
                    let mut pages = Sample::default();
                    side.numeric(c, &mut pages, None)
                        .unwrap_or_else(|e| panic!("{what} {c}: {e}"));
                    let mut arrow = Vec::new();
                    side.numeric_arrow(c, &mut arrow, None)
                        .unwrap_or_else(|e| panic!("{what} {c}: {e}"));
                    assert_eq!(pages.len(), side.rows_valid, "{what} {c}");
                    assert_eq!(
                        sorted_bits(&pages),
                        sorted_bits(&Sample::from_values(arrow)),
                        "{what} {c}"
                    );
                    // Read page by page (the v2 writer's DELTA fallback for integers without
                    // a dictionary is left to Arrow; this layout keeps its dictionary).
                    for (f, file) in files.iter().enumerate() {
                        let r = pq_pages::read_numeric(
                            file,
                            c,
                            side.file_mask(f, 0),
                            &mut Sample::default(),
                            &mut PageScratch::default(),
                        )
                        .unwrap_or_else(|e| panic!("{what} {c}: {e}"));
                        assert_eq!(r, Read::Done, "{what} {c}");
                    }
                }
                let pages = side
                    .counts("words", None)
                    .unwrap_or_else(|e| panic!("{what} words: {e}"));
                let arrow = side
                    .counts_arrow("words", None)
                    .unwrap_or_else(|e| panic!("{what} words: {e}"));
                assert_eq!(pages, arrow, "{what}");
            }
        }
    }

    // A damaged compressed page is an error naming the file and the column, never a panic:
    // its bytes zeroed (always an error), or bits flipped (gzip checks its CRC).
    #[test]
    fn damaged_compressed_pages_are_errors_naming_file_and_column() {
        use parquet::basic::{BrotliLevel, GzipLevel, ZstdLevel};
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let codecs = [
            Compression::SNAPPY,
            Compression::GZIP(GzipLevel::default()),
            Compression::ZSTD(ZstdLevel::default()),
            Compression::LZ4_RAW,
            Compression::BROTLI(BrotliLevel::default()),
        ];
        for (k, codec) in codecs.iter().enumerate() {
            let good = dir.path().join(format!("good-{k}.parquet"));
            let props = WriterProperties::builder()
                .set_compression(*codec)
                .set_dictionary_enabled(false)
                .build();
            write(&good, props, 3000, 5);
            let bytes = std::fs::read(&good).unwrap_or_else(|e| panic!("{e}"));
            let reader = SerializedFileReader::new(bytes::Bytes::from(bytes.clone()))
                .unwrap_or_else(|e| panic!("{e}"));
            let (start, _) = reader.metadata().row_group(0).column(1).byte_range();
            let start = start as usize;
            let (h, header_len) =
                crate::thrift::page_header(&bytes[start..]).unwrap_or_else(|e| panic!("{e}"));
            let body = start + header_len..start + header_len + h.compressed_size as usize;
            for zero in [true, false] {
                let mut damaged = bytes.clone();
                for (i, b) in damaged[body.clone()].iter_mut().enumerate() {
                    if zero {
                        *b = 0;
                    } else if i % 53 == 17 {
                        *b ^= 0x24;
                    }
                }
                let path = dir.path().join(format!("damaged-{k}-{zero}.parquet"));
                std::fs::write(&path, &damaged).unwrap_or_else(|e| panic!("{e}"));
                let r = pq_pages::read_numeric(
                    &path,
                    "many",
                    None,
                    &mut Sample::default(),
                    &mut PageScratch::default(),
                );
                let must_fail = zero || matches!(codec, Compression::GZIP(_));
                match r {
                    Err(e) => {
                        let msg = e.to_string();
                        assert!(
                            msg.contains(&format!("damaged-{k}")) && msg.contains("`many`"),
                            "{codec}: {msg}"
                        );
                    }
                    Ok(r) => assert!(!must_fail, "{codec} zeroed {zero}: {r:?}"),
                }
            }
        }
    }
}
