//! Walks the az ml YAML corpus (`tests/corpus/manifest.json`, provenance in `tests/corpus/README.md`) and
//! compares the rendered requests with what the SDK sent (method, path and body of every PUT,
//! in order; api-version aside). Writes a per-case report to `$CARGO_TARGET_TMPDIR/corpus-report.txt`.
//! The corpus holds the dev cases and the variants of them the differential tool (`tools/yaml-diff`) found
//! bugs with (next to their originals, a few under `variants/`); every case must agree with the SDK.

use std::path::{Path, PathBuf};

use crate::support::oracle;
use serde_json::Value;

/// Number of SDK-converted cases in the manifest (all must match).
const CONVERTED: usize = 416;
/// Number of SDK-rejected cases in the manifest (all must be rejected).
const SDK_REJECTED: usize = 98;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

#[test]
fn corpus_matches_the_sdk() {
    let dir = corpus_dir();
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("corpus manifest.json is readable"),
    )
    .expect("manifest is JSON");
    let cases = manifest["cases"].as_array().expect("cases");
    let (per_kind, report, panics) = oracle::run_manifest(cases, &dir, &dir);
    let matched: usize = per_kind.values().map(|t| t.matched).sum();
    let converted: usize = per_kind.values().map(|t| t.converted).sum();
    let rejected: usize = per_kind.values().map(|t| t.rejected).sum();
    let sdk_rejected: usize = per_kind.values().map(|t| t.sdk_rejected).sum();
    let summary = format!(
        "matched {matched}/{converted} converted cases; rejected {rejected}/{sdk_rejected} SDK-rejected cases; \
         panics {panics}\n{}",
        oracle::summary(&per_kind)
    );
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus-report.txt");
    std::fs::write(&out, format!("{summary}{report}")).expect("write report");
    assert_eq!(panics, 0, "the converter panicked; see {}", out.display());
    assert_eq!(
        (converted, sdk_rejected),
        (CONVERTED, SDK_REJECTED),
        "the manifest's case counts changed"
    );
    assert_eq!(matched, converted, "{summary}see {}", out.display());
    assert_eq!(rejected, sdk_rejected, "{summary}see {}", out.display());
}
