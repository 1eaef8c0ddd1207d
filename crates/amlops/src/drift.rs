//! `amlops drift` (placeholder until its issue fills it in).

use std::process::ExitCode;

/// Arguments of `amlops drift`.
#[derive(Debug, clap::Args)]
pub struct DriftArgs {}

/// Run `amlops drift`.
pub fn run(_args: DriftArgs) -> ExitCode {
    eprintln!("amlops drift: not available in this build");
    ExitCode::FAILURE
}
