//! `amlops drift`: data drift between a baseline and a target data set, as a JSON report.

use std::path::PathBuf;
use std::process::ExitCode;

use amlops_drift::{DataSource, DriftConfig, Thresholds, compute_drift};

/// Arguments of `amlops drift`.
#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// Baseline (training) data: a CSV, Parquet or JSON Lines (`.jsonl`: Azure ML data-collector
    /// events or row objects) file, or a folder of them.
    #[arg(long)]
    pub baseline: PathBuf,
    /// Target (inference) data: a CSV, Parquet or JSON Lines file, or a folder of them (such as a
    /// downloaded `modelDataCollector/<endpoint>/<deployment>/model_inputs` folder).
    #[arg(long)]
    pub target: PathBuf,
    /// Columns to compare (comma-separated or repeated); default: the columns both share.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Columns to treat as categorical; default: detected (strings, booleans, integers with few values).
    #[arg(long = "categorical-columns", value_delimiter = ',')]
    pub categorical_columns: Vec<String>,
    /// Thresholds: `metric=value` or `column:metric=value`, separated by newlines, `,` or `;`
    /// (repeatable; `value` may be `none`). Defaults: normalized_wasserstein_distance=0.1 for
    /// numerical and jensen_shannon_distance=0.1 for categorical columns. The data-quality
    /// rates (null_value_rate, data_type_error_rate, out_of_bounds_rate) have none.
    #[arg(long)]
    pub thresholds: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Folder for temporary spill files of CSV inputs (default: the system temp folder).
    #[arg(long = "temp-dir")]
    pub temp_dir: Option<PathBuf>,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also write a self-contained HTML report (histograms, every metric) to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Print progress and timings (reading, each column's job and how its samples were
    /// ordered) to stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

fn config(args: &DriftArgs) -> Result<DriftConfig, amlops_drift::DriftError> {
    let thresholds = Thresholds::parse(&args.thresholds.join("\n"))?;
    Ok(DriftConfig {
        columns: (!args.columns.is_empty()).then(|| args.columns.clone()),
        categorical_columns: (!args.categorical_columns.is_empty()).then(|| args.categorical_columns.clone()),
        thresholds,
        threads: args.threads,
        temp_dir: args.temp_dir.clone(),
    })
}

/// Run `amlops drift`: prints the JSON report and exits 0 whatever the verdict;
/// exits 2 when the inputs or options are invalid.
pub fn run(args: DriftArgs) -> ExitCode {
    if args.verbose {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::new("amlops_drift=debug"))
            .with_target(false)
            .with_timer(tracing_subscriber::fmt::time::uptime())
            .try_init();
    }
    let result = (|| {
        let config = config(&args)?;
        let baseline = DataSource::from_path(&args.baseline)?;
        let target = DataSource::from_path(&args.target)?;
        compute_drift(&baseline, &target, &config)
    })();
    match result {
        Ok(report) => {
            for w in &report.warnings {
                eprintln!("amlops drift: warning: {w}");
            }
            let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
            if let Some(out) = &args.output
                && let Err(e) = std::fs::write(out, &text)
            {
                eprintln!("amlops drift: cannot write {}: {e}", out.display());
                return ExitCode::from(2);
            }
            if let Some(out) = &args.html {
                let page = amlops_drift::html::Page {
                    title: "Data drift and quality".into(),
                    headline: None,
                    verdict: None,
                    baseline: args.baseline.display().to_string(),
                    target: args.target.display().to_string(),
                    rules: Vec::new(),
                    notes: Vec::new(),
                };
                if let Err(e) = std::fs::write(out, amlops_drift::html::render(Some(&report), &page)) {
                    eprintln!("amlops drift: cannot write {}: {e}", out.display());
                    return ExitCode::from(2);
                }
            }
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("amlops drift: {e}");
            ExitCode::from(2)
        }
    }
}
