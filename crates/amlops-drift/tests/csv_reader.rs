//! The CSV reader against the Parquet reader: the same table written both ways (full-precision
//! doubles in shortest round-trip text, nulls as empty fields, quoted text holding commas, quotes
//! and line ends, LF or CRLF line ends, with or without a byte order mark) gives the same report,
//! every value bit for bit.

use std::path::Path;
use std::sync::Arc;

use amlops_drift::{DataSource, DriftConfig, DriftReport, compute_drift};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

/// xorshift64*: a fixed, seedable stream (the table is the same on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

struct Table {
    a: Vec<f64>,
    b: Vec<Option<f64>>,
    c: Vec<f64>,
    s: Vec<String>,
}

fn table(seed: u64, rows: usize, shift: f64) -> Table {
    let mut r = Rng(seed);
    let words = [
        "plain",
        "with,comma",
        "say \"hi\"",
        "two\nlines",
        "crlf\r\nend",
        "",
        "  pad ",
    ];
    let mut t = Table {
        a: Vec::new(),
        b: Vec::new(),
        c: Vec::new(),
        s: Vec::new(),
    };
    for _ in 0..rows {
        t.a.push(r.normal() * 3.0 + shift);
        // 2% nulls; values across many magnitudes, subnormals and exact integers included.
        let b = match r.next() % 50 {
            0 => None,
            1 => Some(f64::from_bits(r.next() % (1 << 52))),
            2 => Some((r.next() % 1000) as f64),
            _ => Some(r.normal() * 10f64.powi((r.next() % 40) as i32 - 20)),
        };
        t.b.push(b);
        t.c.push(r.unit().powi(3) * 1e6 - shift);
        t.s.push(words[(r.next() % words.len() as u64) as usize].to_string());
    }
    t
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn write_csv(path: &Path, t: &Table, crlf: bool, bom: bool) {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    out.push_str("a,b,\"c\",s");
    for i in 0..t.a.len() {
        out.push_str(nl);
        let b = t.b[i].map(|v| format!("{v}")).unwrap_or_default();
        let s = if t.s[i].is_empty() || t.s[i].contains([',', '"', '\n', '\r', ' ']) {
            quote(&t.s[i])
        } else {
            t.s[i].clone()
        };
        out.push_str(&format!("{},{b},{},{s}", t.a[i], t.c[i]));
    }
    // The last line without a line end.
    std::fs::write(path, out).unwrap();
}

fn write_parquet(path: &Path, t: &Table) {
    let batch = RecordBatch::try_from_iter([
        ("a", Arc::new(Float64Array::from(t.a.clone())) as ArrayRef),
        ("b", Arc::new(Float64Array::from(t.b.clone())) as ArrayRef),
        ("c", Arc::new(Float64Array::from(t.c.clone())) as ArrayRef),
        ("s", Arc::new(StringArray::from(t.s.clone())) as ArrayRef),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn run(baseline: &Path, target: &Path) -> DriftReport {
    compute_drift(
        &DataSource::from_path(baseline).unwrap(),
        &DataSource::from_path(target).unwrap(),
        &DriftConfig::default(),
    )
    .unwrap()
}

#[test]
fn csv_and_parquet_of_the_same_full_precision_table_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let base = table(0x9e37_79b9_7f4a_7c15, 4000, 0.0);
    let target = table(0xd1b5_4a32_d192_ed03, 3000, 0.4);
    write_parquet(&dir.path().join("b.parquet"), &base);
    write_parquet(&dir.path().join("t.parquet"), &target);
    let want = run(&dir.path().join("b.parquet"), &dir.path().join("t.parquet"));
    assert_eq!(want.rows_baseline_total, 4000);
    assert!(want.rows_baseline < 4000, "the nulls of `b` drop rows");
    for (crlf, bom) in [(false, false), (true, false), (false, true), (true, true)] {
        write_csv(&dir.path().join("b.csv"), &base, crlf, bom);
        write_csv(&dir.path().join("t.csv"), &target, crlf, !bom);
        let got = run(&dir.path().join("b.csv"), &dir.path().join("t.csv"));
        assert_eq!(got, want, "CSV (crlf {crlf}, bom {bom}) differs from Parquet");
    }
}

#[test]
fn a_record_with_too_few_fields_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("b.csv");
    std::fs::write(&b, "x,s\n1.5,\"a\nb\"\n2.5,c\n\n3.5\n").unwrap();
    let e = compute_drift(
        &DataSource::from_path(&b).unwrap(),
        &DataSource::from_path(&b).unwrap(),
        &DriftConfig::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("b.csv") && e.contains("line 6"), "{e}");
    assert!(e.contains("1 fields") && e.contains("header has 2"), "{e}");
}
