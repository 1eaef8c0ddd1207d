//! Damaged copies of valid Parquet, CSV and JSON Lines files (truncated; bits flipped in the
//! footer, the page headers and the data; lengths made huge) give a drift report or a clear
//! error naming the damaged file: never a panic, an abort or an allocation the file's size does
//! not justify.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::our_panics;
use amlops_drift::{DataSource, DriftConfig, DriftError, DriftReport, compute_drift};
use parquet::file::reader::{FileReader, SerializedFileReader};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/small")
        .join(name)
}

/// Compare the valid `baseline` with `damaged`, written to a file named `damaged.<ext>`:
/// a report, or an error that names that file.
fn check(baseline: &Path, damaged: &[u8], ext: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("damaged.{ext}"));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(damaged))
        .unwrap();
    let run = || -> Result<DriftReport, DriftError> {
        let config = DriftConfig {
            threads: 1,
            ..Default::default()
        };
        compute_drift(
            &DataSource::from_path(baseline)?,
            &DataSource::from_path(&path)?,
            &config,
        )
    };
    let ours = our_panics();
    let result = run();
    let seen: Vec<String> = std::mem::take(&mut *ours.lock().unwrap());
    prop_assert!(seen.is_empty(), "a panic in our code: {seen:?}");
    match result {
        Ok(report) => prop_assert!(!report.columns.is_empty()),
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(
                msg.contains("damaged.") || msg.starts_with("no columns to compare"),
                "an error that does not name the file: {msg}"
            );
        }
    }
    Ok(())
}

/// One way to damage a file.
#[derive(Debug, Clone)]
enum Damage {
    /// Keep the first `at` (a fraction of the length) of the bytes.
    Truncate(f64),
    /// Flip bit `bit` of the byte at `at` (a fraction of the region) in a region.
    Flip { region: Region, at: f64, bit: u8 },
    /// Write a huge 32-bit little-endian length, or a huge varint, at `at` in a region.
    Huge { region: Region, at: f64, varint: bool },
}

#[derive(Debug, Clone, Copy)]
enum Region {
    Anywhere,
    /// Parquet: the footer (metadata, its length and the magic).
    Footer,
    /// Parquet: the first bytes of a column chunk (its first page header).
    PageHeader,
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    let region = prop_oneof![
        Just(Region::Anywhere),
        Just(Region::Footer),
        Just(Region::PageHeader)
    ];
    let one = prop_oneof![
        (0.0..1.0f64).prop_map(Damage::Truncate),
        (region.clone(), 0.0..1.0f64, 0u8..8).prop_map(|(region, at, bit)| Damage::Flip { region, at, bit }),
        (region, 0.0..1.0f64, any::<bool>()).prop_map(|(region, at, varint)| Damage::Huge {
            region,
            at,
            varint
        }),
    ];
    prop::collection::vec(one, 1..4)
}

/// Byte ranges of the regions of a Parquet file: the footer, and the first 24 bytes of each
/// column chunk's pages (dictionary and first data page).
fn parquet_regions(bytes: &[u8]) -> (std::ops::Range<usize>, Vec<std::ops::Range<usize>>) {
    let n = bytes.len();
    let meta_len = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    let footer = n - 8 - meta_len..n;
    let reader = SerializedFileReader::new(bytes::Bytes::copy_from_slice(bytes)).unwrap();
    let mut headers = Vec::new();
    for rg in reader.metadata().row_groups() {
        for cc in rg.columns() {
            let starts = [Some(cc.data_page_offset()), cc.dictionary_page_offset()];
            for s in starts.into_iter().flatten() {
                let s = s as usize;
                headers.push(s..(s + 24).min(n));
            }
        }
    }
    (footer, headers)
}

fn apply(bytes: &mut Vec<u8>, damages: &[Damage], parquet: bool) {
    let (footer, headers) = if parquet {
        parquet_regions(bytes)
    } else {
        (0..bytes.len(), std::iter::once(0..bytes.len()).collect())
    };
    let pick = |region: Region, at: f64, len: usize| -> usize {
        let r = match region {
            Region::Anywhere => 0..len,
            Region::Footer => footer.clone(),
            Region::PageHeader => {
                let k = ((at * 7919.0) as usize) % headers.len();
                headers[k].clone()
            }
        };
        let r = r.start.min(len.saturating_sub(1))..r.end.min(len);
        r.start + ((at * r.len() as f64) as usize).min(r.len().saturating_sub(1))
    };
    for d in damages {
        let len = bytes.len();
        if len == 0 {
            return;
        }
        match *d {
            Damage::Truncate(f) => bytes.truncate((f * len as f64) as usize),
            Damage::Flip { region, at, bit } => {
                let i = pick(region, at, len);
                bytes[i] ^= 1 << bit;
            }
            Damage::Huge { region, at, varint } => {
                let i = pick(region, at, len);
                let huge: &[u8] = if varint {
                    &[0xfe, 0xff, 0xff, 0xff, 0x0f]
                } else {
                    &[0xff, 0xff, 0xff, 0x7f]
                };
                for (k, b) in huge.iter().enumerate() {
                    if let Some(x) = bytes.get_mut(i + k) {
                        *x = *b;
                    }
                }
            }
        }
    }
}

/// Text damage for CSV and JSON Lines: a value replaced by a huge, infinite or odd one, a
/// stray quote, brace or a very long field.
fn text_damage() -> impl Strategy<Value = (f64, usize)> {
    (0.0..1.0f64, 0usize..9)
}

fn apply_text(bytes: &mut Vec<u8>, at: f64, kind: usize) {
    let i = ((at * bytes.len() as f64) as usize).min(bytes.len());
    let insert: Vec<u8> = match kind {
        0 => b"1e999".to_vec(),
        1 => b"-inf".to_vec(),
        2 => b"\"".to_vec(),
        3 => b"{[".to_vec(),
        4 => vec![b'9'; 400],
        5 => b"\n\n,,,\n".to_vec(),
        6 => vec![0xff, 0xfe],
        7 => b"NaN".to_vec(),
        _ => b"\r\n".to_vec(),
    };
    bytes.splice(i..i, insert);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn damaged_parquet_gives_a_report_or_a_clear_error(damages in damage()) {
        let mut bytes = std::fs::read(fixture("target.parquet")).unwrap();
        apply(&mut bytes, &damages, true);
        check(&fixture("baseline.parquet"), &bytes, "parquet")?;
    }

    #[test]
    fn damaged_csv_gives_a_report_or_a_clear_error(damages in damage(), text in text_damage()) {
        let mut bytes = std::fs::read(fixture("target.csv")).unwrap();
        apply_text(&mut bytes, text.0, text.1);
        apply(&mut bytes, &damages, false);
        check(&fixture("baseline.csv"), &bytes, "csv")?;
    }

    #[test]
    fn damaged_jsonl_gives_a_report_or_a_clear_error(damages in damage(), text in text_damage()) {
        let dir = tempfile::tempdir().unwrap();
        let baseline = dir.path().join("baseline.jsonl");
        std::fs::write(&baseline, jsonl(&fixture("baseline.csv"))).unwrap();
        let mut bytes = jsonl(&fixture("target.csv")).into_bytes();
        apply_text(&mut bytes, text.0, text.1);
        apply(&mut bytes, &damages, false);
        check(&baseline, &bytes, "jsonl")?;
    }
}

/// The fixture CSV as JSON Lines (one object a row; numbers, booleans and strings as such).
fn jsonl(csv: &Path) -> String {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|h| h.trim_matches('"').to_string())
        .collect();
    let mut out = String::new();
    for line in lines {
        let fields: Vec<String> = line
            .split(',')
            .zip(&header)
            .map(|(v, h)| {
                let value = if v.starts_with('"') || v.parse::<f64>().is_ok() || v == "true" || v == "false" {
                    v.to_string()
                } else if v.is_empty() {
                    "null".to_string()
                } else {
                    format!("\"{v}\"")
                };
                format!("\"{h}\":{value}")
            })
            .collect();
        out.push('{');
        out.push_str(&fields.join(","));
        out.push_str("}\n");
    }
    out
}
