//! The fuzz targets' committed corpora and the crashers they found (`fuzz/corpus/<target>`,
//! `fuzz/regressions/<target>`), replayed on stable: every input gives a report or an error
//! naming the file, never a panic. See docs/reliability.md, "Fuzzing".

use std::path::{Path, PathBuf};

use crate::common::our_panics;
use amlops_drift::{DataSource, DriftConfig, Thresholds, compute_drift};

/// The repository's `fuzz/` folder.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every input of a target: its minimised corpus, then its regressions.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = fuzz_dir();
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            out.push(e.unwrap().path());
        }
    }
    out.sort();
    assert!(
        !out.is_empty(),
        "no committed inputs for the fuzz target {target}"
    );
    out
}

/// Run `f` on every input of `target`, naming the input that panics.
fn replay(target: &str, f: impl Fn(&[u8])) {
    for path in inputs(target) {
        let data = std::fs::read(&path).unwrap();
        let ours = our_panics();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data)));
        assert!(r.is_ok(), "{target}: {} panicked", path.display());
        let seen: Vec<String> = std::mem::take(&mut *ours.lock().unwrap());
        assert!(
            seen.is_empty(),
            "{target}: {} panicked in our code: {seen:?}",
            path.display()
        );
    }
}

/// What the drift targets do: the bytes as a data set compared with itself. The error's text,
/// if it ends in one (`None`: a report, or a name the data set is not recognised by).
fn drift_error(ext: &str, data: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("input.{ext}"));
    std::fs::write(&path, data).unwrap();
    let src = DataSource::from_path(&path).ok()?;
    let config = DriftConfig {
        thresholds: Thresholds::parse("js=0.1\npsi=0.1\nnwd=0.1\nks=0.05\nchi2=0.05").unwrap(),
        threads: 1,
        ..Default::default()
    };
    compute_drift(&src, &src, &config).err().map(|e| e.to_string())
}

/// A report, or an error that names the input.
fn drift(ext: &str, data: &[u8]) {
    if let Some(msg) = drift_error(ext, data) {
        assert!(
            msg.contains("input.") || msg.starts_with("no columns") || msg.starts_with("invalid drift"),
            "{msg}"
        );
    }
}

/// Found by `drift_parquet`: a footer of 1.4 KB declaring millions of schema elements. The
/// `parquet` crate reserved 24 GB for them before reading one, which ends the process where
/// that much memory cannot be had (under the fuzzer's limit, or on a small agent); the footer's
/// lengths are now checked against its bytes first, and the file is refused by name.
#[test]
fn a_footer_declaring_more_than_it_holds_is_refused_before_it_is_read() {
    let data = std::fs::read(fuzz_dir().join("regressions/drift_parquet/parquet-oom-schema-list")).unwrap();
    let msg = drift_error("parquet", &data).unwrap_or_default();
    assert!(
        msg.contains("input.parquet")
            && msg.contains(
                "the footer (1426 bytes) is damaged: a list or a text in it is longer than the footer"
            ),
        "{msg}"
    );
}

#[test]
fn parquet_inputs_give_a_report_or_an_error() {
    replay("drift_parquet", |d| drift("parquet", d));
}

#[test]
fn csv_inputs_give_a_report_or_an_error() {
    replay("drift_csv", |d| drift("csv", d));
}

#[test]
fn jsonl_inputs_give_a_report_or_an_error() {
    replay("drift_jsonl", |d| drift("jsonl", d));
}

#[test]
fn page_headers_give_a_header_or_an_error() {
    replay("drift_page_header", |d| {
        if let Ok((len, sizes)) = amlops_drift::fuzz_page_header(d) {
            assert!(len <= d.len());
            assert!(sizes.iter().all(|&s| s >= 0));
        }
    });
}

#[test]
fn numbers_parse_as_the_standard_parsers_parse_them() {
    replay("drift_number", |d| {
        for (ours, standard) in amlops_drift::fuzz_numbers(d) {
            assert_eq!(ours, standard, "{:?}", String::from_utf8_lossy(d));
        }
    });
}

#[test]
fn split_and_delta_pages_give_values_or_an_error() {
    replay("drift_transcode", |d| {
        if let Some(p) = amlops_drift::fuzz_transcode(d)
            && let Ok(values) = &p.plain
        {
            if p.width > 0 {
                assert_eq!(values.len(), p.present * p.width, "{p:?}");
            } else {
                // Text: `present` values, each a 4-byte length and as many bytes.
                let (mut at, mut n) = (0usize, 0usize);
                while at < values.len() {
                    let len =
                        u32::from_le_bytes([values[at], values[at + 1], values[at + 2], values[at + 3]]);
                    at += 4 + len as usize;
                    n += 1;
                }
                assert_eq!((at, n), (values.len(), p.present), "{p:?}");
            }
        }
    });
}

#[test]
fn threshold_texts_give_thresholds_or_an_error() {
    replay("drift_thresholds", |d| {
        if let Ok(text) = std::str::from_utf8(d) {
            match Thresholds::parse(text) {
                Ok(t) => assert!(t.rules.iter().all(|r| r.value.is_none_or(f64::is_finite))),
                Err(e) => assert!(e.to_string().contains("line")),
            }
        }
    });
}
