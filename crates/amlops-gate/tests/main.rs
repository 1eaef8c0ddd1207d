//! amlops-gate's integration tests in one test binary (one per crate, not one per file: each binary links
//! every dependency). Each file is a module; `cargo test -p amlops-gate --test integration live_data::`
//! runs one.

mod azure_backend;
mod binary;
mod fail_closed;
mod fake_backend;
mod live_data;
mod report_html;
mod support;
