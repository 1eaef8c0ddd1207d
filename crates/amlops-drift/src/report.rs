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
}

/// The result for one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnReport {
    /// Column name.
    pub name: String,
    /// Numerical or categorical.
    pub kind: ColumnKind,
    /// Metrics in report order.
    pub metrics: Vec<MetricResult>,
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
/// `{"columns": {"<col>": {"type", "metrics": {"<metric>": {"value", "threshold", "drift"}}}},
/// "drifted": [...], "rows": {"baseline", "target"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftReport {
    /// Compared columns, in baseline order.
    pub columns: Vec<ColumnReport>,
    /// Rows of the baseline used (after dropping rows with nulls).
    pub rows_baseline: u64,
    /// Rows of the target used (after dropping rows with nulls).
    pub rows_target: u64,
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
            m.serialize_entry(
                r.metric.as_str(),
                &serde_json::json!({
                    "value": finite_or_none(r.value),
                    "threshold": r.threshold,
                    "drift": r.drift,
                }),
            )?;
        }
        m.end()
    }
}

impl Serialize for ColumnReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("type", self.kind.as_str())?;
        m.serialize_entry("metrics", &MetricsMap(&self.metrics))?;
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
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("columns", &ColumnsMap(&self.columns))?;
        m.serialize_entry("drifted", &self.drifted())?;
        m.serialize_entry(
            "rows",
            &serde_json::json!({"baseline": self.rows_baseline, "target": self.rows_target}),
        )?;
        m.end()
    }
}
