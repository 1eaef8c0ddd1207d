//! amlops-deploy's integration tests in one test binary (one per crate, not one per file: each binary links
//! every dependency). Each file is a module; `cargo test -p amlops-deploy --test integration wire::` runs
//! one.

mod analysis;
mod deploy;
mod flow;
mod rollback;
mod wire;
