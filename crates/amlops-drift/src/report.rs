//! The drift report and its JSON shape.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::config::{ColumnKind, Metric};

/// One metric of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    /// The metric.
    pub metric: Metric,
    /// Its value (`NaN` when undefined, e.g. chi-squared with a single category; JSON `null`).
    pub value: f64,
    /// The threshold that applied, if any.
    pub threshold: Option<f64>,
    /// Whether the threshold was breached; `None` without threshold or value.
    pub drift: Option<bool>,
    /// Why a metric with a threshold has no finite value (the gate then fails closed).
    pub problem: Option<String>,
}

/// Baseline and target counts per bin, as the JS and PSI metrics saw them: the shared
/// equal-width bins of a numerical column, the most frequent categories of a categorical one
/// (the rest summed in a last `(other)` bin).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// A label per bin: `lo..hi` for numerical bins, the category for categorical ones.
    pub labels: Vec<String>,
    /// Bin edges of a numerical column (one more than the bins); empty for categorical ones.
    pub edges: Vec<f64>,
    /// Baseline rows per bin.
    pub baseline: Vec<u64>,
    /// Target rows per bin.
    pub target: Vec<u64>,
}

/// Categories shown one by one in a categorical histogram.
pub const TOP_CATEGORIES: usize = 12;

/// Categories by their baseline plus target share, largest first, then by their text.
fn by_share<'a>(
    keys: &'a [&str],
    baseline: &'a [f64],
    target: &'a [f64],
) -> impl Fn(&usize, &usize) -> std::cmp::Ordering + Copy + 'a {
    let (sb, st) = (
        baseline.iter().sum::<f64>().max(1.0),
        target.iter().sum::<f64>().max(1.0),
    );
    move |&a: &usize, &b: &usize| {
        let wa = baseline[a] / sb + target[a] / st;
        let wb = baseline[b] / sb + target[b] / st;
        wb.total_cmp(&wa).then_with(|| keys[a].cmp(keys[b]))
    }
}

impl Histogram {
    /// The histogram of a categorical column: the categories with the largest baseline plus
    /// target share first, at most [`TOP_CATEGORIES`], then the rest in one bin.
    pub fn categorical(keys: &[&str], baseline: &[f64], target: &[f64]) -> Histogram {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        // A total order (keys are distinct): the first TOP_CATEGORIES are picked, then sorted,
        // which gives what sorting every category gives (a column may have a million of them).
        let by_share = by_share(keys, baseline, target);
        if order.len() > TOP_CATEGORIES {
            order.select_nth_unstable_by(TOP_CATEGORIES, by_share);
        }
        let top = order.len().min(TOP_CATEGORIES);
        order[..top].sort_unstable_by(by_share);
        Histogram::from_order(keys, baseline, target, &order)
    }

    /// The first [`TOP_CATEGORIES`] categories of `order`, in that order, then the rest in one bin.
    fn from_order(keys: &[&str], baseline: &[f64], target: &[f64], order: &[usize]) -> Histogram {
        let mut h = Histogram {
            labels: Vec::new(),
            edges: Vec::new(),
            baseline: Vec::new(),
            target: Vec::new(),
        };
        for &i in order.iter().take(TOP_CATEGORIES) {
            h.labels.push(keys[i].to_string());
            h.baseline.push(baseline[i] as u64);
            h.target.push(target[i] as u64);
        }
        if order.len() > TOP_CATEGORIES {
            let rest = &order[TOP_CATEGORIES..];
            h.labels.push(format!("(other {})", rest.len()));
            h.baseline.push(rest.iter().map(|&i| baseline[i] as u64).sum());
            h.target.push(rest.iter().map(|&i| target[i] as u64).sum());
        }
        h
    }

    /// The histogram of a numerical column from its bin edges and counts.
    pub fn numerical(edges: Vec<f64>, baseline: Vec<u64>, target: Vec<u64>) -> Histogram {
        let labels = edges
            .windows(2)
            .map(|w| format!("{}..{}", short(w[0]), short(w[1])))
            .collect();
        Histogram {
            labels,
            edges,
            baseline,
            target,
        }
    }
}

/// A number in at most 4 significant digits.
pub(crate) fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-3..6).contains(&mag) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - mag).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The result for one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnReport {
    /// Column name.
    pub name: String,
    /// Numerical or categorical.
    pub kind: ColumnKind,
    /// Metrics in report order (drift, then data quality).
    pub metrics: Vec<MetricResult>,
    /// Baseline and target counts per bin.
    pub histogram: Option<Histogram>,
}

impl ColumnReport {
    /// True when any metric with a threshold breached it.
    pub fn drifted(&self) -> bool {
        self.metrics.iter().any(|m| m.drift == Some(true))
    }

    /// The result of one metric, if computed.
    pub fn metric(&self, metric: Metric) -> Option<&MetricResult> {
        self.metrics.iter().find(|m| m.metric == metric)
    }
}

/// The drift report. Serialises to
/// `{"columns": {"<col>": {"type", "metrics": {"<metric>": {"value", "threshold", "drift"}},
/// "histogram": {"bins", "edges", "baseline", "target"}}}, "drifted": [...],
/// "rows": {"baseline", "target", "baseline_total", "target_total"},
/// "malformed_lines": {"baseline", "target"}, "warnings": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftReport {
    /// Compared columns, in baseline order.
    pub columns: Vec<ColumnReport>,
    /// Rows of the baseline used (after dropping rows with nulls).
    pub rows_baseline: u64,
    /// Rows of the target used (after dropping rows with nulls).
    pub rows_target: u64,
    /// Rows of the baseline read.
    pub rows_baseline_total: u64,
    /// Rows of the target read (the denominator of the quality rates).
    pub rows_target_total: u64,
    /// Malformed JSON Lines lines skipped in the baseline.
    pub malformed_baseline: u64,
    /// Malformed JSON Lines lines skipped in the target.
    pub malformed_target: u64,
    /// Warnings for people (skipped lines, naming file and line).
    pub warnings: Vec<String>,
}

impl DriftReport {
    /// Names of the drifted columns, in column order.
    pub fn drifted(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.drifted())
            .map(|c| c.name.clone())
            .collect()
    }

    /// Metrics with a threshold that could not be computed, as `column `c`: metric ...: why`.
    /// A gate fails on these (closed), as on a drifted column.
    pub fn not_computed(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|c| {
                c.metrics.iter().filter_map(move |m| {
                    let why = m.problem.as_deref()?;
                    Some(format!(
                        "column `{}`: {} (threshold {}) could not be computed: {why}",
                        c.name,
                        m.metric,
                        m.threshold.map(|t| t.to_string()).unwrap_or_default()
                    ))
                })
            })
            .collect()
    }

    /// The report of one column.
    pub fn column(&self, name: &str) -> Option<&ColumnReport> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The report as a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn finite_or_none(v: f64) -> Option<f64> {
    if v.is_finite() { Some(v) } else { None }
}

struct MetricsMap<'a>(&'a [MetricResult]);

impl Serialize for MetricsMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for r in self.0 {
            let mut v = serde_json::json!({
                "value": finite_or_none(r.value),
                "threshold": r.threshold,
                "drift": r.drift,
            });
            if let Some(p) = &r.problem {
                v["problem"] = serde_json::Value::String(p.clone());
            }
            m.serialize_entry(r.metric.as_str(), &v)?;
        }
        m.end()
    }
}

impl Serialize for ColumnReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("type", self.kind.as_str())?;
        m.serialize_entry("metrics", &MetricsMap(&self.metrics))?;
        if let Some(h) = &self.histogram {
            m.serialize_entry(
                "histogram",
                &serde_json::json!({
                    "bins": h.labels,
                    "edges": h.edges.iter().map(|&e| finite_or_none(e)).collect::<Vec<_>>(),
                    "baseline": h.baseline,
                    "target": h.target,
                }),
            )?;
        }
        m.end()
    }
}

struct ColumnsMap<'a>(&'a [ColumnReport]);

impl Serialize for ColumnsMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for c in self.0 {
            m.serialize_entry(&c.name, c)?;
        }
        m.end()
    }
}

impl Serialize for DriftReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("columns", &ColumnsMap(&self.columns))?;
        m.serialize_entry("drifted", &self.drifted())?;
        m.serialize_entry(
            "rows",
            &serde_json::json!({
                "baseline": self.rows_baseline,
                "target": self.rows_target,
                "baseline_total": self.rows_baseline_total,
                "target_total": self.rows_target_total,
            }),
        )?;
        m.serialize_entry(
            "malformed_lines",
            &serde_json::json!({"baseline": self.malformed_baseline, "target": self.malformed_target}),
        )?;
        m.serialize_entry("warnings", &self.warnings)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The histogram of every category sorted by share (then text), as it was built before
    /// the top categories were picked without sorting the rest.
    fn by_full_sort(keys: &[&str], b: &[f64], t: &[f64]) -> Histogram {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(by_share(keys, b, t));
        Histogram::from_order(keys, b, t, &order)
    }

    proptest::proptest! {
        /// Few or many categories, with equal shares (ties broken by the text): the top
        /// categories and the rest's bin are what sorting every category gives.
        #[test]
        fn top_categories_are_those_of_a_full_sort(
            counts in proptest::collection::vec((0u64..6, 0u64..6), 0..200),
        ) {
            let names: Vec<String> = (0..counts.len()).map(|i| format!("c{:03}", (i * 37) % 1000)).collect();
            let keys: Vec<&str> = names.iter().map(String::as_str).collect();
            let b: Vec<f64> = counts.iter().map(|c| c.0 as f64).collect();
            let t: Vec<f64> = counts.iter().map(|c| c.1 as f64).collect();
            let got = Histogram::categorical(&keys, &b, &t);
            let want = by_full_sort(&keys, &b, &t);
            proptest::prop_assert_eq!(got.labels, want.labels);
            proptest::prop_assert_eq!(got.baseline, want.baseline);
            proptest::prop_assert_eq!(got.target, want.target);
        }
    }
}
