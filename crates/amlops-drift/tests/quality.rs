//! Data-quality metrics, hand-computed on small data, for CSV, Parquet and JSON Lines targets.
//!
//! Baseline (5 rows): x = 1..5, c = a b a b a, f = true false true true false.
//! Target (8 rows):
//!
//! | row | x      | c | f       |
//! |-----|--------|---|---------|
//! | 1   | 1.5    | a | true    |
//! | 2   | null   | b | false   |
//! | 3   | 6.0    | a | null    |
//! | 4   | "oops" | z | true    |
//! | 5   | 0.5    | a | "maybe" |
//! | 6   | 3.0    | b | true    |
//! | 7   | 2.0    | c | false   |
//! | 8   | 4.0    | a | true    |
//!
//! x: 1 null, 1 type error, 2 outside 1..5 (6.0, 0.5) -> 1/8, 1/8, 2/8.
//! c: categories z and c unseen in the baseline -> 0, 0, 2/8 (row 4 counts although the
//! type error in x drops it from the drift metrics: quality is counted before dropping).
//! f: 1 null, 1 type error, none unseen -> 1/8, 1/8, 0.
//! Parquet has no type errors: "oops" and "maybe" are nulls there, so x and f have 2/8 nulls.
//! Drift uses rows 1, 6, 7, 8.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amlops_drift::{DataSource, DriftConfig, DriftReport, Metric, Thresholds, compute_drift};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};

const BASE: [(Option<f64>, &str, Option<bool>); 5] = [
    (Some(1.0), "a", Some(true)),
    (Some(2.0), "b", Some(false)),
    (Some(3.0), "a", Some(true)),
    (Some(4.0), "b", Some(true)),
    (Some(5.0), "a", Some(false)),
];

/// (x, c, f) as text: "" is null, anything else is the value.
const TARGET: [(&str, &str, &str); 8] = [
    ("1.5", "a", "true"),
    ("", "b", "false"),
    ("6.0", "a", ""),
    ("oops", "z", "true"),
    ("0.5", "a", "maybe"),
    ("3.0", "b", "true"),
    ("2.0", "c", "false"),
    ("4.0", "a", "true"),
];

fn write_csv(path: &Path, rows: &[(&str, &str, &str)]) {
    let mut s = String::from("x,c,f\n");
    for (x, c, f) in rows {
        s.push_str(&format!("{x},{c},{f}\n"));
    }
    std::fs::write(path, s).unwrap();
}

fn json(v: &str) -> String {
    if v.is_empty() {
        "null".into()
    } else if v.parse::<f64>().is_ok() || v == "true" || v == "false" {
        v.into()
    } else {
        format!("\"{v}\"")
    }
}

fn write_jsonl(path: &Path, rows: &[(&str, &str, &str)]) {
    // One collector event holding every row.
    let items: Vec<String> = rows
        .iter()
        .map(|(x, c, f)| format!(r#"{{"x":{},"c":{},"f":{}}}"#, json(x), json(c), json(f)))
        .collect();
    std::fs::write(
        path,
        format!(
            r#"{{"specversion":"1.0","id":"1","type":"azureml.inference.model_inputs","time":"2026-12-01T08:00:00Z","data":[{}]}}"#,
            items.join(",")
        ) + "\n",
    )
    .unwrap();
}

fn write_parquet(path: &Path, x: Vec<Option<f64>>, c: Vec<&str>, f: Vec<Option<bool>>) {
    let batch = RecordBatch::try_from_iter([
        ("x", Arc::new(Float64Array::from(x)) as ArrayRef),
        ("c", Arc::new(StringArray::from(c)) as ArrayRef),
        ("f", Arc::new(BooleanArray::from(f)) as ArrayRef),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn base_rows() -> Vec<(String, String, String)> {
    BASE.iter()
        .map(|(x, c, f)| {
            (
                format!("{:.1}", x.unwrap()),
                c.to_string(),
                f.unwrap().to_string(),
            )
        })
        .collect()
}

fn borrowed(rows: &[(String, String, String)]) -> Vec<(&str, &str, &str)> {
    rows.iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect()
}

fn parquet_target(path: &Path, rows: &[(&str, &str, &str)]) {
    write_parquet(
        path,
        rows.iter().map(|r| r.0.parse().ok()).collect(),
        rows.iter().map(|r| r.1).collect(),
        rows.iter().map(|r| r.2.parse().ok()).collect(),
    );
}

/// Baseline and target of one format.
fn data(dir: &Path, format: &str, target: &[(&str, &str, &str)]) -> (PathBuf, PathBuf) {
    let b = dir.join(format!("baseline.{format}"));
    let t = dir.join(format!("target.{format}"));
    let base = base_rows();
    match format {
        "csv" => {
            write_csv(&b, &borrowed(&base));
            write_csv(&t, target);
        }
        "jsonl" => {
            write_jsonl(&b, &borrowed(&base));
            write_jsonl(&t, target);
        }
        _ => {
            parquet_target(&b, &borrowed(&base));
            parquet_target(&t, target);
        }
    }
    (b, t)
}

fn run(b: &Path, t: &Path, thresholds: &str) -> DriftReport {
    let config = DriftConfig {
        categorical_columns: Some(vec!["c".into(), "f".into()]),
        thresholds: Thresholds::parse(thresholds).unwrap(),
        ..Default::default()
    };
    compute_drift(
        &DataSource::from_path(b).unwrap(),
        &DataSource::from_path(t).unwrap(),
        &config,
    )
    .unwrap()
}

fn rates(r: &DriftReport, column: &str) -> [f64; 3] {
    let c = r.column(column).unwrap();
    [
        Metric::NullValueRate,
        Metric::DataTypeErrorRate,
        Metric::OutOfBoundsRate,
    ]
    .map(|m| c.metric(m).unwrap().value)
}

#[test]
fn quality_is_counted_on_every_target_row_before_nulls_are_dropped() {
    for format in ["csv", "jsonl", "parquet"] {
        let dir = tempfile::tempdir().unwrap();
        let (b, t) = data(dir.path(), format, &TARGET);
        let r = run(&b, &t, "");
        assert_eq!((r.rows_target, r.rows_target_total), (4, 8), "{format}");
        if format == "parquet" {
            assert_eq!(rates(&r, "x"), [2.0 / 8.0, 0.0, 2.0 / 8.0], "{format} x");
            assert_eq!(rates(&r, "f"), [2.0 / 8.0, 0.0, 0.0], "{format} f");
        } else {
            assert_eq!(rates(&r, "x"), [1.0 / 8.0, 1.0 / 8.0, 2.0 / 8.0], "{format} x");
            assert_eq!(rates(&r, "f"), [1.0 / 8.0, 1.0 / 8.0, 0.0], "{format} f");
        }
        assert_eq!(rates(&r, "c"), [0.0, 0.0, 2.0 / 8.0], "{format} c");
        // No default threshold: reported only.
        for c in &r.columns {
            for m in c.metrics.iter().filter(|m| m.metric.is_quality()) {
                assert_eq!(
                    (m.threshold, m.drift),
                    (None, None),
                    "{format} {} {}",
                    c.name,
                    m.metric
                );
            }
        }
        let json = r.to_json();
        assert_eq!(
            json["columns"]["c"]["metrics"]["out_of_bounds_rate"]["value"],
            0.25
        );
    }
}

#[test]
fn without_dropped_rows_quality_comes_from_the_drift_samples() {
    // Rows 1, 6, 7, 8 and one more: x = 7 (above 5), c = q (unseen).
    let rows = [TARGET[0], TARGET[5], TARGET[6], TARGET[7], ("7.0", "q", "false")];
    for format in ["csv", "jsonl", "parquet"] {
        let dir = tempfile::tempdir().unwrap();
        let (b, t) = data(dir.path(), format, &rows);
        let r = run(&b, &t, "");
        assert_eq!((r.rows_target, r.rows_target_total), (5, 5), "{format}");
        assert_eq!(rates(&r, "x"), [0.0, 0.0, 1.0 / 5.0], "{format} x");
        assert_eq!(rates(&r, "c"), [0.0, 0.0, 2.0 / 5.0], "{format} c");
        assert_eq!(rates(&r, "f"), [0.0, 0.0, 0.0], "{format} f");
    }
}

#[test]
fn quality_thresholds_use_the_drift_threshold_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let (b, t) = data(dir.path(), "jsonl", &TARGET);
    let r = run(
        &b,
        &t,
        "oob=0.2\nc:oob=none\nf:null_value_rate=0.1, type_errors=0.5",
    );
    let m = |c: &str, m: Metric| r.column(c).unwrap().metric(m).unwrap().clone();
    assert_eq!(m("x", Metric::OutOfBoundsRate).drift, Some(true));
    assert_eq!(m("c", Metric::OutOfBoundsRate).threshold, None);
    assert_eq!(m("f", Metric::NullValueRate).drift, Some(true));
    assert_eq!(m("f", Metric::DataTypeErrorRate).drift, Some(false));
    assert!(r.drifted().contains(&"x".to_string()) && r.drifted().contains(&"f".to_string()));
    let e = Thresholds::parse("oob=5").unwrap_err().to_string();
    assert!(e.contains("between 0 and 1"), "{e}");
}
