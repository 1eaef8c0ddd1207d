//! amlops-agent's integration tests in one test binary (one per crate, not one per file: each binary links
//! every dependency). Each file is a module; `cargo test -p amlops-agent --test integration vectors::` runs
//! one. `tracing_layer` sets its subscribers per thread (`with_default`), never globally: it can share the
//! process.

mod agent;
mod tracing_layer;
mod vectors;
