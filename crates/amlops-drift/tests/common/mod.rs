//! Test support shared by the drift tests that feed damaged input: telling our own panics from the
//! dependencies' ones (which the reader turns into errors naming the file and column).
#![allow(dead_code)]

use std::sync::{Mutex, Once};

/// Where a panic comes from: its source file, or, for one raised inside the standard library
/// (`capacity overflow`, a slice index), `crate <name>` of the first caller outside it (found
/// by symbol name: dependencies carry no line tables in test builds).
pub fn panic_origin(info: &std::panic::PanicHookInfo<'_>) -> String {
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
pub fn from_dependency(origin: &str) -> bool {
    origin.contains("registry/src/")
        || origin
            .strip_prefix("crate ")
            .is_some_and(|c| !c.starts_with("amlops"))
}

/// Panics outside a dependency seen so far. The drift reader turns a panic under a column into
/// an error naming the file and column (for the `parquet` and `arrow` crates' panics on damaged
/// data); one in our own code or the standard library is a bug these tests must report.
pub fn our_panics() -> &'static Mutex<Vec<String>> {
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
