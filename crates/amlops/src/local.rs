//! `amlops local` (placeholder until its issue fills it in).

use std::process::ExitCode;

/// Arguments of `amlops local`.
#[derive(Debug, clap::Args)]
pub struct LocalArgs {}

/// Run `amlops local`.
pub fn run(_args: LocalArgs) -> ExitCode {
    eprintln!("amlops local: not available in this build");
    ExitCode::FAILURE
}
