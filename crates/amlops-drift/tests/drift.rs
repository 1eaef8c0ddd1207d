//! End-to-end: the fixture against the numpy baseline's output, CSV and Parquet, folders,
//! thresholds, and errors on bad data.

use std::path::{Path, PathBuf};

use amlops_drift::{
    ColumnKind, DataSource, DriftConfig, DriftError, DriftReport, Metric, Thresholds, compute_drift,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/small")
        .join(name)
}

/// The thresholds the numpy baseline uses for its per-metric verdicts.
const BENCH_THRESHOLDS: &str = "js=0.1\npsi=0.1\nnwd=0.1\nks=0.05\nchi2=0.05";

fn run(baseline: &Path, target: &Path, config: &DriftConfig) -> Result<DriftReport, DriftError> {
    compute_drift(
        &DataSource::from_path(baseline)?,
        &DataSource::from_path(target)?,
        config,
    )
}

fn bench_config() -> DriftConfig {
    DriftConfig {
        thresholds: Thresholds::parse(BENCH_THRESHOLDS).unwrap(),
        ..Default::default()
    }
}

fn assert_matches_numpy(report: &DriftReport) {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    assert_eq!(
        report.rows_baseline,
        expected["rows"]["baseline"].as_u64().unwrap()
    );
    assert_eq!(report.rows_target, expected["rows"]["target"].as_u64().unwrap());
    let cols = expected["columns"].as_object().unwrap();
    assert_eq!(report.columns.len(), cols.len());
    for (name, want) in cols {
        let got = report
            .column(name)
            .unwrap_or_else(|| panic!("column {name} missing"));
        assert_eq!(got.kind.as_str(), want["type"].as_str().unwrap(), "{name}: type");
        for (metric, value) in want["metrics"].as_object().unwrap() {
            let m = got.metric(Metric::parse(metric).unwrap()).unwrap();
            let v = value.as_f64().unwrap();
            let rel = (m.value - v).abs() / v.abs().max(m.value.abs()).max(1e-300);
            assert!(
                rel <= 1e-6,
                "{name} {metric}: {} vs numpy {v} (rel {rel:e})",
                m.value
            );
            assert_eq!(
                m.drift,
                want["drift"][metric].as_bool(),
                "{name} {metric}: verdict"
            );
        }
    }
}

#[test]
fn parquet_fixture_matches_numpy_baseline() {
    let r = run(
        &fixture("baseline.parquet"),
        &fixture("target.parquet"),
        &bench_config(),
    )
    .unwrap();
    assert_matches_numpy(&r);
}

#[test]
fn csv_fixture_matches_numpy_baseline() {
    let r = run(&fixture("baseline.csv"), &fixture("target.csv"), &bench_config()).unwrap();
    assert_matches_numpy(&r);
}

#[test]
fn detects_kinds_and_applies_azure_default_thresholds() {
    let r = run(
        &fixture("baseline.parquet"),
        &fixture("target.parquet"),
        &DriftConfig::default(),
    )
    .unwrap();
    let kind = |c: &str| r.column(c).unwrap().kind;
    assert_eq!(kind("n00"), ColumnKind::Numerical);
    assert_eq!(kind("i_big"), ColumnKind::Numerical);
    assert_eq!(kind("i_small"), ColumnKind::Categorical);
    assert_eq!(kind("flag"), ColumnKind::Categorical);
    assert_eq!(kind("c2"), ColumnKind::Categorical);
    for c in &r.columns {
        for m in &c.metrics {
            let want = match (c.kind, m.metric) {
                (ColumnKind::Numerical, Metric::NormalizedWassersteinDistance) => Some(0.1),
                (ColumnKind::Categorical, Metric::JensenShannonDistance) => Some(0.1),
                _ => None,
            };
            assert_eq!(m.threshold, want, "{} {}", c.name, m.metric);
            assert_eq!(m.drift.is_some(), want.is_some());
        }
    }
    let json = r.to_json();
    assert_eq!(json["columns"]["n00"]["type"], "numerical");
    assert_eq!(
        json["columns"]["n00"]["metrics"]["normalized_wasserstein_distance"]["threshold"],
        0.1
    );
    assert_eq!(
        json["columns"]["n00"]["metrics"]["jensen_shannon_distance"]["threshold"],
        serde_json::Value::Null
    );
    assert_eq!(
        json["columns"]["c2"]["metrics"]["pearsons_chi_squared_test"]["value"],
        0.0
    );
    let drifted: Vec<&str> = json["drifted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(drifted, r.drifted());
    assert!(
        drifted.contains(&"n00") && drifted.contains(&"c2") && !drifted.contains(&"n14"),
        "{drifted:?}"
    );
}

#[test]
fn column_selection_categorical_override_and_column_thresholds() {
    let config = DriftConfig {
        columns: Some(vec!["n06".into(), "i_big".into(), "c0".into()]),
        categorical_columns: Some(vec!["c0".into()]),
        thresholds: Thresholds::parse("n06:ks=0.5\nnwd=none\nc0:js=0.0").unwrap(),
        ..Default::default()
    };
    let r = run(&fixture("baseline.parquet"), &fixture("target.parquet"), &config).unwrap();
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["n06", "i_big", "c0"]);
    let n06 = r.column("n06").unwrap();
    let ks = n06.metric(Metric::TwoSampleKolmogorovSmirnovTest).unwrap();
    assert_eq!(ks.threshold, Some(0.5));
    assert!(ks.drift.is_some());
    // The verdict against the numpy baseline's p-value, not one recomputed from the value
    // under test: over every column (numpy's rows), a threshold below numpy's p-value passes
    // and one above it drifts.
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    let numpy = expected["columns"]["n06"]["metrics"]["two_sample_kolmogorov_smirnov_test"]
        .as_f64()
        .unwrap();
    for (threshold, drift) in [(numpy * 0.9, false), (numpy * 1.1, true)] {
        let config = DriftConfig {
            thresholds: Thresholds::parse(&format!("n06:ks={threshold}")).unwrap(),
            ..Default::default()
        };
        let r = run(&fixture("baseline.parquet"), &fixture("target.parquet"), &config).unwrap();
        let ks = r
            .column("n06")
            .unwrap()
            .metric(Metric::TwoSampleKolmogorovSmirnovTest)
            .unwrap();
        assert!(
            (ks.value - numpy).abs() <= 1e-6 * numpy,
            "{} vs numpy {numpy}",
            ks.value
        );
        assert_eq!(ks.drift, Some(drift), "threshold {threshold}, numpy p = {numpy}");
    }
    assert_eq!(
        n06.metric(Metric::NormalizedWassersteinDistance)
            .unwrap()
            .threshold,
        None
    );
    assert_eq!(
        r.column("i_big")
            .unwrap()
            .metric(Metric::NormalizedWassersteinDistance)
            .unwrap()
            .drift,
        None
    );
    assert_eq!(
        r.column("c0")
            .unwrap()
            .metric(Metric::JensenShannonDistance)
            .unwrap()
            .drift,
        Some(true)
    );
}

#[test]
fn folders_of_files_equal_the_single_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("baseline.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let part = dir.path().join("base");
    std::fs::create_dir_all(part.join("nested")).unwrap();
    std::fs::write(
        part.join("a.csv"),
        format!("{header}\n{}\n", rows[..500].join("\n")),
    )
    .unwrap();
    std::fs::write(
        part.join("nested/b.csv"),
        format!("{header}\n{}\n", rows[500..].join("\n")),
    )
    .unwrap();
    std::fs::write(part.join("_SUCCESS"), "").unwrap();
    let split = run(&part, &fixture("target.csv"), &bench_config()).unwrap();
    let whole = run(&fixture("baseline.csv"), &fixture("target.csv"), &bench_config()).unwrap();
    assert_eq!(split, whole);
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn missing_column_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(dir.path(), "b.csv", "x,y\n1.5,a\n2.5,b\n");
    let t = write(dir.path(), "t.csv", "x\n1.0\n2.0\n");
    let config = DriftConfig {
        columns: Some(vec!["x".into(), "y".into()]),
        ..Default::default()
    };
    let e = run(&b, &t, &config).unwrap_err();
    assert!(matches!(e, DriftError::MissingColumn { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("t.csv") && msg.contains("`y`"), "{msg}");
    // Default selection uses the shared columns and succeeds.
    let r = run(&b, &t, &DriftConfig::default()).unwrap();
    assert_eq!(r.columns.len(), 1);
}

#[test]
fn wrong_types_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::from("x,y\n");
    for i in 0..10_050 {
        body.push_str(&format!("{}.5,a\n", i % 7));
    }
    body.push_str("oops,a\n");
    let b = write(dir.path(), "b.csv", &body);
    let t = write(dir.path(), "t.csv", "x,y\n1.5,a\n");
    let e = run(&b, &t, &DriftConfig::default()).unwrap_err().to_string();
    assert!(
        e.contains("b.csv") && e.contains("line 10052") && e.contains("`x`") && e.contains("oops"),
        "{e}"
    );
    // The target holds strings where the baseline holds numbers: data-type errors, counted
    // and treated as missing; with no row left the error says which column and value.
    let t2 = write(dir.path(), "t2.csv", "x,y\nhello,a\n");
    let e = run(
        &write(dir.path(), "b2.csv", "x,y\n1.5,a\n"),
        &t2,
        &DriftConfig::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("t2.csv")
            && e.contains("`x`")
            && e.contains("`hello`")
            && e.contains("not of the baseline's type"),
        "{e}"
    );
    // A string column forced to be numerical.
    let config = DriftConfig {
        categorical_columns: Some(vec![]),
        ..Default::default()
    };
    let e = run(
        &write(dir.path(), "b3.csv", "x,y\n1.5,a\n"),
        &write(dir.path(), "t3.csv", "x,y\n1.5,b\n"),
        &config,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("b3.csv") && e.contains("`y`"), "{e}");
}

#[test]
fn empty_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let b = write(dir.path(), "b.csv", "x,y\n1.5,a\n");
    let empty = write(dir.path(), "empty.csv", "x,y\n");
    let e = run(&b, &empty, &DriftConfig::default()).unwrap_err();
    assert!(
        matches!(e, DriftError::EmptyFile { .. }) && e.to_string().contains("empty.csv"),
        "{e}"
    );
    let blank = write(dir.path(), "blank.csv", "");
    let e = run(&blank, &b, &DriftConfig::default()).unwrap_err();
    assert!(e.to_string().contains("blank.csv"), "{e}");
    let nulls = write(dir.path(), "nulls.csv", "x,y\n,a\nNA,b\n");
    let e = run(&b, &nulls, &DriftConfig::default()).unwrap_err().to_string();
    assert!(e.contains("no rows left") && e.contains("nulls.csv"), "{e}");
    let folder = dir.path().join("nothing");
    std::fs::create_dir(&folder).unwrap();
    let e = DataSource::from_path(&folder).unwrap_err().to_string();
    assert!(e.contains("no .csv or .parquet"), "{e}");
    let e = DataSource::from_path(dir.path().join("absent.parquet"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.parquet"), "{e}");
}

#[test]
fn threshold_for_unknown_column_is_rejected() {
    let config = DriftConfig {
        thresholds: Thresholds::parse("nope:js=0.2").unwrap(),
        ..Default::default()
    };
    let e = run(&fixture("baseline.csv"), &fixture("target.csv"), &config)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope"), "{e}");
}
