//! Data drift and data-quality metrics as Azure ML model monitoring defines them, streamed over
//! CSV, Parquet and JSON Lines (Azure ML data-collector events or plain row objects).
//!
//! ```no_run
//! use amlops_drift::{DataSource, DriftConfig, Thresholds, compute_drift};
//! let baseline = DataSource::from_path("train.parquet")?;
//! let target = DataSource::from_path("inference/")?;
//! let config = DriftConfig { thresholds: Thresholds::parse("js=0.1\nage:nwd=0.2")?, ..Default::default() };
//! let report = compute_drift(&baseline, &target, &config)?;
//! println!("{}", report.to_json());
//! # Ok::<(), amlops_drift::DriftError>(())
//! ```
//!
//! Definitions (see `docs/performance.md` and the benchmark README): rows with a null in any
//! compared column are dropped on each side; numerical JS and PSI use k = ceil(log2(min(N_b, N_t)) + 1)
//! equal-width bins over the pooled range with Spark's histogram rules; PSI adds one to every
//! count; the normalized Wasserstein distance divides W1 by max(baseline sample sd, 0.001);
//! KS and chi-squared p-values follow scipy's `ks_2samp` (auto mode) and `chisquare`.
//!
//! Memory: Parquet columns are read page by page; dictionary pages are counted by index and
//! decimal values are counted densely by key while they are read, so most columns are never
//! held value by value. A numerical column that must be (non-decimal data with many distinct
//! values) is held, both sides, only while its job runs: exact KS and Wasserstein come from
//! bucket counts and sums over both samples, with only the buckets where the two distribution
//! functions cross or near their largest gap sorted (`ecdf`). CSV and JSON Lines inputs are read once (JSON Lines a line at a time through
//! one buffer) and spill numeric columns to a temp folder. See `docs/performance.md`.
//!
//! Data quality (`null_value_rate`, `data_type_error_rate`, `out_of_bounds_rate`) is counted
//! over every target row, before rows with nulls are dropped; see `docs/tasks/gate-guide.md`.

mod config;
mod counting;
mod csv_scan;
mod csv_side;
mod distinct;
pub mod ecdf;
mod engine;
mod error;
pub mod html;
mod jsonl_json;
mod jsonl_side;
pub mod metrics;
mod num;
mod parquet_side;
mod pq_pages;
mod quality;
mod report;
pub mod sample;
mod sort;
mod source;
pub mod special;
#[cfg(test)]
mod test_support;
mod thrift;

pub use config::{ColumnKind, DriftConfig, Metric, ThresholdRule, Thresholds, default_threshold};
pub use engine::{INT_CATEGORICAL_RATIO, compute_drift};
pub use error::DriftError;
#[doc(hidden)]
pub use num::fuzz_numbers;
#[doc(hidden)]
pub use pq_pages::{FuzzEncoding, FuzzPage, fuzz_transcode};
pub use report::{ColumnReport, DriftReport, Histogram, MetricResult, TOP_CATEGORIES};
pub use source::{DataFormat, DataSource};
#[doc(hidden)]
pub use thrift::fuzz_page_header;
