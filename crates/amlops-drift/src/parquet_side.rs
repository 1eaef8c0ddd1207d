//! Parquet input: schema and null statistics from the footers, then one projected read per
//! column (a column is decoded only when its metric job runs).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

use crate::DriftError;
use crate::csv_side::MAX_INT_CATEGORIES;
use crate::source::ValueType;

const BATCH: usize = 64 * 1024;

fn pq_err(path: &Path, e: impl std::fmt::Display) -> DriftError {
    DriftError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn open(
    path: &Path,
    options: ArrowReaderOptions,
) -> Result<ParquetRecordBatchReaderBuilder<File>, DriftError> {
    let f = File::open(path).map_err(|e| DriftError::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new_with_options(f, options).map_err(|e| pq_err(path, e))
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
    mask: Option<Vec<bool>>,
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
fn for_each_array(
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
        for p in files {
            let b = open(p, ArrowReaderOptions::new())?;
            let n = b.metadata().file_metadata().num_rows() as u64;
            file_rows.push(n);
            rows_total += n;
        }
        let mut mask: Option<Vec<bool>> = None;
        for c in columns {
            let mut offset = 0usize;
            for (p, &n) in files.iter().zip(&file_rows) {
                if may_have_nulls(p, c)? {
                    let m = mask.get_or_insert_with(|| vec![true; rows_total as usize]);
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
        let rows_valid = mask
            .as_ref()
            .map_or(rows_total, |m| m.iter().filter(|&&v| v).count() as u64);
        Ok(ParquetSide {
            files: files.to_vec(),
            mask,
            rows_total,
            rows_valid,
        })
    }

    /// Values of a numeric column on the rows kept.
    pub(crate) fn numeric(&self, column: &str, out: &mut Vec<f64>) -> Result<(), DriftError> {
        out.reserve(self.rows_valid as usize);
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
            if out[start..].iter().any(|v| v.is_nan()) {
                return Err(DriftError::WrongType {
                    path: p.clone(),
                    line: None,
                    column: column.to_string(),
                    message: "holds NaN values; write missing values as nulls".into(),
                });
            }
        }
        Ok(())
    }

    /// Category counts of a column on the rows kept (values in their text form).
    pub(crate) fn counts(&self, column: &str) -> Result<HashMap<String, u64>, DriftError> {
        let mut out: HashMap<String, u64> = HashMap::new();
        let mut pos = 0usize;
        for p in &self.files {
            for_each_array(p, column, |a| {
                let n = a.len();
                let keep = |i: usize| !a.is_null(i) && self.mask.as_ref().is_none_or(|m| m[pos + i]);
                if let Some(d) = a.as_any_dictionary_opt() {
                    let values = to_strings(d.values(), p, column)?;
                    let keys = d.normalized_keys();
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
                    let values = to_strings(a, p, column)?;
                    for (i, v) in values.into_iter().enumerate() {
                        if keep(i) {
                            *out.entry(v).or_insert(0) += 1;
                        }
                    }
                }
                pos += n;
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// Distinct non-null values of an integer column over all rows (`None` above the cap).
    pub(crate) fn int_distinct(&self, column: &str) -> Result<Option<usize>, DriftError> {
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
                if set.len() > MAX_INT_CATEGORIES {
                    over = true;
                }
                Ok(())
            })?;
        }
        Ok(if over { None } else { Some(set.len()) })
    }
}

fn to_strings(a: &ArrayRef, path: &Path, column: &str) -> Result<Vec<String>, DriftError> {
    let s = arrow_cast::cast(a, &DataType::Utf8).map_err(|e| DriftError::WrongType {
        path: path.to_path_buf(),
        line: None,
        column: column.to_string(),
        message: format!("cannot read as categories: {e}"),
    })?;
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
