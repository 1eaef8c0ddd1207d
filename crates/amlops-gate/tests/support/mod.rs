//! Shared test support: small CSV and Parquet data sets and a way to run the gate in-process.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

/// `rows` rows of `num` (floats) and `cat` (strings). `shift` moves `num`; `skew` sends most `cat` values to "c".
pub fn columns(rows: usize, shift: f64, skew: bool) -> (Vec<f64>, Vec<String>) {
    let num = (0..rows).map(|i| (i % 100) as f64 / 10.0 + shift).collect();
    let cat = (0..rows)
        .map(|i| {
            let c = if skew && i % 10 != 0 { 2 } else { i % 3 };
            ["a", "b", "c"][c].to_string()
        })
        .collect();
    (num, cat)
}

/// Write a CSV file with the columns `num` and `cat`.
pub fn write_csv(path: &Path, rows: usize, shift: f64, skew: bool) -> PathBuf {
    let (num, cat) = columns(rows, shift, skew);
    let mut text = String::from("num,cat\n");
    for (n, c) in num.iter().zip(&cat) {
        text.push_str(&format!("{n},{c}\n"));
    }
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// Write a Parquet file with the columns `num` and `cat`.
pub fn write_parquet(path: &Path, rows: usize, shift: f64, skew: bool) -> PathBuf {
    let (num, cat) = columns(rows, shift, skew);
    let batch = RecordBatch::try_from_iter(vec![
        ("num", Arc::new(Float64Array::from(num)) as ArrayRef),
        ("cat", Arc::new(StringArray::from(cat)) as ArrayRef),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    path.to_path_buf()
}

/// A fresh temporary folder that outlives the test's handles (the summary is read after the run).
pub fn temp_dir() -> PathBuf {
    tempfile::Builder::new()
        .prefix("amlops-gate-test-")
        .tempdir()
        .unwrap()
        .keep()
}
