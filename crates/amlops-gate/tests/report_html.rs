//! The gate on collector JSON Lines: the build summary's sparkline histograms, the HTML report
//! beside the JSON report, data-quality thresholds, and warnings for skipped lines.

use crate::support;

use amlops_testkit::{AgentEvent, AgentRun, RunResult, TaskResult, cargo_bin};

/// Collector events (10 rows each) in an hour folder, with one malformed line among 51.
fn write_collector(root: &std::path::Path, rows: usize, shift: f64, skew: bool) -> std::path::PathBuf {
    let (num, cat) = support::columns(rows, shift, skew);
    let hour = root.join("model_inputs/2026/12/01/08");
    std::fs::create_dir_all(&hour).unwrap();
    let mut text = String::new();
    let items: Vec<String> = num
        .iter()
        .zip(&cat)
        .map(|(n, c)| format!(r#"{{"num":{n:?},"cat":"{c}"}}"#))
        .collect();
    for (i, chunk) in items.chunks(10).enumerate() {
        text.push_str(&format!(
            r#"{{"specversion":"1.0","id":"{i}","type":"azureml.inference.model_inputs","time":"2026-12-01T08:00:00Z","data":[{}]}}"#,
            chunk.join(",")
        ));
        text.push('\n');
        if i == 20 {
            text.push_str("{\"specversion\":\"1.0\",\"data\":[{\"num\": 1.0,\n");
        }
    }
    std::fs::write(hour.join("x.jsonl"), text).unwrap();
    root.join("model_inputs")
}

fn html_artifact(run: &RunResult) -> String {
    let path = run
        .events
        .iter()
        .find_map(|e| match e {
            AgentEvent::Artifact { name, path, .. }
                if name == "amlops-gate" && path.extension().is_some_and(|x| x == "html") =>
            {
                Some(path.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no HTML artifact:\n{}", run.stdout));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn jsonl_target_summary_sparklines_and_html_report() {
    let dir = support::temp_dir();
    let b = support::write_csv(&dir.join("train.csv"), 5000, 0.0, false);
    // 5000 rows in 500 events plus a malformed line: 1 of 501 lines, under 1%.
    let t = write_collector(&dir, 5000, 2.0, true);
    let run = AgentRun::new(cargo_bin("amlops-gate"))
        .input("baselineData", b.to_string_lossy())
        .input("targetData", t.to_string_lossy())
        .input("driftThresholds", "oob=0.1")
        .input("mode", "warn")
        .run();
    assert_eq!(
        run.agent_result(),
        TaskResult::SucceededWithIssues,
        "{}",
        run.stdout
    );
    assert_eq!(run.output("driftedColumns"), "num,cat");
    let warnings = run.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("x.jsonl, line 22: skipped") && w.contains("line ends")),
        "{warnings:?}"
    );
    let summary = run.summaries();
    assert!(
        summary.contains("Malformed JSON lines skipped: 0 in the baseline, 1 in the target"),
        "{summary}"
    );
    assert!(
        summary.contains("#### Distributions (share of rows per bin)"),
        "{summary}"
    );
    // num: the baseline spreads evenly over 0..9.9, the target over 2..11.9 (shared bins 0..11.9).
    let num_row = summary
        .lines()
        .find(|l| l.starts_with("| num ❌ | `"))
        .unwrap_or_else(|| panic!("{summary}"));
    let bars: Vec<&str> = num_row.split('`').collect();
    assert!(bars[1].starts_with('█') && bars[1].ends_with('·'), "{num_row}");
    assert!(bars[3].starts_with('·') && bars[3].ends_with('█'), "{num_row}");
    // cat: skewed towards c in the target, most frequent bins first.
    assert!(summary.contains("| cat ❌ | `"), "{summary}");
    // The out-of-bounds rate (values above 9.9) breaches its threshold.
    assert!(
        summary.contains("| num | numerical | out_of_bounds_rate | > 0.1 | 0.2 | ❌ breached |"),
        "{summary}"
    );
    let html = html_artifact(&run);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(
        html.contains("out-of-bounds rate") && html.contains("20%"),
        "{html}"
    );
    assert!(html.contains("Malformed JSON lines skipped: 0 in the baseline, 1 in the target"));
    assert!(!html.contains("<script") && !html.contains("<link"));
}
