//! The gate's results for people (a markdown build summary) and machines (a JSON report).

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
                    Some(true) => "❌ drift",
                    Some(false) => "✅ no drift",
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
    }
    md
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
