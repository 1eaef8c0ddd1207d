//! The `logging_command` fuzz target's committed corpus and crashers
//! (`fuzz/corpus/logging_command`, `fuzz/regressions/logging_command`), replayed on stable:
//! arbitrary output decodes without a panic, and a neutralised line is never a logging command.
//! See docs/reliability.md, "Fuzzing".

use std::path::{Path, PathBuf};

use amlops_agent::command::{neutralise, parse_command};
use amlops_testkit::RunResult;

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
fn task_output_decodes_and_neutralised_lines_stay_text() {
    replay("logging_command", |d| {
        let Ok(text) = std::str::from_utf8(d) else {
            return;
        };
        for line in text.lines() {
            let safe = neutralise(line);
            assert!(parse_command(&safe, true).is_none(), "{safe:?}");
        }
        let run = RunResult::decode(Some(0), text.to_string(), String::new());
        assert!(run.events.len() <= text.lines().count());
    });
}
