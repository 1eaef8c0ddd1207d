//! JSON Lines input: collector events (row lists and column arrays) and plain row objects give
//! the same report as the same rows in CSV (and Parquet); folders; malformed lines; payload logs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use amlops_drift::{DataSource, DriftConfig, DriftError, DriftReport, Thresholds, compute_drift};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/small")
        .join(name)
}

fn run(baseline: &Path, target: &Path) -> Result<DriftReport, DriftError> {
    let config = DriftConfig {
        thresholds: Thresholds::parse("js=0.1\npsi=0.1\nnwd=0.1\nks=0.05\nchi2=0.05").unwrap(),
        ..Default::default()
    };
    compute_drift(
        &DataSource::from_path(baseline)?,
        &DataSource::from_path(target)?,
        &config,
    )
}

/// A CSV field as a JSON value: empty is null, numbers stay their literal, true/false booleans.
fn json_value(field: &str) -> String {
    if field.is_empty() {
        "null".into()
    } else if field.parse::<f64>().is_ok() || field == "true" || field == "false" {
        field.to_string()
    } else {
        serde_json::to_string(field).unwrap()
    }
}

fn csv_table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(json_value).collect())
        .collect();
    (headers, rows)
}

fn row_object(headers: &[String], row: &[String]) -> String {
    let members: Vec<String> = headers
        .iter()
        .zip(row)
        .map(|(h, v)| format!("{}:{v}", serde_json::to_string(h).unwrap()))
        .collect();
    format!("{{{}}}", members.join(","))
}

fn event(i: usize, data: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"e{i}","source":"/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/onlineEndpoints/churn/deployments/blue","type":"azureml.inference.model_inputs","datacontenttype":"application/json","time":"2026-12-01T08:51:30Z","data":{data},"path":"/score","method":"POST","contentrange":"bytes 0-1/2","correlationid":"c{i}","xrequestid":"r{i}","modelversion":"default","collectdatatype":"pandas.core.frame.DataFrame","agent":"azureml-ai-monitoring/0.1.0b4"}}"#
    )
}

#[derive(Clone, Copy, Debug)]
enum Form {
    RowEvents,
    ColumnEvents,
    PlainRows,
}

/// The CSV's rows as JSON Lines of the given form (events of up to 7 rows).
fn to_jsonl(csv: &Path, form: Form) -> String {
    let (headers, rows) = csv_table(csv);
    let mut out = String::new();
    match form {
        Form::PlainRows => {
            for r in &rows {
                writeln!(out, "{}", row_object(&headers, r)).unwrap();
            }
        }
        Form::RowEvents => {
            for (i, chunk) in rows.chunks(7).enumerate() {
                let items: Vec<String> = chunk.iter().map(|r| row_object(&headers, r)).collect();
                writeln!(out, "{}", event(i, &format!("[{}]", items.join(",")))).unwrap();
            }
        }
        Form::ColumnEvents => {
            for (i, chunk) in rows.chunks(7).enumerate() {
                let cols: Vec<String> = headers
                    .iter()
                    .enumerate()
                    .map(|(k, h)| {
                        let vals: Vec<&str> = chunk.iter().map(|r| r[k].as_str()).collect();
                        format!("{}:[{}]", serde_json::to_string(h).unwrap(), vals.join(","))
                    })
                    .collect();
                writeln!(out, "{}", event(i, &format!("{{{}}}", cols.join(",")))).unwrap();
            }
        }
    }
    out
}

#[test]
fn every_form_gives_the_csv_report() {
    let csv = run(&fixture("baseline.csv"), &fixture("target.csv")).unwrap();
    let parquet = run(&fixture("baseline.parquet"), &fixture("target.parquet")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for form in [Form::RowEvents, Form::ColumnEvents, Form::PlainRows] {
        let b = dir.path().join(format!("{form:?}-baseline.jsonl"));
        let t = dir.path().join(format!("{form:?}-target.jsonl"));
        std::fs::write(&b, to_jsonl(&fixture("baseline.csv"), form)).unwrap();
        std::fs::write(&t, to_jsonl(&fixture("target.csv"), form)).unwrap();
        let r = run(&b, &t).unwrap();
        // Every metric, kind, histogram and row count, bit for bit.
        assert_eq!(r.to_json(), csv.to_json(), "{form:?}");
        assert_eq!(r.rows_target_total, 1000);
        // The same metric values as Parquet.
        for c in &parquet.columns {
            let got = r.column(&c.name).unwrap();
            assert_eq!(got.kind, c.kind, "{}", c.name);
            for m in &c.metrics {
                let v = got.metric(m.metric).unwrap().value;
                let rel = (v - m.value).abs() / v.abs().max(m.value.abs()).max(1e-300);
                assert!(
                    rel <= 1e-9 || v == m.value,
                    "{form:?} {} {}: {v} vs {}",
                    c.name,
                    m.metric,
                    m.value
                );
            }
        }
    }
    // A JSON Lines target against a CSV baseline.
    let t = dir.path().join("RowEvents-target.jsonl");
    let mixed = run(&fixture("baseline.csv"), &t).unwrap();
    assert_eq!(mixed.to_json(), csv.to_json());
}

#[test]
fn collector_hour_folders_are_read_recursively_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = to_jsonl(&fixture("target.csv"), Form::RowEvents);
    let lines: Vec<&str> = text.lines().collect();
    let root = dir.path().join("model_inputs");
    for (h, part) in lines.chunks(50).enumerate() {
        let hour = root.join(format!("2026/12/01/{h:02}"));
        std::fs::create_dir_all(&hour).unwrap();
        std::fs::write(hour.join("part.jsonl"), part.join("\n") + "\n").unwrap();
    }
    std::fs::write(root.join("_SUCCESS"), "").unwrap();
    let source = DataSource::from_path(&root).unwrap();
    assert_eq!(source.format(), amlops_drift::DataFormat::Jsonl);
    assert!(source.files().windows(2).all(|w| w[0] < w[1]));
    let whole = run(&fixture("baseline.csv"), &fixture("target.csv")).unwrap();
    let split = run(&fixture("baseline.csv"), &root).unwrap();
    assert_eq!(split.to_json(), whole.to_json());
}

#[test]
fn malformed_lines_are_skipped_with_warnings_up_to_one_percent() {
    let dir = tempfile::tempdir().unwrap();
    let good = to_jsonl(&fixture("target.csv"), Form::PlainRows);
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    // 1000 lines: 10 bad ones is 1% (allowed), with a blank line that is no line at all.
    lines[4] = r#"{"n00": 1.5, "#.into();
    lines[100] = "not json".into();
    lines.insert(200, String::new());
    let t = dir.path().join("t.jsonl");
    std::fs::write(&t, lines.join("\n")).unwrap();
    let r = run(&fixture("baseline.csv"), &t).unwrap();
    assert_eq!(r.malformed_target, 2);
    assert_eq!(r.rows_target_total, 998);
    assert_eq!(r.to_json()["malformed_lines"]["target"], 2);
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert!(
        r.warnings[0].contains("t.jsonl")
            && r.warnings[0].contains("line 5")
            && r.warnings[0].contains("line ends"),
        "{:?}",
        r.warnings
    );
    assert!(r.warnings[1].contains("line 101"), "{:?}", r.warnings);
    // 12 of 1000: more than 1%, the error names the first.
    for i in [300, 301, 302, 303, 304, 305, 306, 307, 308, 309] {
        lines[i] = "{]".into();
    }
    std::fs::write(&t, lines.join("\n")).unwrap();
    let e = run(&fixture("baseline.csv"), &t).unwrap_err();
    assert!(
        matches!(
            e,
            DriftError::MalformedLines {
                line: 5,
                malformed: 12,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("t.jsonl, line 5") && msg.contains("12 of 1000"),
        "{msg}"
    );
}

#[test]
fn payload_logs_and_bad_values_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("request.jsonl");
    std::fs::write(
        &t,
        r#"{"specversion":"1.0","type":"azureml.inference.request","data":"{\"input_data\": [[1, 2]]}"}"#,
    )
    .unwrap();
    let e = run(&fixture("baseline.csv"), &t).unwrap_err().to_string();
    assert!(
        e.contains("request.jsonl, line 1") && e.contains("payload-logging") && e.contains("model_inputs"),
        "{e}"
    );
    // A baseline value of the wrong type names file, line and column.
    let b = dir.path().join("b.jsonl");
    let mut text = String::new();
    for i in 0..10_050 {
        writeln!(text, r#"{{"x": {}.5, "y": "a"}}"#, i % 7).unwrap();
    }
    text.push_str(r#"{"x": "oops", "y": "a"}"#);
    std::fs::write(&b, text).unwrap();
    let t = dir.path().join("t.jsonl");
    std::fs::write(&t, "{\"x\": 1.5, \"y\": \"a\"}\n").unwrap();
    let e = run(&b, &t).unwrap_err().to_string();
    assert!(
        e.contains("b.jsonl, line 10051") && e.contains("`x`") && e.contains("oops"),
        "{e}"
    );
    // Nothing but blank lines.
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "\n\n").unwrap();
    let e = run(&b, &empty).unwrap_err().to_string();
    assert!(e.contains("empty.jsonl") && e.contains("no data rows"), "{e}");
}

#[test]
fn a_large_file_is_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("big.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&t).unwrap());
    let mut rows = 0u64;
    for e in 0..4000 {
        let items: Vec<String> = (0..50)
            .map(|k| {
                let v = ((e * 50 + k) % 997) as f64 / 10.0;
                format!(r#"{{"n00":{v},"c0":"c0_0{}"}}"#, k % 6)
            })
            .collect();
        rows += 50;
        use std::io::Write;
        writeln!(f, "{}", event(e, &format!("[{}]", items.join(",")))).unwrap();
    }
    drop(f);
    let size = std::fs::metadata(&t).unwrap().len();
    assert!(size > 5 << 20, "{size}");
    let config = DriftConfig {
        columns: Some(vec!["n00".into(), "c0".into()]),
        ..Default::default()
    };
    let r = compute_drift(
        &DataSource::from_path(fixture("baseline.csv")).unwrap(),
        &DataSource::from_path(&t).unwrap(),
        &config,
    )
    .unwrap();
    assert_eq!(r.rows_target, rows);
    assert_eq!(r.rows_target_total, rows);
}
