//! amlops-train's integration tests in one test binary (one per crate, not one per file: each binary links
//! every dependency). Each file is a module; `cargo test -p amlops-train --test integration flow::` runs
//! one. `panic` panics on purpose inside `run_guarded`, which catches it; no test here installs a panic hook
//! (`run_task` does, and only the task binaries call it).

mod common;
mod flow;
mod inputs;
mod panic;
mod security;
mod train;
