//! A self-contained HTML report of a drift report: every column's baseline-vs-target histogram
//! as inline SVG, every metric with its threshold and verdict. No script, font or image is
//! loaded from anywhere; every name and value from the data is HTML-escaped.

use std::fmt::Write as _;

use crate::config::{ColumnKind, Metric};
use crate::report::{ColumnReport, DriftReport, Histogram, short};

/// The overall verdict shown at the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Everything held.
    Passed,
    /// Something failed.
    Failed,
    /// Something failed, but only a warning was asked for.
    Warned,
}

/// One gate rule with its verdict (the gate's rules; empty for `amlops drift`).
#[derive(Debug, Clone)]
pub struct RuleLine {
    /// The rule as written.
    pub rule: String,
    /// Its values, as text.
    pub values: String,
    /// The verdict, as text.
    pub verdict: String,
    /// Whether it held.
    pub passed: bool,
}

/// What the page says around the drift report.
#[derive(Debug, Clone)]
pub struct Page {
    /// The page title.
    pub title: String,
    /// A one-line summary under the title.
    pub headline: Option<String>,
    /// The overall verdict, if any.
    pub verdict: Option<Verdict>,
    /// How the baseline was given.
    pub baseline: String,
    /// How the target was given.
    pub target: String,
    /// Gate rules, if any.
    pub rules: Vec<RuleLine>,
    /// Notes shown as a list (the gate's notices).
    pub notes: Vec<String>,
}

/// Escape text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A metric value for people: `n/a` when undefined, 4 significant digits otherwise.
pub fn value_text(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        short(v)
    }
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1b1b1b;max-width:1100px}\
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}\
h3{font-size:15px;margin:0 0 6px}.verdict{font-weight:600;padding:6px 10px;border-radius:4px;display:inline-block}\
.passed{background:#e3f4e6;color:#14532d}.failed{background:#fde2e1;color:#7f1d1d}.warned{background:#fff4d6;color:#713f12}\
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.col{display:flex;gap:18px;flex-wrap:wrap;align-items:flex-start;border:1px solid #e5e5e5;border-radius:6px;padding:10px 12px;margin:10px 0}\
.col.drift{border-color:#e11d48}.kind{color:#666;font-weight:400;font-size:13px}.bad{color:#b91c1c;font-weight:600}\
.ok{color:#15803d}.muted{color:#666}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}";

const BASE_COLOR: &str = "#4c78a8";
const TARGET_COLOR: &str = "#f58518";

/// Render the page.
pub fn render(report: Option<&DriftReport>, page: &Page) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&page.title),
        escape(&page.title)
    );
    if let Some(v) = page.verdict {
        let (class, word) = match v {
            Verdict::Passed => ("passed", "Passed"),
            Verdict::Failed => ("failed", "Failed"),
            Verdict::Warned => ("warned", "Failed (warn mode: the pipeline goes on)"),
        };
        let _ = writeln!(h, "<p class=\"verdict {class}\">{word}</p>");
    }
    if let Some(line) = &page.headline {
        let _ = writeln!(h, "<p>{}</p>", escape(line));
    }
    if !page.notes.is_empty() {
        h.push_str("<ul>");
        for n in &page.notes {
            let _ = write!(h, "<li>{}</li>", escape(n));
        }
        h.push_str("</ul>\n");
    }
    if !page.rules.is_empty() {
        h.push_str("<h2>Rules</h2>\n<table><tr><th>Rule</th><th>Values</th><th>Verdict</th></tr>\n");
        for r in &page.rules {
            let _ = writeln!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"{}\">{}</td></tr>",
                escape(&r.rule),
                escape(&r.values),
                if r.passed { "ok" } else { "bad" },
                escape(&r.verdict)
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(r) = report {
        drift_section(&mut h, r, page);
    }
    h.push_str("</body></html>\n");
    h
}

fn drift_section(h: &mut String, r: &DriftReport, page: &Page) {
    let drifted = r.drifted();
    let _ = writeln!(
        h,
        "<h2>Data drift and quality</h2>\n<p>Baseline <code>{}</code>: {} rows used of {}. Target <code>{}</code>: {} \
         rows used of {} (rows with a null in a compared column are left out of the drift metrics; the quality \
         rates count every target row). {} of {} columns breached a threshold{}.</p>",
        escape(&page.baseline),
        r.rows_baseline,
        r.rows_baseline_total,
        escape(&page.target),
        r.rows_target,
        r.rows_target_total,
        drifted.len(),
        r.columns.len(),
        if drifted.is_empty() {
            String::new()
        } else {
            format!(": {}", escape(&drifted.join(", ")))
        }
    );
    if r.malformed_baseline + r.malformed_target > 0 {
        let _ = writeln!(
            h,
            "<p class=\"bad\">Malformed JSON lines skipped: {} in the baseline, {} in the target.</p>",
            r.malformed_baseline, r.malformed_target
        );
    }
    let _ = writeln!(
        h,
        "<p class=\"legend muted\">Share of rows per bin:<span style=\"background:{BASE_COLOR}\"></span>baseline\
         <span style=\"background:{TARGET_COLOR}\"></span>target</p>"
    );
    for c in &r.columns {
        column(h, c);
    }
    if !r.warnings.is_empty() {
        h.push_str("<h2>Warnings</h2>\n<ul>");
        for w in &r.warnings {
            let _ = write!(h, "<li>{}</li>", escape(w));
        }
        h.push_str("</ul>\n");
    }
}

fn column(h: &mut String, c: &ColumnReport) {
    let drift = c.drifted();
    let checked = c.metrics.iter().any(|m| m.threshold.is_some());
    let badge = if drift {
        "<span class=\"bad\">breached</span>"
    } else if checked {
        "<span class=\"ok\">within thresholds</span>"
    } else {
        "<span class=\"muted\">no threshold</span>"
    };
    let _ = write!(
        h,
        "<div class=\"col{}\"><div><h3>{} <span class=\"kind\">{}</span> {badge}</h3>",
        if drift { " drift" } else { "" },
        escape(&c.name),
        c.kind
    );
    if let Some(hist) = &c.histogram {
        svg(h, hist, c.kind);
    }
    h.push_str("</div>\n<table><tr><th>Metric</th><th>Value</th><th>Threshold</th><th>Verdict</th></tr>\n");
    for m in &c.metrics {
        let threshold = match m.threshold {
            None => "—".to_string(),
            Some(t) if m.metric.is_p_value() => format!("p &lt; {}", value_text(t)),
            Some(t) => format!("&gt; {}", value_text(t)),
        };
        let verdict = match (m.drift, &m.problem) {
            (_, Some(p)) => format!("<span class=\"bad\">not computed: {}</span>", escape(p)),
            (Some(true), _) if m.metric.is_quality() => "<span class=\"bad\">breached</span>".into(),
            (Some(true), _) => "<span class=\"bad\">drift</span>".into(),
            (Some(false), _) => "<span class=\"ok\">ok</span>".into(),
            (None, _) => "<span class=\"muted\">reported only</span>".into(),
        };
        let value = if m.metric.is_quality() && m.value.is_finite() {
            percent(m.value)
        } else {
            value_text(m.value)
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{value}</td><td class=\"num\">{threshold}</td><td>{verdict}</td></tr>",
            metric_label(m.metric)
        );
    }
    h.push_str("</table></div>\n");
}

fn metric_label(m: Metric) -> &'static str {
    match m {
        Metric::JensenShannonDistance => "Jensen-Shannon distance",
        Metric::PopulationStabilityIndex => "population stability index",
        Metric::NormalizedWassersteinDistance => "normalized Wasserstein distance",
        Metric::TwoSampleKolmogorovSmirnovTest => "Kolmogorov-Smirnov p-value",
        Metric::PearsonsChiSquaredTest => "chi-squared p-value",
        Metric::NullValueRate => "null value rate",
        Metric::DataTypeErrorRate => "data type error rate",
        Metric::OutOfBoundsRate => "out-of-bounds rate",
    }
}

/// A share as a percentage for people: `0%`, `<0.01%`, else 4 significant digits.
fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p > 0.0 && p < 0.01 {
        "<0.01%".into()
    } else {
        format!("{}%", short(p))
    }
}

/// Grouped bars: per bin the baseline's and the target's share of rows.
fn svg(h: &mut String, hist: &Histogram, kind: ColumnKind) {
    let n = hist.baseline.len().max(1);
    let (tb, tt) = (
        hist.baseline.iter().sum::<u64>().max(1) as f64,
        hist.target.iter().sum::<u64>().max(1) as f64,
    );
    let shares = |c: &[u64], t: f64| -> Vec<f64> { c.iter().map(|&x| x as f64 / t).collect() };
    let (sb, st) = (shares(&hist.baseline, tb), shares(&hist.target, tt));
    let top = sb.iter().chain(&st).copied().fold(0.0f64, f64::max).max(1e-12);
    let (w, plot_h, label_h) = (
        420.0,
        110.0,
        if kind == ColumnKind::Categorical {
            70.0
        } else {
            18.0
        },
    );
    let slot = w / n as f64;
    let bar = (slot * 0.4).max(1.0);
    let _ = write!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\" role=\"img\">",
        plot_h + label_h + 4.0,
        plot_h + label_h + 4.0
    );
    let _ = write!(
        h,
        "<line x1=\"0\" y1=\"{plot_h}\" x2=\"{w}\" y2=\"{plot_h}\" stroke=\"#999\" stroke-width=\"1\"/>"
    );
    for i in 0..hist.baseline.len() {
        let x0 = i as f64 * slot + slot * 0.1;
        let label = hist.labels.get(i).map(String::as_str).unwrap_or("");
        for (k, (share, count, color, side)) in [
            (sb[i], hist.baseline[i], BASE_COLOR, "baseline"),
            (
                st[i],
                hist.target.get(i).copied().unwrap_or(0),
                TARGET_COLOR,
                "target",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let bh = share / top * (plot_h - 4.0);
            let _ = write!(
                h,
                "<rect x=\"{:.2}\" y=\"{:.2}\" width=\"{bar:.2}\" height=\"{bh:.2}\" fill=\"{color}\"><title>{}: {side} {count} rows ({})</title></rect>",
                x0 + k as f64 * bar,
                plot_h - bh,
                escape(label),
                percent(share)
            );
        }
        if kind == ColumnKind::Categorical {
            let shown: String = label.chars().take(14).collect();
            let (tx, ty) = (x0 + bar, plot_h + 10.0);
            let _ = write!(
                h,
                "<text x=\"{tx:.2}\" y=\"{ty:.2}\" font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-45 {tx:.2} {ty:.2})\">{}</text>",
                escape(&shown)
            );
        }
    }
    if kind == ColumnKind::Numerical && hist.edges.len() >= 2 {
        let _ = write!(
            h,
            "<text x=\"0\" y=\"{:.2}\" font-size=\"10\">{}</text><text x=\"{w}\" y=\"{:.2}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            plot_h + 13.0,
            escape(&short(hist.edges[0])),
            plot_h + 13.0,
            escape(&short(hist.edges[hist.edges.len() - 1]))
        );
    }
    h.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::MetricResult;

    #[test]
    fn names_and_values_are_escaped_and_nothing_is_loaded() {
        let report = DriftReport {
            columns: vec![ColumnReport {
                name: "<script>alert('x')</script>".into(),
                kind: ColumnKind::Categorical,
                metrics: vec![MetricResult {
                    metric: Metric::JensenShannonDistance,
                    value: 0.5,
                    threshold: Some(0.1),
                    drift: Some(true),
                    problem: None,
                }],
                histogram: Some(Histogram::categorical(
                    &["a&b", "<img src=x>"],
                    &[3.0, 1.0],
                    &[1.0, 3.0],
                )),
            }],
            rows_baseline: 4,
            rows_target: 4,
            rows_baseline_total: 4,
            rows_target_total: 4,
            malformed_baseline: 0,
            malformed_target: 1,
            warnings: vec!["t.jsonl, line 3: skipped: <bad>".into()],
        };
        let page = Page {
            title: "Drift \"report\"".into(),
            headline: None,
            verdict: Some(Verdict::Failed),
            baseline: "b.csv".into(),
            target: "t & u".into(),
            rules: vec![],
            notes: vec![],
        };
        let html = render(Some(&report), &page);
        assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("a&amp;b") && html.contains("&lt;img src=x&gt;"));
        assert!(html.contains("t &amp; u") && html.contains("&lt;bad&gt;"));
        assert!(!html.contains("<link") && !html.contains("@import") && !html.contains("url("));
        assert_eq!(html.matches("<svg").count(), 1);
        // Two bars a category: baseline 3/4 and target 1/4 of rows for `a&b`.
        assert!(
            html.contains("a&amp;b: baseline 3 rows (75%)") && html.contains("a&amp;b: target 1 rows (25%)")
        );
    }
}
