//! amlops-spec's integration tests in one test binary (one per crate, not one per file: each binary links
//! every dependency). Each file is a module; `cargo test -p amlops-spec --test integration corpus::` runs
//! one.

mod api;
mod corpus;
mod fuzz_corpus;
mod never_panics;
mod sdk_differences;
mod sdk_entity_rules;
mod sdk_job_rules;
mod sdk_seed31_rules;
mod support;
