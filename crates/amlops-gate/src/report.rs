//! The gate's results for people (a markdown build summary) and machines (a JSON report).

use amlops_drift::html::{Page, RuleLine, Verdict};
use amlops_drift::{ColumnKind, DriftReport};
use serde_json::{Value, json};

use crate::gate::{GateMode, GateReport, Resolved, RuleVerdict, format_number};

/// `passed`, `failed`, or `warned` (failed in warn mode).
pub fn result_word(report: &GateReport) -> &'static str {
    match (report.passed(), report.mode) {
        (true, _) => "passed",
        (false, GateMode::Fail) => "failed",
        (false, GateMode::Warn) => "warned",
    }
}

/// Escape text for a markdown table cell.
pub fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

fn values_cell(values: &[(String, Option<f64>)], absent: &str) -> String {
    if values.is_empty() {
        return "—".into();
    }
    values
        .iter()
        .map(|(name, v)| match v {
            Some(v) => format!("{} = {}", cell(name), format_number(*v)),
            None => format!("{} = {absent}", cell(name)),
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// The build summary (markdown).
pub fn markdown(report: &GateReport) -> String {
    let mut md = String::new();
    let title = match result_word(report) {
        "passed" => "✅ passed",
        "failed" => "❌ failed",
        _ => "⚠️ failed (warn mode: the pipeline goes on)",
    };
    md.push_str(&format!(
        "## Azure ML gate: {title}\n\n{}\n\n",
        cell(&report.headline())
    ));
    let before_bullets = md.len();
    if let Some(c) = &report.candidate {
        md.push_str(&format!("- Candidate: {}\n", cell(&c.description)));
    }
    if !report.rules.is_empty() || report.champion.is_some() {
        match &report.champion {
            Some(c) => md.push_str(&format!("- Champion: {}\n", cell(&c.description))),
            None if report.rules.iter().any(|r| !r.champion.is_empty()) => md.push_str("- Champion: none\n"),
            None => {}
        }
    }
    for n in &report.notices {
        md.push_str(&format!("- Notice: {}\n", cell(n)));
    }
    if md.len() > before_bullets {
        md.push('\n');
    }
    if !report.rules.is_empty() {
        md.push_str("### Rules\n\n| Rule | Candidate | Champion | Verdict |\n|---|---|---|---|\n");
        for r in &report.rules {
            let icon = match r.verdict {
                RuleVerdict::Passed => "✅",
                RuleVerdict::NoChampion => "ℹ️",
                _ => "❌",
            };
            let absent = if report.champion.is_none() {
                "no champion"
            } else {
                "missing"
            };
            let mut verdict = format!("{icon} {}", r.verdict.as_str());
            if let Some(m) = &r.message {
                verdict.push_str(": ");
                verdict.push_str(m);
            }
            md.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                r.rule.replace('|', "\\|"),
                values_cell(&r.candidate, "missing"),
                values_cell(&r.champion, absent),
                cell(&verdict)
            ));
        }
        md.push('\n');
    }
    if let Some(d) = &report.drift {
        md.push_str(&format!(
            "### Data drift\n\nBaseline `{}` ({} rows), target `{}` ({} rows).\n\n",
            d.baseline.replace('`', "'"),
            d.report.rows_baseline,
            d.target.replace('`', "'"),
            d.report.rows_target
        ));
        if d.report.malformed_baseline + d.report.malformed_target > 0 {
            md.push_str(&format!(
                "Malformed JSON lines skipped: {} in the baseline, {} in the target (see the warnings).\n\n",
                d.report.malformed_baseline, d.report.malformed_target
            ));
        }
        md.push_str("| Column | Type | Metric | Threshold | Value | Verdict |\n|---|---|---|---|---|---|\n");
        for c in &d.report.columns {
            let checked: Vec<_> = c.metrics.iter().filter(|m| m.threshold.is_some()).collect();
            if checked.is_empty() {
                md.push_str(&format!(
                    "| {} | {} | — | — | — | not checked |\n",
                    cell(&c.name),
                    c.kind.as_str()
                ));
                continue;
            }
            for m in checked {
                let value = if m.value.is_finite() {
                    format_number(m.value)
                } else {
                    "n/a".into()
                };
                let verdict = match m.drift {
                    Some(true) if m.metric.is_quality() => "❌ breached",
                    Some(true) => "❌ drift",
                    Some(false) if m.metric.is_quality() => "✅ ok",
                    Some(false) => "✅ no drift",
                    None if m.problem.is_some() => "❌ not computed",
                    None => "not computed",
                };
                let threshold = m.threshold.map(format_number).unwrap_or_default();
                let threshold = if m.metric.is_p_value() {
                    format!("p < {threshold}")
                } else {
                    format!("> {threshold}")
                };
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    cell(&c.name),
                    c.kind.as_str(),
                    m.metric.as_str(),
                    threshold,
                    value,
                    verdict
                ));
            }
        }
        md.push('\n');
        distributions(&mut md, &d.report);
    }
    md
}

/// Bar heights, lowest to highest.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Sparkline bars of per-bin shares, on a scale shared by the two sides (`top` is the largest
/// share of either): an empty bin is `·`, any other at least the lowest bar.
pub fn sparkline(counts: &[u64], top: f64) -> String {
    let total = counts.iter().sum::<u64>().max(1) as f64;
    counts
        .iter()
        .map(|&c| {
            if c == 0 || top <= 0.0 {
                '·'
            } else {
                let level = ((c as f64 / total) / top * BARS.len() as f64).ceil() as usize;
                BARS[level.clamp(1, BARS.len()) - 1]
            }
        })
        .collect()
}

/// Baseline-vs-target histograms, as sparklines, of the columns with a threshold.
fn distributions(md: &mut String, report: &DriftReport) {
    let rows: Vec<String> = report
        .columns
        .iter()
        .filter(|c| c.metrics.iter().any(|m| m.threshold.is_some()))
        .filter_map(|c| {
            let h = c.histogram.as_ref()?;
            let share = |v: &[u64]| {
                let t = v.iter().sum::<u64>().max(1) as f64;
                v.iter().map(|&x| x as f64 / t).fold(0.0f64, f64::max)
            };
            let top = share(&h.baseline).max(share(&h.target));
            let bins = match c.kind {
                ColumnKind::Numerical => match (h.edges.first(), h.edges.last()) {
                    (Some(lo), Some(hi)) => format!(
                        "{} bins, {} to {}",
                        h.labels.len(),
                        format_number(*lo),
                        format_number(*hi)
                    ),
                    _ => format!("{} bins", h.labels.len()),
                },
                ColumnKind::Categorical => {
                    let mut names: Vec<String> = h.labels.iter().take(4).map(|l| cell(l)).collect();
                    if h.labels.len() > 4 {
                        names.push("…".into());
                    }
                    names.join(", ")
                }
            };
            Some(format!(
                "| {}{} | `{}` | `{}` | {} |\n",
                cell(&c.name),
                if c.drifted() { " ❌" } else { "" },
                sparkline(&h.baseline, top),
                sparkline(&h.target, top),
                bins
            ))
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    md.push_str("#### Distributions (share of rows per bin)\n\n| Column | Baseline | Target | Bins |\n|---|---|---|---|\n");
    for r in rows {
        md.push_str(&r);
    }
    md.push('\n');
}

/// The self-contained HTML report: verdict, rules, and every drift and quality metric with
/// baseline-vs-target histograms.
pub fn html(report: &GateReport) -> String {
    let verdict = match result_word(report) {
        "passed" => Verdict::Passed,
        "failed" => Verdict::Failed,
        _ => Verdict::Warned,
    };
    let rules = report
        .rules
        .iter()
        .map(|r| {
            let mut values: Vec<String> = r
                .candidate
                .iter()
                .map(|(n, v)| {
                    format!(
                        "{n} = {}",
                        v.map(format_number).unwrap_or_else(|| "missing".into())
                    )
                })
                .collect();
            values.extend(r.champion.iter().map(|(n, v)| {
                format!(
                    "champion {n} = {}",
                    v.map(format_number).unwrap_or_else(|| "missing".into())
                )
            }));
            let mut verdict = r.verdict.as_str().to_string();
            if let Some(m) = &r.message {
                verdict.push_str(": ");
                verdict.push_str(m);
            }
            RuleLine {
                rule: r.rule.clone(),
                values: values.join("; "),
                verdict,
                passed: !r.verdict.is_failure(),
            }
        })
        .collect();
    let mut notes: Vec<String> = Vec::new();
    if let Some(c) = &report.candidate {
        notes.push(format!("Candidate: {}", c.description));
    }
    if let Some(c) = &report.champion {
        notes.push(format!("Champion: {}", c.description));
    }
    notes.extend(report.notices.iter().map(|n| format!("Notice: {n}")));
    let page = Page {
        title: "Azure ML gate".into(),
        headline: Some(report.headline()),
        verdict: Some(verdict),
        baseline: report
            .drift
            .as_ref()
            .map(|d| d.baseline.clone())
            .unwrap_or_default(),
        target: report
            .drift
            .as_ref()
            .map(|d| d.target.clone())
            .unwrap_or_default(),
        rules,
        notes,
    };
    amlops_drift::html::render(report.drift.as_ref().map(|d| &d.report), &page)
}

fn resolved_json(r: &Resolved) -> Value {
    json!({
        "description": r.description,
        "job": r.job,
        "model": r.model.as_ref().map(|m| json!({"name": m.name, "version": m.version, "id": m.id})),
    })
}

fn finite(v: Option<f64>) -> Value {
    match v {
        Some(v) if v.is_finite() => json!(v),
        _ => Value::Null,
    }
}

/// The JSON report uploaded as an artifact.
pub fn json_report(report: &GateReport, run: Value) -> Value {
    let rules: Vec<Value> = report
        .rules
        .iter()
        .map(|r| {
            let map = |values: &[(String, Option<f64>)]| {
                Value::Object(values.iter().map(|(k, v)| (k.clone(), finite(*v))).collect())
            };
            json!({
                "rule": r.rule,
                "origin": r.origin,
                "line": r.line,
                "verdict": r.verdict.as_str(),
                "passed": !r.verdict.is_failure(),
                "lhs": finite(r.lhs),
                "rhs": finite(r.rhs),
                "candidate": map(&r.candidate),
                "champion": map(&r.champion),
                "message": r.message,
            })
        })
        .collect();
    json!({
        "gatePassed": report.passed(),
        "result": result_word(report),
        "mode": report.mode.as_str(),
        "headline": report.headline(),
        "candidate": report.candidate.as_ref().map(resolved_json),
        "champion": report.champion.as_ref().map(resolved_json),
        "notices": report.notices,
        "rules": rules,
        "failedRules": report.failed_rules().iter().map(|r| r.rule.clone()).collect::<Vec<_>>(),
        "drift": report.drift.as_ref().map(|d| json!({
            "baseline": d.baseline,
            "target": d.target,
            "report": d.report.to_json(),
        })),
        "driftedColumns": report.drifted_columns(),
        "run": run,
    })
}
