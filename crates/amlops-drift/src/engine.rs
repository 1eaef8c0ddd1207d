//! Orchestration: schemas, column selection and kinds, one pass or projected reads per data
//! set, then the metric jobs spread over worker threads.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::DriftError;
use crate::config::{ColumnKind, DriftConfig, Metric};
use crate::csv_side::{self, CsvScan, ScanColumn};
use crate::jsonl_side::{self, LineReport};
use crate::metrics;
use crate::parquet_side::{self, ParquetSide};
use crate::quality::{
    self, Bounds, ColumnQuality, DROPPED_VALUES_LIMIT, DroppedRows, QualityColumn, Reading,
};
use crate::report::{ColumnReport, DriftReport, Histogram, MetricResult};
use crate::sample::Sample;
use crate::source::{DataFormat, DataSource, ValueType};

/// Integer columns are categorical when distinct/rows on the baseline is below this.
pub const INT_CATEGORICAL_RATIO: f64 = 0.05;

/// A data set once read: CSV and JSON Lines give the same spills and counts.
enum Side {
    Csv(CsvScan),
    Parquet(ParquetSide),
}

impl Side {
    fn rows_valid(&self) -> u64 {
        match self {
            Side::Csv(s) => s.rows_valid,
            Side::Parquet(p) => p.rows_valid,
        }
    }

    fn rows_total(&self) -> u64 {
        match self {
            Side::Csv(s) => s.rows_total,
            Side::Parquet(p) => p.rows_total,
        }
    }

    /// A numeric column's values on the rows kept; a Parquet target also records its dropped
    /// rows' nulls and values in `dropped` (text data sets recorded them while scanned).
    fn numeric(
        &self,
        column: &str,
        out: &mut Sample,
        dropped: Option<&mut Reading>,
    ) -> Result<(), DriftError> {
        out.clear();
        match self {
            Side::Csv(s) => match s.spills.get(column) {
                Some(p) => csv_side::read_spill(p, &mut out.values),
                None => Err(DriftError::Config(format!(
                    "column `{column}` was not read as numbers"
                ))),
            },
            Side::Parquet(p) => p.numeric(column, out, dropped),
        }
    }

    fn counts(
        &self,
        column: &str,
        dropped: Option<&mut Reading>,
    ) -> Result<HashMap<String, u64>, DriftError> {
        match self {
            Side::Csv(s) => match s.counts.get(column) {
                Some(Some(m)) => Ok(m.clone()),
                _ => Err(DriftError::Config(format!(
                    "column `{column}` has more than {} distinct values to count as categories",
                    crate::counting::MAX_INT_CATEGORIES
                ))),
            },
            Side::Parquet(p) => p.counts(column, dropped),
        }
    }

    /// A cost estimate for a column's job: stored bytes (Parquet; 0 for CSV).
    fn cost(&self, column: &str) -> u64 {
        match self {
            Side::Csv(_) => 0,
            Side::Parquet(p) => p.size(column),
        }
    }

    fn int_distinct(&self, column: &str) -> Result<Option<usize>, DriftError> {
        match self {
            Side::Csv(s) => Ok(s.int_distinct.get(column).copied().flatten()),
            Side::Parquet(p) => p.int_distinct(column),
        }
    }
}

fn schema(src: &DataSource) -> Result<Vec<(String, ValueType)>, DriftError> {
    match src.format() {
        DataFormat::Csv => csv_side::schema(src.files()),
        DataFormat::Parquet => parquet_side::schema(src.files()),
        DataFormat::Jsonl => jsonl_side::schema(src.files()),
    }
}

/// A column to compare, with its kind (`None`: integer, decided by the distinct ratio).
struct Planned {
    name: String,
    baseline_type: ValueType,
    /// The type the target is read as (CSV and JSON Lines: the baseline's, unless both are
    /// numbers; a target value not of it is a data-type error).
    target_type: ValueType,
    kind: Option<ColumnKind>,
}

fn plan(
    baseline: &DataSource,
    target: &DataSource,
    sb: &[(String, ValueType)],
    st: &[(String, ValueType)],
    config: &DriftConfig,
) -> Result<Vec<Planned>, DriftError> {
    let names: Vec<String> = match &config.columns {
        Some(cols) if !cols.is_empty() => cols.clone(),
        _ => sb
            .iter()
            .filter(|(n, _)| st.iter().any(|(m, _)| m == n))
            .map(|(n, _)| n.clone())
            .collect(),
    };
    if names.is_empty() {
        return Err(DriftError::NoColumns(format!(
            "{} and {} share no column names",
            baseline.root().display(),
            target.root().display()
        )));
    }
    if let Some(cats) = &config.categorical_columns
        && let Some(c) = cats.iter().find(|c| !names.contains(c))
    {
        return Err(DriftError::Config(format!(
            "categorical column `{c}` is not among the compared columns"
        )));
    }
    let missing = |src: &DataSource, s: &[(String, ValueType)], c: &str| DriftError::MissingColumn {
        path: src.files()[0].clone(),
        column: c.to_string(),
        available: s.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
    };
    let mut out = Vec::new();
    for name in names {
        let tb = sb
            .iter()
            .find(|(n, _)| *n == name)
            .map(|x| x.1)
            .ok_or_else(|| missing(baseline, sb, &name))?;
        let tt = st
            .iter()
            .find(|(n, _)| *n == name)
            .map(|x| x.1)
            .ok_or_else(|| missing(target, st, &name))?;
        // A side whose sampled rows hold only nulls takes the other side's type.
        let (tb, tt) = match (tb, tt) {
            (ValueType::Null, ValueType::Null) => (ValueType::Str, ValueType::Str),
            (ValueType::Null, x) => (x, x),
            (x, ValueType::Null) => (x, x),
            other => other,
        };
        let forced_cat = config.categorical_columns.as_ref().map(|c| c.contains(&name));
        let kind = match forced_cat {
            Some(true) => Some(ColumnKind::Categorical),
            Some(false) => Some(ColumnKind::Numerical),
            None => match tb {
                ValueType::Float => Some(ColumnKind::Numerical),
                ValueType::Int => None,
                _ => Some(ColumnKind::Categorical),
            },
        };
        // CSV and JSON Lines targets are read with the baseline's types: a value of another
        // type is a data-type error (counted, then missing), not a failure. A Parquet column's
        // type is its schema's.
        let strict = target.format() == DataFormat::Parquet;
        let wrong = |src: &DataSource, vt: ValueType, msg: String| DriftError::WrongType {
            path: src.files()[0].clone(),
            line: None,
            column: name.clone(),
            message: format!("holds {}: {msg}", vt.describe()),
        };
        if kind != Some(ColumnKind::Categorical) {
            if !tb.is_numeric() {
                return Err(wrong(
                    baseline,
                    tb,
                    "a numerical column needs numbers (or list it in categoricalColumns)".into(),
                ));
            }
            if strict && !tt.is_numeric() {
                return Err(wrong(target, tt, format!("the baseline holds {}", tb.describe())));
            }
        } else if strict && (tb.is_numeric() != tt.is_numeric() || (!tb.is_numeric() && tb != tt)) {
            return Err(wrong(target, tt, format!("the baseline holds {}", tb.describe())));
        }
        let target_type = if strict || (tb.is_numeric() && tt.is_numeric()) {
            tt
        } else {
            tb
        };
        out.push(Planned {
            name,
            baseline_type: tb,
            target_type,
            kind,
        });
    }
    Ok(out)
}

/// A data set read for drift; a text target also records its dropped rows (up to `limit`
/// values; `None` past it).
fn open_side(
    src: &DataSource,
    planned: &[Planned],
    side: &'static str,
    spill: &std::path::Path,
    limit: usize,
    numerical: &[std::sync::atomic::AtomicBool],
) -> Result<(Side, LineReport, Option<DroppedRows>), DriftError> {
    let names: Vec<String> = planned.iter().map(|p| p.name.clone()).collect();
    let target = side == "target";
    let cols = |types: &[(String, ValueType)]| -> Vec<ScanColumn> {
        planned
            .iter()
            .map(|p| {
                let vt = if target {
                    p.target_type
                } else {
                    types
                        .iter()
                        .find(|(n, _)| *n == p.name)
                        .map_or(p.baseline_type, |x| x.1)
                };
                let vt = if vt == ValueType::Null {
                    p.baseline_type
                } else {
                    vt
                };
                ScanColumn {
                    name: p.name.clone(),
                    vt,
                    spill: p.kind != Some(ColumnKind::Categorical),
                    count: p.kind != Some(ColumnKind::Numerical),
                    lenient: target,
                }
            })
            .collect()
    };
    match src.format() {
        DataFormat::Parquet => Ok((
            Side::Parquet(ParquetSide::open(src.files(), &names)?),
            LineReport::default(),
            None,
        )),
        DataFormat::Csv => {
            let types = if target {
                Vec::new()
            } else {
                csv_side::schema(src.files())?
            };
            let cols = cols(&types);
            let mut dropped = target.then(|| DroppedRows::for_scan(&cols, limit));
            let scan = csv_side::scan(src.files(), &cols, spill, side, dropped.as_mut(), numerical)?;
            Ok((
                Side::Csv(scan),
                LineReport::default(),
                dropped.filter(|d| !d.full()),
            ))
        }
        DataFormat::Jsonl => {
            let types = if target {
                Vec::new()
            } else {
                jsonl_side::schema(src.files())?
            };
            let cols = cols(&types);
            let mut dropped = target.then(|| DroppedRows::for_scan(&cols, limit));
            let (scan, lines) = jsonl_side::scan(src.files(), &cols, target, spill, side, dropped.as_mut())?;
            Ok((Side::Csv(scan), lines, dropped.filter(|d| !d.full())))
        }
    }
}

fn threads(config: &DriftConfig) -> usize {
    if config.threads > 0 {
        config.threads
    } else {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }
}

/// Per-worker buffers, reused from one numerical column to the next.
#[derive(Default)]
struct Buffers {
    baseline: Sample,
    target: Sample,
    metrics: metrics::Buffers,
}

/// Run jobs over `n` workers, collecting results in job order.
fn run_jobs<T: Send>(n_jobs: usize, workers: usize, job: impl Fn(usize, &mut Buffers) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n_jobs).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.min(n_jobs).max(1) {
            s.spawn(|| {
                let mut buffers = Buffers::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n_jobs {
                        break;
                    }
                    let r = job(i, &mut buffers);
                    if let Ok(mut g) = results.lock() {
                        g[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Compute drift between a baseline and a target data set.
pub fn compute_drift(
    baseline: &DataSource,
    target: &DataSource,
    config: &DriftConfig,
) -> Result<DriftReport, DriftError> {
    compute(baseline, target, config, DROPPED_VALUES_LIMIT).map(|c| c.report)
}

/// A drift report, with how its data-quality counts were made.
#[derive(Debug)]
pub(crate) struct Computed {
    pub report: DriftReport,
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    pub way: QualityWay,
    /// Each compared column's data-quality counts, in report order.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    pub quality: Vec<ColumnQuality>,
}

/// How the data-quality counts were made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QualityWay {
    /// No target row was dropped: from the drift samples.
    NothingDropped,
    /// From the drift samples and the dropped rows recorded while the target was read.
    Fused,
    /// The dropped rows held more than the limit: a second pass over the target.
    SecondPass,
}

/// [`compute_drift`], with the most values the dropped target rows may hold before quality is
/// counted by a second pass, and which way it was counted.
pub(crate) fn compute(
    baseline: &DataSource,
    target: &DataSource,
    config: &DriftConfig,
    limit: usize,
) -> Result<Computed, DriftError> {
    let workers = threads(config);
    let started = std::time::Instant::now();
    let (sb, st) = std::thread::scope(|s| {
        let h = s.spawn(|| schema(target));
        let b = schema(baseline);
        (
            b,
            h.join()
                .unwrap_or_else(|_| Err(DriftError::Config("schema reader panicked".into()))),
        )
    });
    let (sb, st) = (sb?, st?);
    let mut planned = plan(baseline, target, &sb, &st, config)?;
    for r in &config.thresholds.rules {
        if let Some(c) = &r.column
            && !planned.iter().any(|p| &p.name == c)
        {
            return Err(DriftError::Config(format!(
                "threshold `{c}:{}` names a column that is not compared",
                r.metric
            )));
        }
    }
    let spill_dir = match &config.temp_dir {
        Some(d) => tempfile::Builder::new().prefix("amlops-drift-").tempdir_in(d),
        None => tempfile::Builder::new().prefix("amlops-drift-").tempdir(),
    }
    .map_err(|e| DriftError::io(config.temp_dir.clone().unwrap_or_else(std::env::temp_dir), e))?;
    // Integer columns the baseline's scan finds numerical, for the target's scan (see `csv_side::scan`).
    let numerical: Vec<std::sync::atomic::AtomicBool> = planned
        .iter()
        .map(|_| std::sync::atomic::AtomicBool::new(false))
        .collect();
    let (b, t) = std::thread::scope(|s| {
        let h = s.spawn(|| open_side(target, &planned, "target", spill_dir.path(), limit, &numerical));
        let b = open_side(
            baseline,
            &planned,
            "baseline",
            spill_dir.path(),
            limit,
            &numerical,
        );
        (
            b,
            h.join()
                .unwrap_or_else(|_| Err(DriftError::Config("reader panicked".into()))),
        )
    });
    let ((b, lines_b, _), (t, lines_t, dropped)) = (b?, t?);
    let (nb, nt) = (b.rows_valid(), t.rows_valid());
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        rows_baseline = nb,
        rows_target = nt,
        "schemas read, data sets opened"
    );
    if nb == 0 {
        return Err(DriftError::NoRowsLeft {
            side: "baseline",
            path: baseline.root().to_path_buf(),
            detail: String::new(),
        });
    }
    if nt == 0 {
        return Err(DriftError::NoRowsLeft {
            side: "target",
            path: target.root().to_path_buf(),
            detail: why_no_rows(target, &planned, t.rows_total())?,
        });
    }
    // Integer columns: categorical when distinct/rows < 0.05 on the baseline. Each column's
    // distinct values are read (Parquet: the whole column) on the workers, largest first.
    let mut undecided: Vec<usize> = (0..planned.len())
        .filter(|&i| planned[i].kind.is_none())
        .collect();
    undecided.sort_by_key(|&i| std::cmp::Reverse(b.cost(&planned[i].name)));
    let distincts = run_jobs(undecided.len(), workers, |j, _| {
        b.int_distinct(&planned[undecided[j]].name)
    });
    let mut distincts: Vec<(usize, Result<Option<usize>, DriftError>)> =
        undecided.into_iter().zip(distincts).collect();
    // The first column's error, as when they were read one by one.
    distincts.sort_by_key(|(i, _)| *i);
    for (i, distinct) in distincts {
        let p = &mut planned[i];
        let distinct = distinct?;
        let cat =
            distinct.is_some_and(|d| (d as f64) / (b.rows_total().max(1) as f64) < INT_CATEGORICAL_RATIO);
        p.kind = Some(if cat {
            ColumnKind::Categorical
        } else {
            ColumnKind::Numerical
        });
        tracing::debug!(column = %p.name, ?distinct, categorical = cat, "integer column kind");
    }
    let bins = metrics::n_bins(nb, nt);
    // Longest jobs first, so that the workers finish together: numerical before categorical,
    // larger columns (stored bytes of both sides) before smaller ones.
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|&i| {
        let p = &planned[i];
        (
            p.kind != Some(ColumnKind::Numerical),
            std::cmp::Reverse(b.cost(&p.name) + t.cost(&p.name)),
        )
    });
    // The dropped target rows' nulls, type errors and values: recorded by the text scans; a
    // Parquet target's are read with each column, unless they would hold too many values.
    let rows_total = t.rows_total();
    let n_dropped = rows_total - nt;
    let way = match (&t, &dropped) {
        _ if n_dropped == 0 => QualityWay::NothingDropped,
        (Side::Csv(_), Some(_)) => QualityWay::Fused,
        (Side::Parquet(_), _) if n_dropped.saturating_mul(planned.len() as u64) <= limit as u64 => {
            QualityWay::Fused
        }
        _ => QualityWay::SecondPass,
    };
    let results = run_jobs(order.len(), workers, |j, buffers| {
        let i = order[j];
        let p = &planned[i];
        let drops = match (way, &dropped) {
            (QualityWay::Fused, Some(d)) => Drops::Scanned(&d.columns[i]),
            (QualityWay::Fused, None) => Drops::Read,
            _ => Drops::None,
        };
        column_job(p, &b, &t, bins, config, drops, buffers)
    });
    let mut done: Vec<Option<Job>> = (0..planned.len()).map(|_| None).collect();
    for (j, r) in results.into_iter().enumerate() {
        done[order[j]] = Some(r?);
    }
    drop(spill_dir);
    let mut done: Vec<Job> = done.into_iter().flatten().collect();
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "drift computed");
    // Data quality over every target row: from the drift samples and the dropped rows, else
    // by one more pass over the target.
    let fused: Option<Vec<ColumnQuality>> = match way {
        QualityWay::NothingDropped => Some(
            done.iter()
                .map(|j| ColumnQuality {
                    out_of_bounds: j.out_of_bounds_kept,
                    ..ColumnQuality::default()
                })
                .collect(),
        ),
        QualityWay::Fused => done.iter_mut().map(|j| j.quality.take()).collect(),
        QualityWay::SecondPass => None,
    };
    let way = if fused.is_none() {
        QualityWay::SecondPass
    } else {
        way
    };
    let counts: Vec<ColumnQuality> = if let Some(q) = fused {
        q
    } else {
        let cols: Vec<QualityColumn> = planned
            .iter()
            .zip(&done)
            .map(|(p, j)| QualityColumn {
                name: p.name.clone(),
                vt: p.target_type,
                numerical: j.report.kind == ColumnKind::Numerical,
                bounds: j.bounds.clone(),
            })
            .collect();
        quality::pass(target.format(), target.files(), &cols)?
    };
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        ?way,
        rows_dropped = n_dropped,
        "target quality counted"
    );
    let columns = done
        .into_iter()
        .zip(&counts)
        .map(|(j, q)| {
            let mut report = j.report;
            for (metric, n) in [
                (Metric::NullValueRate, q.nulls),
                (Metric::DataTypeErrorRate, q.type_errors),
                (Metric::OutOfBoundsRate, q.out_of_bounds),
            ] {
                let value = n as f64 / rows_total.max(1) as f64;
                let threshold = config.thresholds.lookup(&report.name, report.kind, metric);
                report.metrics.push(MetricResult {
                    metric,
                    value,
                    threshold,
                    drift: threshold.and_then(|th| metric.breached(value, th)),
                    problem: None,
                });
            }
            report
        })
        .collect();
    let mut warnings = lines_b.all_warnings();
    warnings.extend(lines_t.all_warnings());
    Ok(Computed {
        report: DriftReport {
            columns,
            rows_baseline: nb,
            rows_target: nt,
            rows_baseline_total: b.rows_total(),
            rows_target_total: rows_total,
            malformed_baseline: lines_b.malformed,
            malformed_target: lines_t.malformed,
            warnings,
        },
        way,
        quality: counts,
    })
}

/// Why no target row is left: the columns with type errors or nulls in every row.
fn why_no_rows(target: &DataSource, planned: &[Planned], rows: u64) -> Result<String, DriftError> {
    let cols: Vec<QualityColumn> = planned
        .iter()
        .map(|p| QualityColumn {
            name: p.name.clone(),
            vt: p.target_type,
            numerical: p.kind == Some(ColumnKind::Numerical)
                || (p.kind.is_none() && p.target_type == ValueType::Float),
            bounds: Bounds::Range(f64::NEG_INFINITY, f64::INFINITY),
        })
        .collect();
    let q = quality::pass(target.format(), target.files(), &cols)?;
    let mut parts = Vec::new();
    for (c, q) in cols.iter().zip(q) {
        if let Some(first) = &q.first_type_error {
            parts.push(format!(
                "column `{}`: {} of {rows} values are not of the baseline's type ({}; the baseline holds {})",
                c.name,
                q.type_errors,
                first,
                planned
                    .iter()
                    .find(|p| p.name == c.name)
                    .map_or("", |p| p.baseline_type.describe())
            ));
        } else if q.nulls == rows {
            parts.push(format!("column `{}` is null in every row", c.name));
        }
    }
    Ok(if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    })
}

/// A column's drift result, with what the data-quality counts need.
struct Job {
    report: ColumnReport,
    /// The baseline's range or categories.
    bounds: Bounds,
    /// Target values outside the bounds among the rows kept.
    out_of_bounds_kept: u64,
    /// The column's quality over every target row, when the dropped rows were recorded.
    quality: Option<ColumnQuality>,
}

/// Where a column job finds the dropped target rows.
enum Drops<'a> {
    /// Not recorded (none dropped, or a second pass counts quality).
    None,
    /// Recorded by the text scan.
    Scanned(&'a quality::DroppedColumn),
    /// Read with the target column (Parquet).
    Read,
}

fn column_job(
    p: &Planned,
    b: &Side,
    t: &Side,
    bins: usize,
    config: &DriftConfig,
    drops: Drops<'_>,
    buf: &mut Buffers,
) -> Result<Job, DriftError> {
    let kind = p.kind.unwrap_or(ColumnKind::Numerical);
    let _span = tracing::debug_span!("column", name = %p.name).entered();
    let job_start = std::time::Instant::now();
    let mut categories = 0usize;
    let mut read = Reading::default();
    let collect = matches!(drops, Drops::Read).then_some(&mut read);
    let values: (Vec<(Metric, f64)>, Histogram, Bounds, u64) = match kind {
        ColumnKind::Numerical => {
            b.numeric(&p.name, &mut buf.baseline, None)?;
            t.numeric(&p.name, &mut buf.target, collect)?;
            tracing::debug!(ms = job_start.elapsed().as_millis() as u64, "read");
            let v = metrics::numerical_samples(&mut buf.baseline, &mut buf.target, &mut buf.metrics, bins);
            let values = vec![
                (Metric::JensenShannonDistance, v.jensen_shannon),
                (Metric::PopulationStabilityIndex, v.psi),
                (Metric::NormalizedWassersteinDistance, v.normalized_wasserstein),
                (Metric::TwoSampleKolmogorovSmirnovTest, v.ks_pvalue),
            ];
            (
                values,
                Histogram::numerical(v.edges, v.hist_baseline, v.hist_target),
                Bounds::Range(v.baseline_range.0, v.baseline_range.1),
                v.target_out_of_range,
            )
        }
        ColumnKind::Categorical => {
            let cb = b.counts(&p.name, None)?;
            let ct = t.counts(&p.name, collect)?;
            // One row a category (its text, its baseline and target counts), in the order of
            // the texts: one lookup a category (columns of integer ids have up to a million).
            let mut rows: Vec<(&str, u64, u64)> = Vec::with_capacity(cb.len().max(ct.len()));
            rows.extend(
                cb.iter()
                    .map(|(k, &n)| (k.as_str(), n, ct.get(k).copied().unwrap_or(0))),
            );
            let mut unseen = 0u64;
            for (k, &n) in &ct {
                if !cb.contains_key(k) {
                    rows.push((k.as_str(), 0, n));
                    unseen += n;
                }
            }
            rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
            categories = rows.len();
            let vb: Vec<f64> = rows.iter().map(|r| r.1 as f64).collect();
            let vt: Vec<f64> = rows.iter().map(|r| r.2 as f64).collect();
            let keys: Vec<&str> = rows.iter().map(|r| r.0).collect();
            let v = metrics::categorical(&vb, &vt, b.rows_valid() as f64, t.rows_valid() as f64);
            let values = vec![
                (Metric::JensenShannonDistance, v.jensen_shannon),
                (Metric::PopulationStabilityIndex, v.psi),
                (Metric::PearsonsChiSquaredTest, v.chi2_pvalue),
            ];
            let hist = Histogram::categorical(&keys, &vb, &vt);
            (values, hist, Bounds::Categories(cb), unseen)
        }
    };
    let (values, histogram, bounds, out_of_bounds_kept) = values;
    let numerical = kind == ColumnKind::Numerical;
    let quality = match drops {
        Drops::None => None,
        Drops::Scanned(d) => d
            .reading(numerical)
            .map(|r| r.quality(&bounds, out_of_bounds_kept)),
        Drops::Read => Some(read.quality(&bounds, out_of_bounds_kept)),
    };
    tracing::debug!(ms = job_start.elapsed().as_millis() as u64, ?kind, "column done");
    let metrics = values
        .into_iter()
        .map(|(metric, value)| {
            let threshold = config.thresholds.lookup(&p.name, kind, metric);
            let drift = threshold.and_then(|th| metric.breached(value, th));
            let problem = threshold.and(not_computed(kind, metric, value, categories));
            MetricResult {
                metric,
                value,
                threshold,
                drift,
                problem,
            }
        })
        .collect();
    Ok(Job {
        report: ColumnReport {
            name: p.name.clone(),
            kind,
            metrics,
            histogram: Some(histogram),
        },
        bounds,
        out_of_bounds_kept,
        quality,
    })
}

/// Why a metric has no finite value (inputs are finite: the readers reject NaN and infinities),
/// or `None` when it has one. A gate with a threshold on it fails closed.
fn not_computed(kind: ColumnKind, metric: Metric, value: f64, categories: usize) -> Option<String> {
    if value.is_finite() {
        return None;
    }
    Some(match (kind, metric) {
        (ColumnKind::Categorical, Metric::PearsonsChiSquaredTest) if categories < 2 => {
            "a single category on both sides leaves the test no degrees of freedom".to_string()
        }
        (ColumnKind::Numerical, _) => {
            format!("its value is {value}: the column's values are too large for floating-point arithmetic")
        }
        _ => format!("its value is {value}"),
    })
}
