//! xtask's integration tests in one test binary (one per crate, not one per file: each binary links every
//! dependency). Each file is a module; `cargo test -p xtask --test integration manifests::` runs one.

mod binaries;
mod manifests;
mod package;
mod test_layout;
