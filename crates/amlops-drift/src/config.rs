//! Metrics, column kinds, thresholds and the drift configuration.

use std::fmt;
use std::path::PathBuf;

use crate::DriftError;

/// The type of a compared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// Numbers (floating point, or integers with many distinct values).
    Numerical,
    /// Strings, booleans, dates, and integers with few distinct values.
    Categorical,
}

impl ColumnKind {
    /// The name used in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnKind::Numerical => "numerical",
            ColumnKind::Categorical => "categorical",
        }
    }

    /// The metrics computed for this kind of column, in report order (drift, then quality).
    pub fn metrics(self) -> &'static [Metric] {
        match self {
            ColumnKind::Numerical => &[
                Metric::JensenShannonDistance,
                Metric::PopulationStabilityIndex,
                Metric::NormalizedWassersteinDistance,
                Metric::TwoSampleKolmogorovSmirnovTest,
                Metric::NullValueRate,
                Metric::DataTypeErrorRate,
                Metric::OutOfBoundsRate,
            ],
            ColumnKind::Categorical => &[
                Metric::JensenShannonDistance,
                Metric::PopulationStabilityIndex,
                Metric::PearsonsChiSquaredTest,
                Metric::NullValueRate,
                Metric::DataTypeErrorRate,
                Metric::OutOfBoundsRate,
            ],
        }
    }
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A drift metric, named as Azure ML model monitoring names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Jensen-Shannon distance (base 2, 0..1); drift when above the threshold.
    JensenShannonDistance,
    /// Population stability index (Laplace-smoothed); drift when above the threshold.
    PopulationStabilityIndex,
    /// Wasserstein-1 distance divided by the baseline's sample standard deviation.
    NormalizedWassersteinDistance,
    /// Two-sample Kolmogorov-Smirnov test p-value; drift when below the threshold.
    TwoSampleKolmogorovSmirnovTest,
    /// Pearson's chi-squared test p-value; drift when below the threshold.
    PearsonsChiSquaredTest,
    /// Data quality: share of target rows whose value is null (0..1).
    NullValueRate,
    /// Data quality: share of target rows whose value is not of the baseline column's type.
    DataTypeErrorRate,
    /// Data quality: share of target rows whose value is outside the baseline's range
    /// (numerical) or a category the baseline never had (categorical).
    OutOfBoundsRate,
}

impl Metric {
    /// All metrics.
    pub const ALL: [Metric; 8] = [
        Metric::JensenShannonDistance,
        Metric::PopulationStabilityIndex,
        Metric::NormalizedWassersteinDistance,
        Metric::TwoSampleKolmogorovSmirnovTest,
        Metric::PearsonsChiSquaredTest,
        Metric::NullValueRate,
        Metric::DataTypeErrorRate,
        Metric::OutOfBoundsRate,
    ];

    /// The name used in thresholds and in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::JensenShannonDistance => "jensen_shannon_distance",
            Metric::PopulationStabilityIndex => "population_stability_index",
            Metric::NormalizedWassersteinDistance => "normalized_wasserstein_distance",
            Metric::TwoSampleKolmogorovSmirnovTest => "two_sample_kolmogorov_smirnov_test",
            Metric::PearsonsChiSquaredTest => "pearsons_chi_squared_test",
            Metric::NullValueRate => "null_value_rate",
            Metric::DataTypeErrorRate => "data_type_error_rate",
            Metric::OutOfBoundsRate => "out_of_bounds_rate",
        }
    }

    /// Parse a metric name; accepts the full names and the short forms
    /// `js`, `psi`, `nwd`, `ks`, `chi2`, `nulls`, `type_errors` and `oob`.
    pub fn parse(name: &str) -> Option<Metric> {
        let n = name.trim().to_ascii_lowercase();
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == n)
            .or(match n.as_str() {
                "js" => Some(Metric::JensenShannonDistance),
                "psi" => Some(Metric::PopulationStabilityIndex),
                "nwd" => Some(Metric::NormalizedWassersteinDistance),
                "ks" => Some(Metric::TwoSampleKolmogorovSmirnovTest),
                "chi2" => Some(Metric::PearsonsChiSquaredTest),
                "nulls" => Some(Metric::NullValueRate),
                "type_errors" => Some(Metric::DataTypeErrorRate),
                "oob" => Some(Metric::OutOfBoundsRate),
                _ => None,
            })
    }

    /// True for the statistical tests, whose value is a p-value (drift when below threshold).
    pub fn is_p_value(self) -> bool {
        matches!(
            self,
            Metric::TwoSampleKolmogorovSmirnovTest | Metric::PearsonsChiSquaredTest
        )
    }

    /// True for the data-quality rates (share of target rows, 0..1; none has a default threshold).
    pub fn is_quality(self) -> bool {
        matches!(
            self,
            Metric::NullValueRate | Metric::DataTypeErrorRate | Metric::OutOfBoundsRate
        )
    }

    /// Whether this metric is computed for a column kind.
    pub fn applies_to(self, kind: ColumnKind) -> bool {
        kind.metrics().contains(&self)
    }

    /// Verdict of a value against a threshold: `None` when the value is not a number.
    pub fn breached(self, value: f64, threshold: f64) -> Option<bool> {
        if value.is_nan() {
            return None;
        }
        Some(if self.is_p_value() {
            value < threshold
        } else {
            value > threshold
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One threshold line: `metric=value` or `column:metric=value`; `value` `none` disables.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdRule {
    /// The column it applies to, or every column when `None`.
    pub column: Option<String>,
    /// The metric.
    pub metric: Metric,
    /// The threshold, or `None` to switch a default off.
    pub value: Option<f64>,
}

/// Drift and data-quality thresholds. Lookup order for a column and metric: a `column:metric`
/// rule, then a `metric` rule, then Azure ML's defaults (normalized Wasserstein distance 0.1 for
/// numerical columns, Jensen-Shannon distance 0.1 for categorical ones; the quality rates have
/// none: reported only). Later lines win over earlier ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    /// The explicit rules, in input order.
    pub rules: Vec<ThresholdRule>,
}

/// Azure ML's default threshold for a column kind and metric.
pub fn default_threshold(kind: ColumnKind, metric: Metric) -> Option<f64> {
    match (kind, metric) {
        (ColumnKind::Numerical, Metric::NormalizedWassersteinDistance) => Some(0.1),
        (ColumnKind::Categorical, Metric::JensenShannonDistance) => Some(0.1),
        _ => None,
    }
}

impl Thresholds {
    /// Parse threshold lines. Lines may also be separated by `,` or `;`; blank lines and
    /// lines starting with `#` are ignored. Errors name the line and say what is wrong.
    pub fn parse(text: &str) -> Result<Thresholds, DriftError> {
        let mut rules = Vec::new();
        let mut line_no = 0;
        for line in text.lines() {
            line_no += 1;
            for item in line.split([',', ';']) {
                let item = item.trim();
                if item.is_empty() || item.starts_with('#') {
                    continue;
                }
                rules.push(parse_rule(item, line_no)?);
            }
        }
        Ok(Thresholds { rules })
    }

    /// The threshold that applies to a column of a kind for a metric.
    pub fn lookup(&self, column: &str, kind: ColumnKind, metric: Metric) -> Option<f64> {
        let specific = self
            .rules
            .iter()
            .rev()
            .find(|r| r.metric == metric && r.column.as_deref() == Some(column));
        if let Some(r) = specific {
            return r.value;
        }
        if let Some(r) = self
            .rules
            .iter()
            .rev()
            .find(|r| r.metric == metric && r.column.is_none())
        {
            return r.value;
        }
        default_threshold(kind, metric)
    }
}

fn parse_rule(item: &str, line: usize) -> Result<ThresholdRule, DriftError> {
    let err = |message: String| DriftError::Threshold {
        line,
        text: item.to_string(),
        message,
    };
    let (lhs, rhs) = item
        .split_once('=')
        .ok_or_else(|| err("expected `metric=value` or `column:metric=value`".into()))?;
    let (column, metric_name) = match lhs.rsplit_once(':') {
        Some((c, m)) => {
            let c = c.trim();
            if c.is_empty() {
                return Err(err("empty column name before `:`".into()));
            }
            (Some(c.to_string()), m)
        }
        None => (None, lhs),
    };
    let metric = Metric::parse(metric_name).ok_or_else(|| {
        let names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        err(format!(
            "unknown metric `{}` (known: {})",
            metric_name.trim(),
            names.join(", ")
        ))
    })?;
    let rhs = rhs.trim();
    let value = if rhs.eq_ignore_ascii_case("none") || rhs.eq_ignore_ascii_case("off") {
        None
    } else {
        let v: f64 = rhs
            .parse()
            .map_err(|_| err(format!("`{rhs}` is not a number (or `none`)")))?;
        if !v.is_finite() || v < 0.0 {
            return Err(err(format!("threshold {rhs} must be a finite number >= 0")));
        }
        if metric.is_p_value() && v > 1.0 {
            return Err(err(format!(
                "{metric} is a p-value: its threshold must be between 0 and 1"
            )));
        }
        if metric.is_quality() && v > 1.0 {
            return Err(err(format!(
                "{metric} is a share of the target rows: its threshold must be between 0 and 1 (e.g. 0.02 for 2%)"
            )));
        }
        Some(v)
    };
    Ok(ThresholdRule {
        column,
        metric,
        value,
    })
}

/// What to compare and how.
#[derive(Debug, Clone, Default)]
pub struct DriftConfig {
    /// Columns to compare (`driftColumns`); default: every column both sides share.
    pub columns: Option<Vec<String>>,
    /// Columns to treat as categorical (`categoricalColumns`); when set, exactly these are
    /// categorical and the others must be numeric. Default: detected (strings, booleans,
    /// dates, and integers whose distinct/rows ratio on the baseline is below 0.05).
    pub categorical_columns: Option<Vec<String>>,
    /// Thresholds (`driftThresholds`).
    pub thresholds: Thresholds,
    /// Worker threads; 0 = the machine's available parallelism.
    pub threads: usize,
    /// Where CSV inputs spill numeric columns while they are read (default: the system temp dir).
    pub temp_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_global_and_column_rules() {
        let t = Thresholds::parse(
            "js=0.2\nn00:nwd=0.05, c1:pearsons_chi_squared_test=0.01\n# comment\n\nks=none",
        )
        .unwrap();
        assert_eq!(t.rules.len(), 4);
        assert_eq!(
            t.lookup(
                "n00",
                ColumnKind::Numerical,
                Metric::NormalizedWassersteinDistance
            ),
            Some(0.05)
        );
        assert_eq!(
            t.lookup(
                "n01",
                ColumnKind::Numerical,
                Metric::NormalizedWassersteinDistance
            ),
            Some(0.1)
        );
        assert_eq!(
            t.lookup("n01", ColumnKind::Numerical, Metric::JensenShannonDistance),
            Some(0.2)
        );
        assert_eq!(
            t.lookup("c1", ColumnKind::Categorical, Metric::PearsonsChiSquaredTest),
            Some(0.01)
        );
        assert_eq!(
            t.lookup("c0", ColumnKind::Categorical, Metric::PearsonsChiSquaredTest),
            None
        );
        assert_eq!(
            t.lookup(
                "n01",
                ColumnKind::Numerical,
                Metric::TwoSampleKolmogorovSmirnovTest
            ),
            None
        );
    }

    #[test]
    fn none_switches_a_default_off() {
        let t = Thresholds::parse("normalized_wasserstein_distance=none").unwrap();
        assert_eq!(
            t.lookup("x", ColumnKind::Numerical, Metric::NormalizedWassersteinDistance),
            None
        );
        assert_eq!(
            t.lookup("c", ColumnKind::Categorical, Metric::JensenShannonDistance),
            Some(0.1)
        );
    }

    #[test]
    fn bad_rules_name_the_line() {
        let e = Thresholds::parse("js=0.1\nwasserstein=0.2")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("unknown metric `wasserstein`"),
            "{e}"
        );
        let e = Thresholds::parse("js=abc").unwrap_err().to_string();
        assert!(e.contains("not a number"), "{e}");
        let e = Thresholds::parse("ks=5").unwrap_err().to_string();
        assert!(e.contains("p-value"), "{e}");
        let e = Thresholds::parse("js 0.1").unwrap_err().to_string();
        assert!(e.contains("expected `metric=value`"), "{e}");
    }

    #[test]
    fn verdict_direction_depends_on_metric() {
        assert_eq!(Metric::JensenShannonDistance.breached(0.2, 0.1), Some(true));
        assert_eq!(Metric::JensenShannonDistance.breached(0.1, 0.1), Some(false));
        assert_eq!(Metric::PearsonsChiSquaredTest.breached(0.01, 0.05), Some(true));
        assert_eq!(Metric::PearsonsChiSquaredTest.breached(0.05, 0.05), Some(false));
        assert_eq!(
            Metric::TwoSampleKolmogorovSmirnovTest.breached(f64::NAN, 0.05),
            None
        );
    }
}
