//! amlops-rules' integration tests in one test binary (one per crate, not one per file: each binary links
//! every dependency). Each file is a module; `cargo test -p amlops-rules --test integration dialect::` runs
//! one.

mod dialect;
mod fuzz_corpus;
