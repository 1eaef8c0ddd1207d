//! CSV input: type inference from the first rows, then one streaming pass per data set that
//! counts categories and spills numeric columns to temporary files (one column read back at a time).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::DriftError;
use crate::csv_scan::{CsvScanner, ScanError};
use crate::quality::DroppedRows;
use crate::source::ValueType;

/// Rows used to infer column types from the start of each file.
const INFER_ROWS: usize = 10_000;
/// An integer column with more distinct values than this is numerical.
pub(crate) const MAX_INT_CATEGORIES: usize = 1_000_000;

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

pub(crate) use crate::num::parse_f64;

/// FxHash-style hasher for category keys (short byte strings, no untrusted-key concern here),
/// with MurmurHash3's 64-bit finaliser: a multiply leaves the low bits of the state depending
/// only on the low bytes of each word, and the table picks buckets by the low bits, so keys
/// that differ only in their last characters (`u0012345`, `u0012346`, ...) would all collide.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// An integer as `str::parse::<i64>` reads the text after trimming white space.
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    plain_i64(s).or_else(|| std::str::from_utf8(s).ok()?.trim().parse::<i64>().ok())
}

/// The common spelling of an integer, without the standard parser: an optional sign and 1 to 18
/// ASCII digits (which cannot overflow). Anything else is `None` (and goes to the standard parser).
pub(crate) fn plain_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v = 0i64;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if neg { -v } else { v })
}

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

/// The category counts of one column while a text scan (CSV, JSON Lines) runs.
pub(crate) enum Counter {
    Text(TextCounter),
    Int(IntCounter),
}

impl Counter {
    /// The counter of a column the scan counts (`c.count`).
    pub(crate) fn for_column(vt: ValueType) -> Counter {
        match vt {
            ValueType::Int => Counter::Int(IntCounter::default()),
            _ => Counter::Text(TextCounter::default()),
        }
    }
}

/// Category counts of a text column. Keys of at most 15 bytes (most categories) live in a table
/// keyed by one 128-bit integer (the bytes, zero-padded, and the length in the last byte), so a
/// lookup compares two words instead of calling `memcmp` on a heap copy; longer keys live in a
/// table of byte strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TextCounter {
    short: FastMap<u128, u64>,
    long: FastMap<Vec<u8>, u64>,
}

impl TextCounter {
    #[inline]
    pub(crate) fn count(&mut self, key: &[u8]) {
        if key.len() < 16 {
            *self.short.entry(short_key(key)).or_insert(0) += 1;
        } else if let Some(n) = self.long.get_mut(key) {
            *n += 1;
        } else {
            self.long.insert(key.to_vec(), 1);
        }
    }

    /// Distinct keys.
    pub(crate) fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// Calls `f(key, count)` for every key.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8], u64)) {
        for (&k, &n) in &self.short {
            let b = k.to_le_bytes();
            f(&b[..usize::from(b[15])], n);
        }
        for (k, &n) in &self.long {
            f(k, n);
        }
    }

    /// Every key with its count.
    pub(crate) fn into_counts(self) -> impl Iterator<Item = (Vec<u8>, u64)> {
        let short = self.short.into_iter().map(|(k, n)| {
            let b = k.to_le_bytes();
            (b[..usize::from(b[15])].to_vec(), n)
        });
        short.chain(self.long)
    }
}

/// A key of at most 15 bytes as one integer: byte i of the key is byte i of the result, the
/// length is byte 15, the bytes between are zero (so different keys give different integers).
#[inline]
fn short_key(s: &[u8]) -> u128 {
    let n = s.len();
    debug_assert!(n < 16);
    let word = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    let half = |c: &[u8]| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let (lo, hi) = if n >= 8 {
        // Bytes 8..n: the last 8 bytes shifted down past those the first word holds.
        let hi = if n > 8 {
            word(&s[n - 8..]) >> (8 * (16 - n))
        } else {
            0
        };
        (word(s), hi)
    } else if n >= 4 {
        // Two overlapping 4-byte loads; the bytes they share are the same.
        (half(s) | (half(&s[n - 4..]) << (8 * (n - 4))), 0)
    } else {
        (s.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)), 0)
    };
    (u128::from(hi | ((n as u64) << 56)) << 64) | u128::from(lo)
}

/// The values of an integer column whose kind the baseline decides after the scan. One table holds
/// every distinct non-null value of all rows (the 5% rule counts them, dropped rows included) with
/// its count in the rows kept (0 for a value seen only in dropped rows): one lookup a value instead
/// of a set and a map. Above its limit ([`MAX_INT_CATEGORIES`], or fewer where the baseline's
/// line count already decides the rule, see [`numerical_from`]) the column is numerical and the
/// table is dropped.
pub(crate) struct IntCounter {
    map: Option<FastMap<i64, u64>>,
    limit: usize,
}

impl Default for IntCounter {
    fn default() -> Self {
        IntCounter {
            map: Some(FastMap::default()),
            limit: MAX_INT_CATEGORIES,
        }
    }
}

impl IntCounter {
    /// A counter that gives up past `limit` distinct values (at most [`MAX_INT_CATEGORIES`]).
    pub(crate) fn with_limit(limit: usize) -> IntCounter {
        IntCounter {
            limit: limit.min(MAX_INT_CATEGORIES),
            ..IntCounter::default()
        }
    }

    /// A value in a row the drift metrics keep.
    pub(crate) fn count(&mut self, v: i64) {
        self.add(v, 1);
    }

    /// A value in a row they drop: it counts as distinct, not as a category.
    pub(crate) fn seen(&mut self, v: i64) {
        self.add(v, 0);
    }

    /// True once the counter gave up (the column is numerical).
    pub(crate) fn gave_up(&self) -> bool {
        self.map.is_none()
    }

    /// Stop counting: the column's kind is decided as numerical.
    pub(crate) fn give_up(&mut self) {
        self.map = None;
    }

    fn add(&mut self, v: i64, n: u64) {
        if let Some(m) = self.map.as_mut() {
            *m.entry(v).or_insert(0) += n;
            if m.len() > self.limit {
                self.map = None;
            }
        }
    }
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
            Some(Counter::Int(IntCounter { map: m, .. })) => {
                int_distinct.insert(c.name.clone(), m.as_ref().map(|m| m.len()));
                counts.insert(
                    c.name.clone(),
                    m.map(|m| {
                        m.into_iter()
                            .filter(|&(_, n)| n > 0)
                            .map(|(k, n)| (k.to_string(), n))
                            .collect()
                    }),
                );
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
            Some(BufWriter::with_capacity(1 << 20, f))
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
                let wrong = |what: &str| DriftError::WrongType {
                    path: path.clone(),
                    line: Some(line),
                    column: c.name.clone(),
                    message: format!(
                        "`{}` is not {what} (the column holds {} in its first rows)",
                        String::from_utf8_lossy(f),
                        c.vt.describe()
                    ),
                };
                if let Some(w) = st.spill.as_mut() {
                    w.write_all(&parsed[k].to_le_bytes())
                        .map_err(|e| DriftError::io(spill_dir, e))?;
                }
                match st.counter.as_mut() {
                    None => {}
                    Some(Counter::Int(m)) => m.count(ints[k].ok_or_else(|| wrong("an integer"))?),
                    Some(Counter::Text(m)) => {
                        let key: &[u8] = match c.vt {
                            ValueType::Bool => match parse_bool(f) {
                                Some(true) => b"true",
                                Some(false) => b"false",
                                None => return Err(wrong("a boolean")),
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

    #[test]
    fn keys_that_differ_at_the_end_spread_over_the_buckets() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let build = BuildHasherDefault::<FastHasher>::default();
        let low: std::collections::HashSet<u64> = (0..20_000)
            .map(|i| build.hash_one(format!("u{i:07}")) & 0xffff)
            .collect();
        // 20,000 keys in 65,536 buckets: about 17,000 distinct low halves if the hash mixes.
        assert!(low.len() > 15_000, "{} distinct low 16 bits", low.len());
    }

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

    proptest::proptest! {
        #[test]
        fn text_counts_equal_a_map_of_byte_strings(keys in proptest::collection::vec(
            proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(0u8), proptest::strategy::Just(b'a'), proptest::strategy::Just(b'b'), proptest::num::u8::ANY], 0..24),
            0..200,
        )) {
            let mut c = TextCounter::default();
            let mut want: HashMap<Vec<u8>, u64> = HashMap::new();
            for k in &keys {
                c.count(k);
                *want.entry(k.clone()).or_insert(0) += 1;
            }
            let got: HashMap<Vec<u8>, u64> = c.into_counts().collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn short_keys_hold_their_bytes_and_length() {
        for n in 0..16 {
            let s: Vec<u8> = (1..=n as u8).collect();
            let b = short_key(&s).to_le_bytes();
            assert_eq!(&b[..n], &s[..], "{n}");
            assert!(b[n..15].iter().all(|&x| x == 0), "{n}");
            assert_eq!(usize::from(b[15]), n);
        }
        assert_ne!(
            short_key(b"a"),
            short_key(b"a\0"),
            "a trailing zero byte is another key"
        );
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
        assert!(c.map.is_some());
        c.seen(3);
        assert!(c.map.is_none(), "past its limit the counter gives up");
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
        let m = c.map.as_ref().unwrap();
        assert_eq!((m.len(), m[&3], m[&5], m[&7]), (3, 2, 1, 0));
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

    #[test]
    fn fast_number_parsing_equals_the_standard_parser() {
        let cases = [
            "0",
            "-0",
            "48.8435",
            "-19.4659",
            "0.0001",
            "123456789012345",
            "1234567890.12345",
            "0.1",
            "+7.25",
            "9007199254740993",
            "1e5",
            "-2.5E-3",
            "12345678901234567890",
            "0.00000000000000000000001",
            ".5",
            "5.",
        ];
        for c in cases {
            let want: f64 = c.parse().unwrap();
            let got = parse_f64(c.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{c}");
        }
        for bad in ["", "-", ".", "abc", "1.2.3", "inf", "NaN", "1,5"] {
            assert!(parse_f64(bad.as_bytes()).is_none(), "{bad}");
        }
    }
}
