//! amlops-azureml's integration tests in one test binary (one per crate, not one per file: each binary links
//! every dependency). Each file is a module; `cargo test -p amlops-azureml --test integration examples::`
//! runs one. `logging` sets its subscribers per thread (`set_default` on a current-thread runtime), never
//! globally: it can share the process.

mod assets;
mod common;
mod conflicts;
mod credentials;
mod examples;
mod faults;
mod fuzz_corpus;
mod logging;
mod monitor;
mod operations;
mod security;
mod tls;
mod troubleshooting;
mod upload;
