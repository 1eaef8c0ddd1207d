//! The fuzz targets' committed corpora and the crashers they found (`fuzz/corpus/<target>`,
//! `fuzz/regressions/<target>`), replayed on stable: every input gives a report or an error
//! naming the file, never a panic. See docs/reliability.md, "Fuzzing".

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

use amlops_drift::{DataSource, DriftConfig, Thresholds, compute_drift};

/// Every input of a target: its minimised corpus, then its regressions.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
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

/// Where a panic comes from: its source file, or, for one raised inside the standard library
/// (`capacity overflow`, a slice index), `crate <name>` of the first caller outside it (found
/// by symbol name: dependencies carry no line tables in test builds).
fn panic_origin(info: &std::panic::PanicHookInfo<'_>) -> String {
    let file = info.location().map(|l| l.file().to_string()).unwrap_or_default();
    if !file.starts_with("/rustc/") {
        return file;
    }
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let symbols: Vec<&str> = trace
        .lines()
        .filter_map(|l| l.trim().split_once(": ").map(|(_, s)| s))
        .filter(|s| !s.starts_with('/'))
        .collect();
    let crate_of = |s: &str| {
        s.trim_start_matches('<')
            .split("::")
            .next()
            .unwrap_or("")
            .to_string()
    };
    let after_panic = symbols
        .iter()
        .rposition(|s| s.contains("panicking") || s.contains("rust_begin_unwind"))
        .map_or(0, |i| i + 1);
    symbols[after_panic..]
        .iter()
        .map(|s| crate_of(s))
        .find(|c| !matches!(c.as_str(), "std" | "core" | "alloc"))
        .map_or(file, |c| format!("crate {c}"))
}

/// Whether a panic's origin is a dependency (not our code): a file of the cargo registry, or a
/// crate whose name does not start with `amlops`.
fn from_dependency(origin: &str) -> bool {
    origin.contains("registry/src/")
        || origin
            .strip_prefix("crate ")
            .is_some_and(|c| !c.starts_with("amlops"))
}

/// Panics outside a dependency seen so far. The drift reader turns a panic under a column into
/// an error naming the file and column (for the `parquet` and `arrow` crates' panics on damaged
/// data); one in our own code or the standard library is a bug these tests must report.
fn our_panics() -> &'static Mutex<Vec<String>> {
    static OURS: Mutex<Vec<String>> = Mutex::new(Vec::new());
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !from_dependency(&panic_origin(info)) {
                if let Ok(mut ours) = OURS.lock() {
                    ours.push(info.to_string());
                }
                default(info);
            }
        }));
    });
    &OURS
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

/// What the drift targets do: the bytes as a data set compared with itself.
fn drift(ext: &str, data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("input.{ext}"));
    std::fs::write(&path, data).unwrap();
    let Ok(src) = DataSource::from_path(&path) else {
        return;
    };
    let config = DriftConfig {
        thresholds: Thresholds::parse("js=0.1\npsi=0.1\nnwd=0.1\nks=0.05\nchi2=0.05").unwrap(),
        threads: 1,
        ..Default::default()
    };
    if let Err(e) = compute_drift(&src, &src, &config) {
        // Errors about the input name it.
        let msg = e.to_string();
        assert!(
            msg.contains("input.") || msg.starts_with("no columns") || msg.starts_with("invalid drift"),
            "{msg}"
        );
    }
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
