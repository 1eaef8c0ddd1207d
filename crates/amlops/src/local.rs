//! `amlops local`: the embedded local workspace.

use std::path::PathBuf;
use std::process::ExitCode;

use amlops_local::{LocalConfig, LocalWorkspace};

/// Arguments of `amlops local`.
#[derive(Debug, clap::Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: LocalCommand,
}

/// Subcommands of `amlops local`.
#[derive(Debug, clap::Subcommand)]
pub enum LocalCommand {
    /// Serve a local Azure ML workspace on 127.0.0.1 (jobs run as local processes on python3).
    Serve(ServeArgs),
}

/// Arguments of `amlops local serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TCP port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Directory holding the workspace state; it survives restarts.
    #[arg(long, default_value = ".amlops")]
    pub state: PathBuf,
    /// Subscription id of the served workspace.
    #[arg(long, default_value = amlops_local::DEFAULT_SUBSCRIPTION)]
    pub subscription: String,
    /// Resource group of the served workspace.
    #[arg(long, default_value = amlops_local::DEFAULT_RESOURCE_GROUP)]
    pub resource_group: String,
    /// Name of the served workspace.
    #[arg(long, default_value = amlops_local::DEFAULT_WORKSPACE)]
    pub workspace: String,
    /// Python interpreter for jobs and scoring scripts.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// A folder outside the state folder that jobs may name as a local path (`file://` or absolute inputs and
    /// outputs). Repeat for several; by default only the state folder is allowed.
    #[arg(long = "allow-dir", value_name = "DIR")]
    pub allow_dirs: Vec<PathBuf>,
}

/// Run `amlops local`.
pub fn run(args: LocalArgs) -> ExitCode {
    match args.command {
        LocalCommand::Serve(a) => serve(a),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("amlops local serve: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut config = LocalConfig::new(&args.state);
    config.port = args.port;
    config.subscription_id = args.subscription;
    config.resource_group = args.resource_group;
    config.workspace = args.workspace;
    config.python = args.python;
    config.allowed_dirs = args.allow_dirs;
    runtime.block_on(async move {
        let ws = match LocalWorkspace::start(config).await {
            Ok(ws) => ws,
            Err(e) => {
                eprintln!("amlops local serve: {e}");
                return ExitCode::FAILURE;
            }
        };
        // The URL is the first line and the token has a line of its own: scripts read them.
        println!("{}", ws.base_url());
        println!("token: {}", ws.token());
        println!("workspace: {}", ws.workspace_url());
        println!("state: {}", args.state.display());
        println!(
            "Every request needs 'Authorization: Bearer <token>' (the token is also in {}). Use the URL as the \
             service connection's ARM URL and the token as its accessToken (scheme Token). Press Ctrl+C to stop.",
            args.state.join("token").display()
        );
        wait_for_stop().await;
        match ws.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("amlops local serve: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Waits for Ctrl+C or, on Unix, SIGTERM: either way the workspace shuts down cleanly (job processes are killed).
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => {
                        if let Err(e) = r {
                            eprintln!("amlops local serve: cannot wait for Ctrl+C: {e}");
                        }
                    }
                    _ = term.recv() => {}
                }
                return;
            }
            Err(e) => eprintln!("amlops local serve: cannot wait for SIGTERM: {e}"),
        }
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("amlops local serve: cannot wait for Ctrl+C: {e}");
    }
}
