//! Comparer of the differential dev tool (`tools/yaml-diff`): renders every case of a recorded variants
//! folder (`manifest.json` with `"root"`: the folder holding the YAML tree; `expected/`) with amlops-spec
//! and prints the per-kind agreement table, then one line per case.
//!
//! `cargo run -q -p amlops-spec --example oracle_diff -- <variants folder>`

#[path = "../tests/support/oracle.rs"]
mod oracle;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        let _ = writeln!(
            std::io::stderr(),
            "usage: oracle_diff <variants folder with manifest.json>"
        );
        return ExitCode::FAILURE;
    };
    let manifest: Value = match std::fs::read_to_string(dir.join("manifest.json"))
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{}: {e}", dir.join("manifest.json").display());
            return ExitCode::FAILURE;
        }
    };
    let root = dir.join(manifest["root"].as_str().unwrap_or("."));
    let cases = manifest["cases"].as_array().cloned().unwrap_or_default();
    let (per_kind, report, panics) = oracle::run_manifest(&cases, &root, &dir);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}panics: {panics}\n\n{report}", oracle::summary(&per_kind));
    ExitCode::SUCCESS
}
