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
//! Rows the drift metrics keep have no nulls and no type errors, and their out-of-bounds values
//! are counted from the drift samples. The rows they drop are recorded while the target is read
//! for drift ([`DroppedRows`], [`Reading`]: per column its nulls, type errors and valid values)
//! and judged once the baseline's bounds are known. When the dropped rows hold more values
//! than a bound ([`DROPPED_VALUES_LIMIT`]), one more pass over the target ([`pass`]) counts
//! every row instead; it is also the reference the fused counts are tested against.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_schema::DataType;

use crate::DriftError;
use crate::csv_side::{ScanColumn, is_null_text, parse_bool, parse_f64, parse_i64};
use crate::parquet_side::{for_each_array, to_strings};
use crate::source::{DataFormat, ValueType};

/// What the baseline had in a column.
#[derive(Debug, Clone)]
pub(crate) enum Bounds {
    /// Smallest and largest value (numerical).
    Range(f64, f64),
    /// The categories (categorical), as the baseline counted them.
    Categories(HashMap<String, u64>),
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
            self.first_type_error = Some(describe(path, line, text, what));
        }
    }
}

/// A value of the wrong type: what, where, what was expected.
fn describe(path: &Path, line: Option<u64>, text: &[u8], what: &str) -> String {
    let at = line.map(|l| format!(", line {l}")).unwrap_or_default();
    format!(
        "`{}` ({}{at}) is not {what}",
        String::from_utf8_lossy(&text[..text.len().min(100)]),
        path.display()
    )
}

/// Values the dropped target rows may hold, in all columns, before the counts fall back to a
/// second pass over the target (8 bytes a number, so at most 128 MiB, less than the pair of samples
/// of a 10M-row column; a category is counted once per distinct value). At 4M, a 2M-row target
/// with a third of its rows dropped in 9 columns took the second pass (a third of its run time).
pub(crate) const DROPPED_VALUES_LIMIT: usize = 16_000_000;

/// What the target rows the drift metrics drop hold in one column, read one way (as numbers or
/// as categories of the column's type), exactly as [`pass`] reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Reading {
    pub nulls: u64,
    pub type_errors: u64,
    /// The first value of the wrong type: where, what, what was expected.
    pub first_type_error: Option<String>,
    /// The valid values, when read as numbers.
    pub numbers: Vec<f64>,
    /// The valid values and how often each occurs, when read as categories (text form).
    pub categories: crate::counting::TextCounter,
    /// Category values that are not UTF-8 text (never a baseline category).
    pub not_text: u64,
}

impl Reading {
    pub(crate) fn type_error(&mut self, path: &Path, line: Option<u64>, text: &[u8], what: &str) {
        self.type_errors += 1;
        if self.first_type_error.is_none() {
            self.first_type_error = Some(describe(path, line, text, what));
        }
    }

    pub(crate) fn category(&mut self, key: &str) {
        self.categories.count(key.as_bytes());
    }

    /// Values held.
    fn held(&self) -> usize {
        self.numbers.len() + self.categories.len()
    }

    /// The column's counts over every target row: these dropped rows, plus the rows kept
    /// (no nulls or type errors there; `out_of_bounds_kept` of their values outside `bounds`).
    pub(crate) fn quality(&self, bounds: &Bounds, out_of_bounds_kept: u64) -> ColumnQuality {
        let numbers = self.numbers.iter().filter(|&&v| !in_range(bounds, v)).count() as u64;
        let mut categories = 0u64;
        // Keys are the bytes of `str`s.
        self.categories.for_each(|k, n| {
            if !std::str::from_utf8(k).is_ok_and(|k| known(bounds, k)) {
                categories += n;
            }
        });
        let not_text = if matches!(bounds, Bounds::Categories(_)) {
            self.not_text
        } else {
            0
        };
        ColumnQuality {
            nulls: self.nulls,
            type_errors: self.type_errors,
            out_of_bounds: out_of_bounds_kept + numbers + categories + not_text,
            first_type_error: self.first_type_error.clone(),
        }
    }
}

/// A target column on the dropped rows, in each way it may still be read: a column whose kind
/// the baseline decides later (an integer column) keeps both readings.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DroppedColumn {
    pub as_number: Option<Reading>,
    pub as_category: Option<Reading>,
}

impl DroppedColumn {
    /// The reading for the column's final kind.
    pub(crate) fn reading(&self, numerical: bool) -> Option<&Reading> {
        if numerical {
            self.as_number.as_ref()
        } else {
            self.as_category.as_ref()
        }
    }

    fn held(&self) -> usize {
        self.as_number.as_ref().map_or(0, Reading::held) + self.as_category.as_ref().map_or(0, Reading::held)
    }

    /// One CSV field of a dropped row, read as [`pass`] reads it (`vt`: the type the target is
    /// read as).
    pub(crate) fn csv_field(&mut self, vt: ValueType, path: &Path, line: Option<u64>, f: &[u8]) {
        if let Some(r) = self.as_number.as_mut() {
            match csv_number(f) {
                Field::Null => r.nulls += 1,
                Field::Wrong(what) => r.type_error(path, line, f, what),
                Field::Number(v) => r.numbers.push(v),
                Field::Key(_) => {}
            }
        }
        if let Some(r) = self.as_category.as_mut() {
            match csv_category(vt, f) {
                Field::Null => r.nulls += 1,
                Field::Wrong(what) => r.type_error(path, line, f, what),
                Field::Key(k) => r.category(&k),
                Field::Number(_) => {}
            }
        }
    }
}

/// The dropped target rows of a data set read for drift, a [`DroppedColumn`] per compared
/// column, until they hold more than `limit` values: then they are given up ([`Self::full`])
/// and quality is counted by a second pass.
#[derive(Debug, Clone)]
pub(crate) struct DroppedRows {
    pub columns: Vec<DroppedColumn>,
    limit: usize,
    full: bool,
}

impl DroppedRows {
    /// For the scan columns of a text data set: a column that may be spilled is read as
    /// numbers, one that may be counted as categories (an undecided integer column both).
    pub(crate) fn for_scan(cols: &[ScanColumn], limit: usize) -> DroppedRows {
        DroppedRows {
            columns: cols
                .iter()
                .map(|c| DroppedColumn {
                    as_number: c.spill.then(Reading::default),
                    as_category: c.count.then(Reading::default),
                })
                .collect(),
            limit,
            full: false,
        }
    }

    /// True once the dropped rows held more than the limit: nothing more is recorded.
    pub(crate) fn full(&self) -> bool {
        self.full
    }

    /// Record one dropped CSV row: `field(k)` is the text of scan column `k`.
    pub(crate) fn csv_row<'a>(
        &mut self,
        cols: &[ScanColumn],
        path: &Path,
        line: Option<u64>,
        field: impl Fn(usize) -> &'a [u8],
    ) {
        if self.full {
            return;
        }
        for (k, (c, d)) in cols.iter().zip(self.columns.iter_mut()).enumerate() {
            d.csv_field(c.vt, path, line, field(k));
        }
        self.row_done();
    }

    /// Call after each dropped row: past the limit, the values are given up.
    pub(crate) fn row_done(&mut self) {
        if !self.full && self.columns.iter().map(DroppedColumn::held).sum::<usize>() > self.limit {
            self.full = true;
            for c in &mut self.columns {
                *c = DroppedColumn::default();
            }
        }
    }
}

/// How a CSV field reads.
enum Field<'a> {
    Null,
    Wrong(&'static str),
    Number(f64),
    Key(Cow<'a, str>),
}

/// A CSV field read as a number.
fn csv_number(f: &[u8]) -> Field<'_> {
    match parse_f64(f) {
        Some(v) => Field::Number(v),
        None if is_null_text(f) => Field::Null,
        None => Field::Wrong("a number"),
    }
}

/// A CSV field read as a category of type `vt` (its key in text form).
fn csv_category(vt: ValueType, f: &[u8]) -> Field<'_> {
    if vt != ValueType::Str && is_null_text(f) {
        return Field::Null;
    }
    match vt {
        ValueType::Int => match parse_i64(f) {
            Some(v) => Field::Key(Cow::Owned(v.to_string())),
            None => Field::Wrong("an integer"),
        },
        ValueType::Bool => match parse_bool(f) {
            Some(b) => Field::Key(Cow::Borrowed(if b { "true" } else { "false" })),
            None => Field::Wrong("a boolean"),
        },
        _ => Field::Key(String::from_utf8_lossy(f)),
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
        Bounds::Categories(categories) => categories.contains_key(key),
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
                let field = if c.numerical {
                    csv_number(f)
                } else {
                    csv_category(c.vt, f)
                };
                match field {
                    Field::Null => q.nulls += 1,
                    Field::Wrong(what) => q.type_error(path, line, f, what),
                    Field::Number(v) => {
                        if !in_range(&c.bounds, v) {
                            q.out_of_bounds += 1;
                        }
                    }
                    Field::Key(k) => {
                        if !known(&c.bounds, &k) {
                            q.out_of_bounds += 1;
                        }
                    }
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

#[cfg(test)]
mod tests;
