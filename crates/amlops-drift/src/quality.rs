//! Data quality of the target, as Azure ML model monitoring's data-quality signal defines it,
//! per column and over every target row (before rows with nulls are dropped):
//!
//! - `null_value_rate`: nulls / rows.
//! - `data_type_error_rate`: values not of the baseline column's type / rows (such a value is
//!   then treated as missing; it never fails the run).
//! - `out_of_bounds_rate`: values outside the baseline's range (numerical: below its minimum
//!   or above its maximum; categorical: a category the baseline never had) / rows.
//!
//! The baseline's range and categories are those of the baseline rows the drift metrics use.
//! When no target row was dropped the counts come from the drift samples themselves; otherwise
//! one more pass over the target counts every row.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_schema::DataType;

use crate::DriftError;
use crate::csv_side::{is_null_text, parse_bool, parse_f64, parse_i64};
use crate::parquet_side::{for_each_array, to_strings};
use crate::source::{DataFormat, ValueType};

/// What the baseline had in a column.
#[derive(Debug, Clone)]
pub(crate) enum Bounds {
    /// Smallest and largest value (numerical).
    Range(f64, f64),
    /// The categories (categorical).
    Categories(HashSet<String>),
}

/// A target column to check.
#[derive(Debug, Clone)]
pub(crate) struct QualityColumn {
    pub name: String,
    /// The type the target is read as.
    pub vt: ValueType,
    /// Read as numbers (else as categories).
    pub numerical: bool,
    pub bounds: Bounds,
}

/// Counts of one column over every target row.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ColumnQuality {
    pub nulls: u64,
    pub type_errors: u64,
    pub out_of_bounds: u64,
    /// The first value of the wrong type: where, what, what was expected.
    pub first_type_error: Option<String>,
}

impl ColumnQuality {
    pub(crate) fn type_error(&mut self, path: &Path, line: Option<u64>, text: &[u8], what: &str) {
        self.type_errors += 1;
        if self.first_type_error.is_none() {
            let at = line.map(|l| format!(", line {l}")).unwrap_or_default();
            self.first_type_error = Some(format!(
                "`{}` ({}{at}) is not {what}",
                String::from_utf8_lossy(&text[..text.len().min(100)]),
                path.display()
            ));
        }
    }
}

/// Count nulls, type errors and out-of-bounds values of every row of the target.
pub(crate) fn pass(
    format: DataFormat,
    files: &[PathBuf],
    cols: &[QualityColumn],
) -> Result<Vec<ColumnQuality>, DriftError> {
    match format {
        DataFormat::Csv => csv_pass(files, cols),
        DataFormat::Parquet => parquet_pass(files, cols),
        DataFormat::Jsonl => crate::jsonl_side::quality(files, cols),
    }
}

fn in_range(b: &Bounds, v: f64) -> bool {
    match b {
        Bounds::Range(lo, hi) => v >= *lo && v <= *hi,
        Bounds::Categories(_) => true,
    }
}

fn known(b: &Bounds, key: &str) -> bool {
    match b {
        Bounds::Categories(set) => set.contains(key),
        Bounds::Range(..) => true,
    }
}

fn csv_pass(files: &[PathBuf], cols: &[QualityColumn]) -> Result<Vec<ColumnQuality>, DriftError> {
    let mut out = vec![ColumnQuality::default(); cols.len()];
    for path in files {
        let f = std::fs::File::open(path).map_err(|e| DriftError::io(path, e))?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .buffer_capacity(1 << 20)
            .from_reader(f);
        let csv_err = |e: csv::Error| DriftError::Csv {
            path: path.clone(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: e.to_string(),
        };
        let headers: Vec<String> = r
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(|s| s.trim_start_matches('\u{feff}').to_string())
            .collect();
        let idx: Vec<usize> = cols
            .iter()
            .map(|c| {
                headers
                    .iter()
                    .position(|h| *h == c.name)
                    .ok_or_else(|| DriftError::MissingColumn {
                        path: path.clone(),
                        column: c.name.clone(),
                        available: headers.join(", "),
                    })
            })
            .collect::<Result<_, _>>()?;
        let mut rec = csv::ByteRecord::new();
        while r.read_byte_record(&mut rec).map_err(csv_err)? {
            let line = rec.position().map(|p| p.line());
            for ((c, q), &i) in cols.iter().zip(out.iter_mut()).zip(&idx) {
                let f = rec.get(i).unwrap_or(b"");
                if c.numerical {
                    match parse_f64(f) {
                        Some(v) if !in_range(&c.bounds, v) => q.out_of_bounds += 1,
                        Some(_) => {}
                        None if is_null_text(f) => q.nulls += 1,
                        None => q.type_error(path, line, f, "a number"),
                    }
                    continue;
                }
                if c.vt != ValueType::Str && is_null_text(f) {
                    q.nulls += 1;
                    continue;
                }
                let key: Option<String> = match c.vt {
                    ValueType::Int => match parse_i64(f) {
                        Some(v) => Some(v.to_string()),
                        None => {
                            q.type_error(path, line, f, "an integer");
                            continue;
                        }
                    },
                    ValueType::Bool => match parse_bool(f) {
                        Some(b) => Some(b.to_string()),
                        None => {
                            q.type_error(path, line, f, "a boolean");
                            continue;
                        }
                    },
                    _ => None,
                };
                let ok = match key {
                    Some(k) => known(&c.bounds, &k),
                    None => known(&c.bounds, &String::from_utf8_lossy(f)),
                };
                if !ok {
                    q.out_of_bounds += 1;
                }
            }
        }
    }
    Ok(out)
}

fn parquet_pass(files: &[PathBuf], cols: &[QualityColumn]) -> Result<Vec<ColumnQuality>, DriftError> {
    let mut out = vec![ColumnQuality::default(); cols.len()];
    for path in files {
        for (c, q) in cols.iter().zip(out.iter_mut()) {
            for_each_array(path, &c.name, |a| {
                q.nulls += a.null_count() as u64;
                if c.numerical {
                    let owned;
                    let arr = if a.data_type() == &DataType::Float64 {
                        a.as_primitive::<Float64Type>()
                    } else {
                        owned =
                            arrow_cast::cast(a, &DataType::Float64).map_err(|e| DriftError::WrongType {
                                path: path.clone(),
                                line: None,
                                column: c.name.clone(),
                                message: format!("cannot read as numbers: {e}"),
                            })?;
                        owned.as_primitive::<Float64Type>()
                    };
                    for i in 0..arr.len() {
                        if !arr.is_null(i) && !in_range(&c.bounds, arr.value(i)) {
                            q.out_of_bounds += 1;
                        }
                    }
                } else if let Some(d) = a.as_any_dictionary_opt() {
                    let values = to_strings(d.values(), path, &c.name)?;
                    let unknown: Vec<bool> = values.iter().map(|v| !known(&c.bounds, v)).collect();
                    for (i, &k) in d.normalized_keys().iter().enumerate() {
                        if !a.is_null(i) && unknown.get(k).copied().unwrap_or(false) {
                            q.out_of_bounds += 1;
                        }
                    }
                } else {
                    let values = to_strings(a, path, &c.name)?;
                    for (i, v) in values.iter().enumerate() {
                        if !a.is_null(i) && !known(&c.bounds, v) {
                            q.out_of_bounds += 1;
                        }
                    }
                }
                Ok(())
            })?;
        }
    }
    Ok(out)
}
