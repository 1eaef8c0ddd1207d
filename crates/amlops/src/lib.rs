//! The `amlops` command-line tool: each subcommand lives in its own module.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a CLI prints its results

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod canary_demo;
pub mod demo;
pub mod drift;
pub mod local;
pub mod monitoring;
pub mod pipeline;
pub mod render;

/// amlops: MLOps on Azure Machine Learning from Azure Pipelines, and offline.
#[derive(Debug, Parser)]
#[command(name = "amlops", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print, offline, the REST calls the tasks would make for an `az ml` YAML file.
    Render(render::RenderArgs),
    /// Compute data drift between a baseline and a target data set (CSV or Parquet).
    Drift(drift::DriftArgs),
    /// The embedded local workspace.
    Local(local::LocalArgs),
    /// Run the sample ML project end to end against the embedded local workspace with the real task binaries.
    Demo(demo::DemoArgs),
    /// Run the amlops steps of an azure-pipelines.yml against the embedded local workspace.
    RunPipeline(demo::RunPipelineArgs),
}

/// Parse the command line and run the subcommand.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Render(args) => render::run(args),
        Command::Drift(args) => drift::run(args),
        Command::Local(args) => local::run(args),
        Command::Demo(args) => demo::run(args),
        Command::RunPipeline(args) => demo::run_pipeline_command(args),
    }
}
