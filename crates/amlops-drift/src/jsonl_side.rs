//! JSON Lines input: Azure ML data-collector events (`{"specversion": .., "data": [{row}, ..]}`,
//! or `"data": {"col": [..]}`) and plain JSON Lines of row objects, streamed a line at a time
//! through one reused buffer.
//!
//! Types are inferred from the first rows of each file, as for CSV: integer literals are
//! integers, other numbers floating point, `true`/`false` booleans, strings strings; a column
//! mixing kinds of scalars is compared by text (as CSV would), objects and arrays by their JSON
//! text. `null`, a missing key and `NaN`/`Infinity` are null. A line that is not a JSON object,
//! or an event without rows, is skipped with a warning naming file and line; more than 1% of
//! such lines fail the data set, naming the first. Payload-logging events (`data` holds the raw
//! request or response body as a string) are an error: collect `model_inputs` instead.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::DriftError;
use crate::counting::Counter;
use crate::csv_side::{CsvScan, ScanColumn, finish_scan, parse_f64, parse_i64};
use crate::jsonl_json::{Cell, ColumnMap, LineError, LineRows, MAX_COLUMNS, cell_text, parse_line};
use crate::quality::{Bounds, ColumnQuality, DroppedColumn, DroppedRows, QualityColumn};
use crate::source::ValueType;

/// Rows used to infer column types from the start of each file.
const INFER_ROWS: u64 = 10_000;
/// Longest line read (a collector event holds one request's rows).
pub(crate) const MAX_LINE: u64 = 256 << 20;
/// Largest share of malformed lines a data set may have.
pub(crate) const MAX_MALFORMED_SHARE: f64 = 0.01;
/// Malformed lines listed one by one in the warnings.
const WARNINGS_LISTED: usize = 10;

/// What reading the lines of a data set met.
#[derive(Debug, Default, Clone)]
pub(crate) struct LineReport {
    /// Non-blank lines.
    pub lines: u64,
    /// Lines skipped as malformed.
    pub malformed: u64,
    /// The first malformed line: file, line, why.
    pub first: Option<(PathBuf, u64, String)>,
    /// A warning for each of the first malformed lines.
    pub warnings: Vec<String>,
    /// Where a key was met once the most columns were known (schema inference).
    pub too_many_keys: Option<(PathBuf, u64)>,
}

impl LineReport {
    fn skip(&mut self, path: &Path, line: u64, why: String) {
        self.malformed += 1;
        tracing::warn!(file = %path.display(), line, %why, "malformed JSON line skipped");
        if self.warnings.len() < WARNINGS_LISTED {
            self.warnings
                .push(format!("{}, line {line}: skipped: {why}", path.display()));
        }
        if self.first.is_none() {
            self.first = Some((path.to_path_buf(), line, why));
        }
    }

    /// The warnings, with a count of the ones not listed.
    pub(crate) fn all_warnings(&self) -> Vec<String> {
        let mut w = self.warnings.clone();
        let more = self.malformed.saturating_sub(w.len() as u64);
        if more > 0 {
            w.push(format!("... and {more} more malformed lines skipped"));
        }
        w
    }

    /// Fail when more than 1% of the lines are malformed.
    fn check(&self) -> Result<(), DriftError> {
        if let Some((path, line, why)) = &self.first
            && self.malformed as f64 > MAX_MALFORMED_SHARE * self.lines as f64
        {
            return Err(DriftError::MalformedLines {
                path: path.clone(),
                line: *line,
                message: why.clone(),
                malformed: self.malformed,
                lines: self.lines,
            });
        }
        Ok(())
    }
}

/// One row: a cell per column of the map, with the line it came from.
pub(crate) struct Row<'a> {
    pub cells: &'a [Cell],
    line: &'a [u8],
    arena: &'a [u8],
}

impl Row<'_> {
    pub(crate) fn text(&self, c: Cell) -> &[u8] {
        cell_text(c, self.line, self.arena)
    }
}

/// Call `on_row(file, line, row)` for every row of every file (at most `per_file` rows of a
/// file), skipping malformed lines.
fn for_each_row(
    files: &[PathBuf],
    cols: &mut ColumnMap,
    per_file: Option<u64>,
    mut on_row: impl FnMut(&Path, u64, &Row<'_>) -> Result<(), DriftError>,
) -> Result<LineReport, DriftError> {
    let mut report = LineReport::default();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut rows = LineRows::default();
    let mut dense: Vec<Cell> = Vec::new();
    for path in files {
        let f = File::open(path).map_err(|e| DriftError::io(path, e))?;
        let mut r = BufReader::with_capacity(1 << 20, f);
        let mut line_no = 0u64;
        let mut file_rows = 0u64;
        loop {
            buf.clear();
            let n = (&mut r)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|e| DriftError::io(path, e))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if buf.len() as u64 > MAX_LINE {
                return Err(DriftError::Jsonl {
                    path: path.clone(),
                    line: line_no,
                    message: format!(
                        "the line is longer than {} MiB; write one event or row a line",
                        MAX_LINE >> 20
                    ),
                });
            }
            let mut line: &[u8] = &buf;
            while let Some((&last, rest)) = line.split_last() {
                if last == b'\n' || last == b'\r' {
                    line = rest;
                } else {
                    break;
                }
            }
            if line_no == 1 {
                line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
            }
            if line.iter().all(|c| c.is_ascii_whitespace()) {
                continue;
            }
            report.lines += 1;
            if let Err(e) = std::str::from_utf8(line) {
                report.skip(path, line_no, format!("not UTF-8 text ({e})"));
                continue;
            }
            match parse_line(line, cols, &mut rows) {
                Ok(()) => {}
                Err(LineError::Malformed(why)) => {
                    report.skip(path, line_no, why);
                    continue;
                }
                Err(LineError::Payload(kind)) => {
                    return Err(DriftError::Jsonl {
                        path: path.clone(),
                        line: line_no,
                        message: format!(
                            "a payload-logging event ({}): its `data` is the raw request or response body, \
                             not rows; read the `model_inputs` or `model_outputs` collection instead",
                            if kind.is_empty() { "no type" } else { &kind }
                        ),
                    });
                }
            }
            if cols.overflow && report.too_many_keys.is_none() {
                report.too_many_keys = Some((path.clone(), line_no));
            }
            let n_cols = cols.names.len();
            let mut from = 0;
            for &end in &rows.ends {
                dense.clear();
                dense.resize(n_cols, Cell::Null);
                for &(c, v) in &rows.entries[from..end] {
                    dense[c] = v;
                }
                from = end;
                on_row(
                    path,
                    line_no,
                    &Row {
                        cells: &dense,
                        line,
                        arena: &rows.arena,
                    },
                )?;
                file_rows += 1;
            }
            if per_file.is_some_and(|m| file_rows >= m) {
                break;
            }
        }
    }
    Ok(report)
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    any: bool,
    int: bool,
    num: bool,
    bool_: bool,
    nested: bool,
}

/// Column names (in the order first seen) and inferred types of a JSON Lines data set.
pub(crate) fn schema(files: &[PathBuf]) -> Result<Vec<(String, ValueType)>, DriftError> {
    let mut cols = ColumnMap::growing();
    let mut seen: Vec<Seen> = Vec::new();
    let mut rows = 0u64;
    let lines = for_each_row(files, &mut cols, Some(INFER_ROWS), |_, _, row| {
        rows += 1;
        if seen.len() < row.cells.len() {
            seen.resize(
                row.cells.len(),
                Seen {
                    any: false,
                    int: true,
                    num: true,
                    bool_: true,
                    nested: false,
                },
            );
        }
        for (s, &c) in seen.iter_mut().zip(row.cells) {
            if c == Cell::Null {
                continue;
            }
            s.any = true;
            s.int &= matches!(c, Cell::Num { int: true, .. }) && parse_i64(row.text(c)).is_some();
            s.num &= matches!(c, Cell::Num { .. });
            s.bool_ &= matches!(c, Cell::Bool(_));
            s.nested |= matches!(c, Cell::Nested { .. });
        }
        Ok(())
    })?;
    if rows == 0 {
        // Nothing but malformed lines: say so rather than "no rows".
        lines.check()?;
    }
    if let Some((path, line)) = lines.too_many_keys {
        return Err(DriftError::Jsonl {
            path,
            line,
            message: format!(
                "the rows have more than {MAX_COLUMNS} distinct keys; write one column a key (not data as keys)"
            ),
        });
    }
    if rows == 0 || cols.names.is_empty() {
        return Err(DriftError::EmptyFile {
            path: files.first().cloned().unwrap_or_default(),
        });
    }
    Ok(cols
        .names
        .into_iter()
        .zip(seen)
        .map(|(n, s)| {
            let vt = if !s.any {
                ValueType::Null
            } else if s.nested {
                ValueType::Other
            } else if s.int {
                ValueType::Int
            } else if s.num {
                ValueType::Float
            } else if s.bool_ {
                ValueType::Bool
            } else {
                ValueType::Str
            };
            (n, vt)
        })
        .collect())
}

/// How a cell reads for a column: null, of the wrong type (what was expected), a number, or a
/// category key.
enum Class {
    Null,
    Wrong(&'static str),
    Number(f64),
    Key,
}

fn classify(c: Cell, row: &Row<'_>, vt: ValueType, number: bool) -> Class {
    match c {
        Cell::Null => Class::Null,
        Cell::Num { .. } if number => match parse_f64(row.text(c)) {
            Some(v) => Class::Number(v),
            None => Class::Wrong("a finite number"),
        },
        _ if number => Class::Wrong("a number"),
        _ => match vt {
            ValueType::Int => match c {
                Cell::Num { int: true, .. } if parse_i64(row.text(c)).is_some() => Class::Key,
                _ => Class::Wrong("an integer"),
            },
            ValueType::Float => match c {
                Cell::Num { .. } => Class::Key,
                _ => Class::Wrong("a number"),
            },
            ValueType::Bool => match c {
                Cell::Bool(_) => Class::Key,
                _ => Class::Wrong("a boolean"),
            },
            ValueType::Str | ValueType::Other | ValueType::Null => Class::Key,
        },
    }
}

/// The category key of a cell that classifies as [`Class::Key`]: an integer column's by value,
/// others' by text (`None`: not UTF-8).
fn key<'a>(c: Cell, row: &'a Row<'_>, vt: ValueType) -> Option<Cow<'a, str>> {
    let int = match vt {
        ValueType::Int => parse_i64(row.text(c)).map(|v| Cow::Owned(v.to_string())),
        _ => None,
    };
    int.or_else(|| std::str::from_utf8(row.text(c)).ok().map(Cow::Borrowed))
}

/// Record a cell of a dropped row in each way its column may be read, as [`quality`] reads it.
fn record_dropped(d: &mut DroppedColumn, c: Cell, row: &Row<'_>, vt: ValueType, path: &Path, line: u64) {
    for (number, reading) in [(true, d.as_number.as_mut()), (false, d.as_category.as_mut())] {
        let Some(r) = reading else { continue };
        match classify(c, row, vt, number) {
            Class::Null => r.nulls += 1,
            Class::Wrong(what) => r.type_error(path, Some(line), row.text(c), what),
            Class::Number(v) => r.numbers.push(v),
            Class::Key => match key(c, row, vt) {
                Some(k) => r.category(&k),
                None => r.not_text += 1,
            },
        }
    }
}

fn wrong(path: &Path, line: u64, column: &str, text: &[u8], what: &str, vt: ValueType) -> DriftError {
    DriftError::WrongType {
        path: path.to_path_buf(),
        line: Some(line),
        column: column.to_string(),
        message: format!(
            "`{}` is not {what} (the column holds {} in its first rows)",
            String::from_utf8_lossy(&text[..text.len().min(200)]),
            vt.describe()
        ),
    }
}

struct ColState {
    spill: Option<BufWriter<File>>,
    counter: Option<Counter>,
}

/// Stream every file once: numeric columns spilled, categories counted, as the CSV scan does.
/// `lenient` (the target): a value not of the column's type counts as missing instead of
/// failing. `dropped` (the target): the rows dropped are recorded for the data-quality counts.
/// Returns the scan and what the lines held.
pub(crate) fn scan(
    files: &[PathBuf],
    cols: &[ScanColumn],
    lenient: bool,
    spill_dir: &Path,
    side: &str,
    mut dropped: Option<&mut DroppedRows>,
) -> Result<(CsvScan, LineReport), DriftError> {
    let mut spills = HashMap::new();
    let mut states: Vec<ColState> = Vec::with_capacity(cols.len());
    for (k, c) in cols.iter().enumerate() {
        let spill = if c.spill {
            let p = spill_dir.join(format!("{side}-{k}.f64"));
            let f = File::create(&p).map_err(|e| DriftError::io(&p, e))?;
            spills.insert(c.name.clone(), p);
            Some(BufWriter::with_capacity(crate::csv_side::SPILL_BUFFER, f))
        } else {
            None
        };
        states.push(ColState {
            spill,
            counter: c.count.then(|| Counter::for_column(c.vt)),
        });
    }
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let mut map = ColumnMap::fixed(&names);
    let (mut rows_total, mut rows_valid) = (0u64, 0u64);
    let mut parsed = vec![0f64; cols.len()];
    // The integer of each counted integer column's cell (parsed once a row).
    let mut ints: Vec<Option<i64>> = vec![None; cols.len()];
    let lines = for_each_row(files, &mut map, None, |path, line, row| {
        rows_total += 1;
        let mut valid = true;
        for (k, (c, st)) in cols.iter().zip(states.iter_mut()).enumerate() {
            let cell = row.cells[k];
            let mut class = classify(cell, row, c.vt, st.spill.is_some());
            if let Class::Number(_) = class
                && c.count
                && c.vt == ValueType::Int
                && !matches!(cell, Cell::Num { int: true, .. })
            {
                class = Class::Wrong("an integer");
            }
            match class {
                Class::Null => valid = false,
                Class::Wrong(_) if lenient => valid = false,
                Class::Wrong(what) => return Err(wrong(path, line, &c.name, row.text(cell), what, c.vt)),
                Class::Number(v) => parsed[k] = v,
                Class::Key => {}
            }
            ints[k] = match (&st.counter, cell) {
                (Some(Counter::Int(_)), Cell::Num { int: true, .. }) => parse_i64(row.text(cell)),
                _ => None,
            };
        }
        if !valid {
            // The distinct ratio counts every integer of every row, as the baseline does.
            for (st, v) in states.iter_mut().zip(&ints) {
                if let (Some(Counter::Int(m)), Some(v)) = (st.counter.as_mut(), *v) {
                    m.seen(v);
                }
            }
            if let Some(d) = dropped.as_deref_mut()
                && !d.full()
            {
                for (k, (c, dc)) in cols.iter().zip(d.columns.iter_mut()).enumerate() {
                    record_dropped(dc, row.cells[k], row, c.vt, path, line);
                }
                d.row_done();
            }
            return Ok(());
        }
        rows_valid += 1;
        for (k, st) in states.iter_mut().enumerate() {
            let cell = row.cells[k];
            if let Some(w) = st.spill.as_mut() {
                w.write_all(&parsed[k].to_le_bytes())
                    .map_err(|e| DriftError::io(spill_dir, e))?;
            }
            match st.counter.as_mut() {
                None => {}
                Some(Counter::Int(m)) => {
                    if let Some(v) = ints[k] {
                        m.count(v);
                    }
                }
                Some(Counter::Text(m)) => m.count(row.text(cell)),
            }
        }
        Ok(())
    })?;
    lines.check()?;
    if rows_total == 0 {
        return Err(DriftError::EmptyFile {
            path: files.first().cloned().unwrap_or_default(),
        });
    }
    let parts = states.into_iter().map(|st| (st.spill, st.counter));
    let scan = finish_scan(cols, parts, spill_dir, (rows_total, rows_valid), spills)?;
    Ok((scan, lines))
}

/// Null, type-error and out-of-bounds counts of every row (the target, before rows with
/// nulls are dropped).
pub(crate) fn quality(files: &[PathBuf], cols: &[QualityColumn]) -> Result<Vec<ColumnQuality>, DriftError> {
    let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
    let mut map = ColumnMap::fixed(&names);
    let mut out = vec![ColumnQuality::default(); cols.len()];
    for_each_row(files, &mut map, None, |path, line, row| {
        for (k, (c, q)) in cols.iter().zip(out.iter_mut()).enumerate() {
            let cell = row.cells[k];
            match classify(cell, row, c.vt, c.numerical) {
                Class::Null => q.nulls += 1,
                Class::Wrong(what) => q.type_error(path, Some(line), row.text(cell), what),
                Class::Number(v) => {
                    if let Bounds::Range(lo, hi) = &c.bounds
                        && !(v >= *lo && v <= *hi)
                    {
                        q.out_of_bounds += 1;
                    }
                }
                Class::Key => {
                    if let Bounds::Categories(categories) = &c.bounds
                        && !key(cell, row, c.vt).is_some_and(|k| categories.contains_key(k.as_ref()))
                    {
                        q.out_of_bounds += 1;
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_with_too_many_distinct_keys_are_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wide.jsonl");
        let mut text = String::from("{\"a\": 1}\n");
        let keys: Vec<String> = (0..MAX_COLUMNS).map(|i| format!("\"k{i}\": {i}")).collect();
        text.push_str(&format!("{{{}}}\n", keys.join(",")));
        std::fs::write(&p, text).unwrap();
        let e = schema(&[p]).unwrap_err().to_string();
        assert!(
            e.contains("wide.jsonl, line 2") && e.contains("more than 10000 distinct keys"),
            "{e}"
        );
    }
}
