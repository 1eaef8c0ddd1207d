//! amlops-local's integration tests in one test binary (one per crate, not one per file: each binary links
//! every dependency). Each file is a module; `cargo test -p amlops-local --test integration jobs::` runs
//! one. Every test starts its own workspace on its own loopback port and folder.

mod collection;
mod common;
mod endpoints;
mod jobs;
mod metrics;
mod security;
mod workspace;
