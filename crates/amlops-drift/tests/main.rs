//! amlops-drift's integration tests in two test binaries (not one per file: each binary links every
//! dependency). Each file is a module; `cargo test -p amlops-drift --test integration jsonl::` runs one.
//! The tests that feed damaged input are apart, in `damaged_input.rs`: they install a process-wide panic
//! hook.

mod csv_reader;
mod drift;
mod jsonl;
mod quality;
