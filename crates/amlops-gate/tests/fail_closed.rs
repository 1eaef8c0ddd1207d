//! The drift gate fails closed: an infinity in a Parquet numerical column is an error as it is
//! in CSV, and a metric with a threshold that cannot be computed fails the gate (a warning in
//! warn mode) with a message naming the column and the cause.

use crate::support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amlops_testkit::{AgentRun, TaskResult, cargo_bin};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

fn drift_run(baseline: &Path, target: &Path) -> AgentRun {
    AgentRun::new(cargo_bin("amlops-gate"))
        .input("baselineData", baseline.to_string_lossy())
        .input("targetData", target.to_string_lossy())
}

fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) -> PathBuf {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    path.to_path_buf()
}

fn numbers(values: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(values))
}

#[test]
fn an_infinity_in_a_parquet_numerical_column_does_not_pass_the_gate() {
    let dir = support::temp_dir();
    let b = support::write_parquet(&dir.join("train.parquet"), 500, 0.0, false);
    for (name, inf) in [("plus", f64::INFINITY), ("minus", f64::NEG_INFINITY)] {
        let mut num: Vec<f64> = (0..500).map(|i| (i % 100) as f64 / 10.0).collect();
        num[250] = inf;
        let cat: ArrayRef = Arc::new(StringArray::from(
            (0..500).map(|i| ["a", "b", "c"][i % 3]).collect::<Vec<_>>(),
        ));
        let t = write_parquet(
            &dir.join(format!("infer-{name}.parquet")),
            vec![("num", numbers(num)), ("cat", cat)],
        );
        for mode in ["fail", "warn"] {
            let run = drift_run(&b, &t).input("mode", mode).run();
            assert_eq!(run.agent_result(), TaskResult::Failed, "{mode}: {}", run.stdout);
            let errors = run.errors().join("\n");
            let shown = inf.to_string();
            assert!(
                errors.contains(&format!("infer-{name}.parquet"))
                    && errors.contains("column `num`")
                    && errors.contains(&format!("`{shown}` is not a number")),
                "{mode}: {errors}"
            );
        }
    }
    // The CSV reader says the same of the same value in the baseline (in the target, a value not
    // of the column's type counts as missing and shows in the data-quality metrics).
    let mut text = String::from("num,cat\n");
    for i in 0..12_000 {
        let v = if i == 11_000 {
            "inf".to_string()
        } else {
            format!("{}", (i % 100) as f64 / 10.0)
        };
        text.push_str(&format!("{v},{}\n", ["a", "b", "c"][i % 3]));
    }
    std::fs::write(dir.join("train.csv"), text).unwrap();
    let tc = support::write_csv(&dir.join("infer.csv"), 500, 0.0, false);
    let run = drift_run(&dir.join("train.csv"), &tc).run();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    let errors = run.errors().join("\n");
    assert!(
        errors.contains("column `num`") && errors.contains("`inf` is not a number"),
        "{errors}"
    );
}

#[test]
fn a_metric_with_a_threshold_that_cannot_be_computed_fails_the_gate() {
    let dir = support::temp_dir();
    // `big` holds finite values whose spread overflows: the normalized Wasserstein distance has
    // no finite value. `one` holds a single category on both sides: chi-squared has no degrees
    // of freedom.
    let write = |name: &str, shift: f64| {
        let big: Vec<f64> = (0..400)
            .map(|i| if i % 2 == 0 { -1.7e308 } else { 1.7e308 - shift })
            .collect();
        let one: ArrayRef = Arc::new(StringArray::from(vec!["same"; 400]));
        let ok: Vec<f64> = (0..400).map(|i| (i % 40) as f64).collect();
        write_parquet(
            &dir.join(name),
            vec![("big", numbers(big)), ("one", one), ("ok", numbers(ok))],
        )
    };
    let b = write("b.parquet", 0.0);
    let t = write("t.parquet", 1e300);
    let thresholds = "nwd=0.1\nchi2=0.05";

    let run = drift_run(&b, &t).input("driftThresholds", thresholds).run();
    assert_eq!(run.agent_result(), TaskResult::Failed, "{}", run.stdout);
    assert_eq!(run.output("gatePassed"), "false");
    assert_eq!(
        run.output("driftedColumns"),
        "",
        "nothing drifted: it was not computed"
    );
    let errors = run.errors();
    let joined = errors.join("\n");
    assert!(
        errors.iter().any(|e| e.starts_with(
            "column `big`: normalized_wasserstein_distance (threshold 0.1) could not be computed: its value is"
        ) && e.contains("too large for floating-point arithmetic")),
        "{joined}"
    );
    assert!(
        errors.iter().any(|e| e
            == "column `one`: pearsons_chi_squared_test (threshold 0.05) could not be computed: \
                a single category on both sides leaves the test no degrees of freedom"),
        "{joined}"
    );
    assert!(
        errors.last().unwrap().contains("metrics not computed"),
        "{joined}"
    );
    assert!(
        !joined.contains("column `ok`"),
        "a computed metric is not reported: {joined}"
    );
    assert!(run.summaries().contains("❌ not computed"), "{}", run.summaries());

    // Warn mode: the same findings as warnings, and the task succeeds with issues.
    let run = drift_run(&b, &t)
        .input("driftThresholds", thresholds)
        .input("mode", "warn")
        .run();
    assert_eq!(
        run.agent_result(),
        TaskResult::SucceededWithIssues,
        "{}",
        run.stdout
    );
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    let warnings = run.warnings().join("\n");
    assert!(
        warnings.contains("column `big`: normalized_wasserstein_distance")
            && warnings.contains("column `one`: pearsons_chi_squared_test"),
        "{warnings}"
    );

    // Without a threshold on them, metrics without a value do not fail the gate.
    let run = drift_run(&b, &t)
        .input("driftThresholds", "nwd=none\njs=none\nok:nwd=0.1")
        .run();
    assert_eq!(run.agent_result(), TaskResult::Succeeded, "{}", run.stdout);
    assert_eq!(run.output("gatePassed"), "true");
}
