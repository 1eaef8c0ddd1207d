//! The `spec_yaml` fuzz target's committed corpus and crashers (`fuzz/corpus/spec_yaml`,
//! `fuzz/regressions/spec_yaml`), replayed on stable: a plan or an error, never a panic. See
//! docs/reliability.md, "Fuzzing".

use std::path::{Path, PathBuf};

use amlops_spec::{PlanOptions, SetOverride, plan_str};

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

/// Run `f` on every input of `target`, naming the input that panics.
fn replay(target: &str, f: impl Fn(&[u8])) {
    for path in inputs(target) {
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data)));
        assert!(r.is_ok(), "{target}: {} panicked", path.display());
    }
}

#[test]
fn yaml_inputs_give_a_plan_or_an_error() {
    replay("spec_yaml", |d| {
        let Ok(text) = std::str::from_utf8(d) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.yml");
        if let Err(e) = plan_str(text, &path, PlanOptions::default()) {
            assert!(!e.to_string().is_empty());
        }
        if let Err(e) = SetOverride::parse(text) {
            assert!(!e.to_string().is_empty());
        }
    });
}
