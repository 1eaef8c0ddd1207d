//! `amlops render` (placeholder until its issue fills it in).

use std::process::ExitCode;

/// Arguments of `amlops render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {}

/// Run `amlops render`.
pub fn run(_args: RenderArgs) -> ExitCode {
    eprintln!("amlops render: not available in this build");
    ExitCode::FAILURE
}
