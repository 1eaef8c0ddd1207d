//! CSV input: type inference from the first rows, then one streaming pass per data set that
//! counts categories and spills numeric columns to temporary files (one column read back at a time).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::DriftError;
use crate::counting::{Counter, IntCounter, MAX_INT_CATEGORIES};
use crate::csv_scan::{CsvScanner, ScanError};
use crate::quality::DroppedRows;
use crate::source::ValueType;

/// Write buffer of each spilled column. Small enough that a scan's buffers (one a numeric
/// column) stay in the cache between filling and the write that copies them out: with 1 MiB a
/// column, the 16 buffers of a 20-column file missed the cache on every new line.
pub(crate) const SPILL_BUFFER: usize = 64 << 10;

/// Rows used to infer column types from the start of each file.
const INFER_ROWS: usize = 10_000;

/// Texts read as null in non-string columns (pyarrow's CSV defaults).
const NULL_TEXTS: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A", "NA",
    "NULL", "NaN", "n/a", "nan", "null",
];

pub(crate) fn is_null_text(s: &[u8]) -> bool {
    s.is_empty() || (s.len() <= 8 && NULL_TEXTS.iter().any(|n| n.as_bytes() == s))
}

pub(crate) fn parse_bool(s: &[u8]) -> Option<bool> {
    match s {
        b"true" | b"True" | b"TRUE" => Some(true),
        b"false" | b"False" | b"FALSE" => Some(false),
        _ => None,
    }
}

pub(crate) use crate::num::{parse_f64, parse_i64, plain_i64};

/// The number an integer column's text spills as: `v as f64` is the double nearest to `v`, as
/// the parser of the text gives (`0` goes to the parser, which keeps the sign of `-0`).
fn int_number(f: &[u8], plain: Option<i64>) -> Option<f64> {
    match plain {
        Some(v) if v != 0 => Some(v as f64),
        _ => parse_f64(f),
    }
}

fn reader(path: &Path) -> Result<CsvScanner<File>, DriftError> {
    let f = File::open(path).map_err(|e| DriftError::io(path, e))?;
    Ok(CsvScanner::new(f))
}

fn scan_err(path: &Path, e: ScanError) -> DriftError {
    match e {
        ScanError::Io(e) => DriftError::io(path, e),
        ScanError::Fields {
            line,
            found,
            expected,
        } => DriftError::Csv {
            path: path.to_path_buf(),
            line,
            message: format!(
                "the record has {found} fields but the header has {expected}; every row needs one field \
                 per column (quote fields that hold commas or line ends)"
            ),
        },
    }
}

/// Read the header: the column names, without a byte order mark.
fn headers(path: &Path, r: &mut CsvScanner<File>) -> Result<Vec<String>, DriftError> {
    if !r.next_record().map_err(|e| scan_err(path, e))? || r.len() == 0 {
        return Err(DriftError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    (0..r.len())
        .map(|i| match std::str::from_utf8(r.field(i)) {
            Ok(s) => Ok(s.trim_start_matches('\u{feff}').to_string()),
            Err(e) => Err(DriftError::Csv {
                path: path.to_path_buf(),
                line: r.line(),
                message: format!("the header is not UTF-8 text (column {}: {e})", i + 1),
            }),
        })
        .collect()
}

/// Column names and inferred types of a CSV data set (types widened across files).
pub(crate) fn schema(files: &[PathBuf]) -> Result<Vec<(String, ValueType)>, DriftError> {
    let mut out: Vec<(String, ValueType)> = Vec::new();
    for path in files {
        let mut r = reader(path)?;
        let names = headers(path, &mut r)?;
        let n = names.len();
        let (mut all_int, mut all_float, mut all_bool, mut any) =
            (vec![true; n], vec![true; n], vec![true; n], vec![false; n]);
        let mut rows = 0;
        while rows < INFER_ROWS && r.next_record().map_err(|e| scan_err(path, e))? {
            rows += 1;
            for (i, f) in (0..r.len()).map(|i| r.field(i)).enumerate().take(n) {
                if is_null_text(f) {
                    continue;
                }
                any[i] = true;
                all_int[i] &= parse_i64(f).is_some();
                all_float[i] &= parse_f64(f).is_some();
                all_bool[i] &= parse_bool(f).is_some();
            }
        }
        if rows == 0 {
            return Err(DriftError::EmptyFile { path: path.clone() });
        }
        for (i, name) in names.into_iter().enumerate() {
            let vt = if !any[i] {
                ValueType::Null
            } else if all_int[i] {
                ValueType::Int
            } else if all_bool[i] {
                ValueType::Bool
            } else if all_float[i] {
                ValueType::Float
            } else {
                ValueType::Str
            };
            match out.iter_mut().find(|(c, _)| *c == name) {
                Some((_, t)) => {
                    *t = t.unify(vt).ok_or_else(|| DriftError::WrongType {
                        path: path.clone(),
                        line: None,
                        column: name.clone(),
                        message: format!(
                            "holds {} here but {} in {}",
                            vt.describe(),
                            t.describe(),
                            files[0].display()
                        ),
                    })?;
                }
                None if path == &files[0] => out.push((name, vt)),
                None => {}
            }
        }
    }
    Ok(out)
}

/// How the scan treats one column.
#[derive(Debug, Clone)]
pub(crate) struct ScanColumn {
    pub name: String,
    pub vt: ValueType,
    /// Spill parsed numbers (numerical or not yet decided).
    pub spill: bool,
    /// Count categories (categorical, or an integer column not yet decided).
    pub count: bool,
    /// A value not of the column's type counts as missing instead of failing (the target).
    pub lenient: bool,
}

/// What one pass over a CSV data set produced.
#[derive(Debug)]
pub(crate) struct CsvScan {
    pub rows_total: u64,
    pub rows_valid: u64,
    /// Spill file and value count per spilled column.
    pub spills: HashMap<String, PathBuf>,
    /// Category counts (rows without nulls only); `None` when an integer column exceeded the cap.
    pub counts: HashMap<String, Option<HashMap<String, u64>>>,
    /// Distinct non-null values of integer columns over all rows; `None` above the cap.
    pub int_distinct: HashMap<String, Option<usize>>,
}

/// The number of distinct values from which an integer column of the baseline `files` is surely
/// numerical: the rule calls it categorical when distinct / rows < 0.05, and the files cannot hold
/// more records than line ends plus one each, so from `lines / 20 + 2` distinct values on, the
/// ratio is at least 0.05 whatever the final row count. Counting line ends reads the files at
/// memory speed (they are read again at once, from the page cache); the scan then stops counting
/// a column of 2M distinct ids after about 100k instead of after 1M.
pub(crate) fn numerical_from(files: &[PathBuf]) -> Result<usize, DriftError> {
    let mut lines = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for path in files {
        let mut f = File::open(path).map_err(|e| DriftError::io(path, e))?;
        loop {
            let n = f.read(&mut buf).map_err(|e| DriftError::io(path, e))?;
            if n == 0 {
                break;
            }
            lines += buf[..n]
                .iter()
                .map(|&b| u64::from((b == b'\n') | (b == b'\r')))
                .sum::<u64>();
        }
        // The last record needs no line end.
        lines += 1;
    }
    Ok(usize::try_from(lines / 20 + 2).unwrap_or(usize::MAX))
}

/// What a text scan leaves of one column: its spill file and its counts.
pub(crate) type ColumnParts = (Option<BufWriter<File>>, Option<Counter>);

/// The end of a text scan (CSV and JSON Lines share it): spill files flushed, category counts and
/// distinct-integer counts keyed by column name. `rows` is (rows read, rows without nulls).
pub(crate) fn finish_scan(
    cols: &[ScanColumn],
    parts: impl IntoIterator<Item = ColumnParts>,
    spill_dir: &Path,
    (rows_total, rows_valid): (u64, u64),
    spills: HashMap<String, PathBuf>,
) -> Result<CsvScan, DriftError> {
    let mut counts = HashMap::new();
    let mut int_distinct = HashMap::new();
    for (c, (spill, counter)) in cols.iter().zip(parts) {
        if let Some(mut w) = spill {
            w.flush().map_err(|e| DriftError::io(spill_dir, e))?;
        }
        match counter {
            None => {}
            Some(Counter::Int(m)) => {
                int_distinct.insert(c.name.clone(), m.distinct());
                counts.insert(c.name.clone(), m.into_counts());
            }
            Some(Counter::Text(m)) => {
                counts.insert(
                    c.name.clone(),
                    Some(
                        m.into_counts()
                            .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v))
                            .collect(),
                    ),
                );
            }
        }
    }
    Ok(CsvScan {
        rows_total,
        rows_valid,
        spills,
        counts,
        int_distinct,
    })
}

/// See [`scan`]'s `numerical`: the baseline raises the flags of the integer columns it found
/// numerical, the target stops counting them.
fn share_decisions(cols: &[ScanColumn], states: &mut [ColState], numerical: &[AtomicBool]) {
    for ((c, st), flag) in cols.iter().zip(states.iter_mut()).zip(numerical) {
        if let Some(Counter::Int(m)) = st.counter.as_mut() {
            if !c.lenient && c.spill && m.gave_up() {
                flag.store(true, Ordering::Relaxed);
            } else if c.lenient && c.spill && !m.gave_up() && flag.load(Ordering::Relaxed) {
                m.give_up();
            }
        }
    }
}

struct ColState {
    idx: usize,
    spill: Option<BufWriter<File>>,
    counter: Option<Counter>,
}

/// Stream every file once.
///
/// `dropped` (the target): every row the scan drops (not counted in `rows_valid`) is recorded,
/// in file and row order, with [`DroppedRows::csv_row`] (the data-quality counts need them).
///
/// `numerical` (one flag a column, shared by the baseline's and the target's scans, which run at
/// the same time): the baseline's scan raises a column's flag once its integer counts show the
/// column is numerical, and the target's scan then stops counting that column's categories (the
/// baseline decides the kind; the target's categories would never be used).
pub(crate) fn scan(
    files: &[PathBuf],
    cols: &[ScanColumn],
    spill_dir: &Path,
    side: &str,
    mut dropped: Option<&mut DroppedRows>,
    numerical: &[AtomicBool],
) -> Result<CsvScan, DriftError> {
    let mut spills = HashMap::new();
    let mut states: Vec<ColState> = Vec::with_capacity(cols.len());
    // The baseline (not lenient) decides the kind of its integer columns whose kind is not set
    // (counted and spilled); a column set to be categorical keeps every category.
    let undecided = |c: &ScanColumn| c.count && c.spill && c.vt == ValueType::Int && !c.lenient;
    let int_limit = if cols.iter().any(undecided) {
        numerical_from(files)?
    } else {
        MAX_INT_CATEGORIES
    };
    for (k, c) in cols.iter().enumerate() {
        let spill = if c.spill {
            let p = spill_dir.join(format!("{side}-{k}.f64"));
            let f = File::create(&p).map_err(|e| DriftError::io(&p, e))?;
            spills.insert(c.name.clone(), p);
            Some(BufWriter::with_capacity(SPILL_BUFFER, f))
        } else {
            None
        };
        let counter = if undecided(c) {
            Counter::Int(IntCounter::with_limit(int_limit))
        } else {
            Counter::for_column(c.vt)
        };
        states.push(ColState {
            idx: 0,
            spill,
            counter: c.count.then_some(counter),
        });
    }
    let (mut rows_total, mut rows_valid) = (0u64, 0u64);
    for path in files {
        let mut r = reader(path)?;
        let names = headers(path, &mut r)?;
        for (c, st) in cols.iter().zip(states.iter_mut()) {
            st.idx = names
                .iter()
                .position(|n| *n == c.name)
                .ok_or_else(|| DriftError::MissingColumn {
                    path: path.clone(),
                    column: c.name.clone(),
                    available: names.join(", "),
                })?;
        }
        let mut file_rows = 0u64;
        let mut parsed = vec![0f64; cols.len()];
        // The integer of each counted integer column (parsed once a row).
        let mut ints: Vec<Option<i64>> = vec![None; cols.len()];
        while r.next_record().map_err(|e| scan_err(path, e))? {
            file_rows += 1;
            if file_rows.is_multiple_of(4096) {
                share_decisions(cols, &mut states, numerical);
            }
            let line = r.line();
            let mut valid = true;
            for (k, (c, st)) in cols.iter().zip(states.iter_mut()).enumerate() {
                let f = r.field(st.idx);
                let int_count = matches!(st.counter, Some(Counter::Int(_)));
                let plain = if int_count { plain_i64(f) } else { None };
                if int_count {
                    ints[k] = plain.or_else(|| parse_i64(f));
                }
                let null = if st.spill.is_some() {
                    let number = if int_count {
                        int_number(f, plain)
                    } else {
                        parse_f64(f)
                    };
                    match number {
                        Some(v) => {
                            parsed[k] = v;
                            false
                        }
                        None if is_null_text(f) || c.lenient => true,
                        None => {
                            return Err(DriftError::not_a_number(
                                path,
                                Some(line),
                                &c.name,
                                &String::from_utf8_lossy(f),
                                &format!("{} in its first rows", c.vt.describe()),
                            ));
                        }
                    }
                } else {
                    c.vt != ValueType::Str && is_null_text(f)
                };
                // Lenient (the target): a value not of the column's type counts as missing.
                let null = null
                    || (c.lenient
                        && c.count
                        && match c.vt {
                            ValueType::Int => ints[k].is_none(),
                            ValueType::Bool => parse_bool(f).is_none(),
                            _ => false,
                        });
                if null {
                    valid = false;
                    if int_count {
                        ints[k] = None;
                    }
                }
            }
            if !valid {
                // The distinct ratio counts every non-null value, as the baseline does.
                for (st, v) in states.iter_mut().zip(&ints) {
                    if let (Some(Counter::Int(m)), Some(v)) = (st.counter.as_mut(), *v) {
                        m.seen(v);
                    }
                }
                if let Some(d) = dropped.as_deref_mut() {
                    let st = &states;
                    d.csv_row(cols, path, Some(line), |k| r.field(st[k].idx));
                }
                continue;
            }
            rows_valid += 1;
            for (k, (c, st)) in cols.iter().zip(states.iter_mut()).enumerate() {
                let f = r.field(st.idx);
                if let Some(w) = st.spill.as_mut() {
                    w.write_all(&parsed[k].to_le_bytes())
                        .map_err(|e| DriftError::io(spill_dir, e))?;
                }
                match st.counter.as_mut() {
                    None => {}
                    Some(Counter::Int(m)) => match ints[k] {
                        Some(v) => m.count(v),
                        None => return Err(wrong_type(path, line, c, f, "an integer")),
                    },
                    Some(Counter::Text(m)) => {
                        let key: &[u8] = match c.vt {
                            ValueType::Bool => match parse_bool(f) {
                                Some(true) => b"true",
                                Some(false) => b"false",
                                None => return Err(wrong_type(path, line, c, f, "a boolean")),
                            },
                            _ => f,
                        };
                        m.count(key);
                    }
                }
            }
        }
        if file_rows == 0 {
            return Err(DriftError::EmptyFile { path: path.clone() });
        }
        rows_total += file_rows;
    }
    let parts = states.into_iter().map(|st| (st.spill, st.counter));
    finish_scan(cols, parts, spill_dir, (rows_total, rows_valid), spills)
}

/// A value of the baseline that is not of its column's type. Not a closure in the scan's loop:
/// one capturing the loop's locals was built (its captures stored) for every field.
#[cold]
fn wrong_type(path: &Path, line: u64, c: &ScanColumn, f: &[u8], what: &str) -> DriftError {
    DriftError::WrongType {
        path: path.to_path_buf(),
        line: Some(line),
        column: c.name.clone(),
        message: format!(
            "`{}` is not {what} (the column holds {} in its first rows)",
            String::from_utf8_lossy(f),
            c.vt.describe()
        ),
    }
}

/// Read a spilled column back.
pub(crate) fn read_spill(path: &Path, out: &mut Vec<f64>) -> Result<(), DriftError> {
    let mut f = File::open(path).map_err(|e| DriftError::io(path, e))?;
    let len = f.metadata().map_err(|e| DriftError::io(path, e))?.len() as usize;
    out.reserve(len / 8);
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0usize;
    loop {
        let n = f.read(&mut buf[carry..]).map_err(|e| DriftError::io(path, e))?;
        if n == 0 {
            break;
        }
        let avail = carry + n;
        let whole = avail / 8 * 8;
        out.extend(
            buf[..whole]
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
        );
        buf.copy_within(whole..avail, 0);
        carry = avail - whole;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn integers_parse_as_the_standard_parser_reads_them(
            text in "[ +-]{0,2}[0-9]{0,21}[ x.]?",
            v in proptest::num::i64::ANY,
        ) {
            let std = |t: &str| t.trim().parse::<i64>().ok();
            proptest::prop_assert_eq!(parse_i64(text.as_bytes()), std(&text), "{:?}", text);
            let t = v.to_string();
            proptest::prop_assert_eq!(parse_i64(t.as_bytes()), Some(v));
            // The spilled number of an integer's text is the parser's, bit for bit.
            for t in [t.clone(), format!("+{t}"), format!("00{}", v.unsigned_abs())] {
                let want = parse_f64(t.as_bytes()).map(f64::to_bits);
                proptest::prop_assert_eq!(int_number(t.as_bytes(), plain_i64(t.as_bytes())).map(f64::to_bits), want);
            }
        }
    }

    #[test]
    fn the_line_count_bounds_the_distinct_values_a_categorical_baseline_column_can_have() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        // 1 header + 59 records, the last without a line end; a CRLF file of 1 + 40 records.
        let body: String = (0..59).map(|i| format!("{i}\n")).collect();
        std::fs::write(&a, format!("x\n{}", body.trim_end())).unwrap();
        std::fs::write(&b, "x\r\n".repeat(41)).unwrap();
        // a: 59 line ends + 1; b: 82 line-end bytes + 1 (CR and LF both counted): 143 in all.
        let limit = numerical_from(&[a.clone(), b]).unwrap();
        assert_eq!(limit, 143 / 20 + 2);
        // At that many distinct values the ratio is at least 0.05 for any row count the files allow.
        let rows_at_most = 1 + 59 + 41;
        assert!(limit as f64 / rows_at_most as f64 >= 0.05);
        let mut c = IntCounter::with_limit(2);
        c.count(1);
        c.count(2);
        assert!(!c.gave_up());
        c.seen(3);
        assert!(c.gave_up(), "past its limit the counter gives up");
    }

    #[test]
    fn the_baseline_tells_the_target_which_integer_columns_are_numerical() {
        let col = |lenient| ScanColumn {
            name: "i".into(),
            vt: ValueType::Int,
            spill: true,
            count: true,
            lenient,
        };
        let state = |limit| ColState {
            idx: 0,
            spill: None,
            counter: Some(Counter::Int(IntCounter::with_limit(limit))),
        };
        let flags = [AtomicBool::new(false)];
        let (base, target) = ([col(false)], [col(true)]);
        let (mut b, mut t) = ([state(1)], [state(MAX_INT_CATEGORIES)]);
        let gave_up = |st: &[ColState; 1]| matches!(&st[0].counter, Some(Counter::Int(m)) if m.gave_up());
        share_decisions(&target, &mut t, &flags);
        share_decisions(&base, &mut b, &flags);
        assert!(!flags[0].load(Ordering::Relaxed), "nothing decided yet");
        if let Some(Counter::Int(m)) = b[0].counter.as_mut() {
            m.count(1);
            m.count(2);
        }
        share_decisions(&base, &mut b, &flags);
        assert!(gave_up(&b) && flags[0].load(Ordering::Relaxed));
        assert!(!gave_up(&t));
        share_decisions(&target, &mut t, &flags);
        assert!(
            gave_up(&t),
            "the target stops counting a column the baseline found numerical"
        );
    }

    #[test]
    fn minus_zero_keeps_its_sign_when_spilled() {
        let got = int_number(b"-0", plain_i64(b"-0")).unwrap();
        assert!(got == 0.0 && got.is_sign_negative());
        assert_eq!(plain_i64(b"-0"), Some(0));
        assert_eq!(
            plain_i64(b"9999999999999999999"),
            None,
            "19 digits go to the standard parser"
        );
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
    }

    #[test]
    fn an_integer_counter_counts_kept_rows_and_knows_every_distinct_value() {
        let mut c = IntCounter::default();
        for v in [3, 3, 5] {
            c.count(v);
        }
        c.seen(7); // only in a dropped row
        c.seen(3);
        let cols = [ScanColumn {
            name: "i".into(),
            vt: ValueType::Int,
            spill: false,
            count: true,
            lenient: false,
        }];
        let scan = finish_scan(
            &cols,
            [(None, Some(Counter::Int(c)))],
            Path::new("."),
            (4, 3),
            HashMap::new(),
        )
        .unwrap();
        assert_eq!(scan.int_distinct["i"], Some(3));
        let counts = scan.counts["i"].as_ref().unwrap();
        assert_eq!(
            counts.len(),
            2,
            "a value seen only in dropped rows is not a category: {counts:?}"
        );
        assert_eq!((counts["3"], counts["5"]), (2, 1));
    }
}
