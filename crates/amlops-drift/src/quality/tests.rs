//! The data-quality counts made while the target is read for drift (dropped rows recorded by
//! each reader) equal the counts of the second pass over the target ([`pass`]), for CSV, JSON
//! Lines and Parquet: nulls in several columns, type errors, values out of bounds on dropped
//! and kept rows, integer columns that turn numerical or categorical; and past the limit the
//! engine takes the second pass.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use parquet::basic::Encoding;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::engine::{Computed, QualityWay, compute};
use crate::test_support::xorshift;
use crate::{DataSource, DriftConfig, Metric};

/// A value of a text data set.
#[derive(Clone)]
enum V {
    Null,
    Num(String),
    Str(String),
    Bool(bool),
}

/// Columns: x (floats, numerical), n (integers with many distinct values: numerical), k
/// (integers with few: categorical), c (strings), b (booleans).
const NAMES: [&str; 5] = ["x", "n", "k", "c", "b"];

/// Rows of a text data set. The target (`target`) has nulls in every column, values of the
/// wrong type (text in x and k, a fraction in k, "maybe" in b), and values outside the
/// baseline's range or categories, on rows that stay and rows that drop.
fn text_rows(rows: usize, seed: u64, target: bool) -> Vec<[V; 5]> {
    let mut r = xorshift(seed);
    let mut out = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut row = [
            V::Num(format!(
                "{:.3}",
                (r() % 100_000) as f64 / 1000.0 - 50.0 + if target { 5.0 } else { 0.0 }
            )),
            V::Num(format!(
                "{}",
                (r() % 100_000) as i64 - if target { 40_000 } else { 50_000 }
            )),
            V::Num(format!("{}", r() % if target { 7 } else { 5 })),
            V::Str(["red", "green", "blue", "teal"][(r() % if target { 4 } else { 3 }) as usize].to_string()),
            V::Bool(r().is_multiple_of(2)),
        ];
        if target {
            for cell in row.iter_mut() {
                if r().is_multiple_of(25) {
                    *cell = V::Null;
                }
            }
            match r() % 60 {
                0 => row[0] = V::Str("oops".into()),
                1 => row[2] = V::Str("abc".into()),
                2 => row[2] = V::Num("2.5".into()),
                3 => row[4] = V::Str("maybe".into()),
                4 => row[1] = V::Num("17.25".into()),
                _ => {}
            }
        }
        out.push(row);
    }
    out
}

fn write_csv(path: &Path, rows: &[[V; 5]]) {
    let mut s = NAMES.join(",");
    s.push('\n');
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .map(|v| match v {
                V::Null if i.is_multiple_of(2) => String::new(),
                V::Null => "NA".into(),
                V::Num(t) | V::Str(t) => t.clone(),
                V::Bool(b) => b.to_string(),
            })
            .collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    std::fs::write(path, s).unwrap_or_else(|e| panic!("{e}"));
}

fn write_jsonl(path: &Path, rows: &[[V; 5]]) {
    let mut s = String::new();
    // Collector events of up to 7 rows, some of them with keys left out (null).
    for chunk in rows.chunks(7) {
        let objs: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let fields: Vec<String> = NAMES
                    .iter()
                    .zip(row)
                    .filter(|(_, v)| i.is_multiple_of(2) || !matches!(v, V::Null))
                    .map(|(n, v)| {
                        let j = match v {
                            V::Null => "null".to_string(),
                            V::Num(t) => t.clone(),
                            V::Str(t) => format!("\"{t}\""),
                            V::Bool(b) => b.to_string(),
                        };
                        format!("\"{n}\": {j}")
                    })
                    .collect();
                format!("{{{}}}", fields.join(", "))
            })
            .collect();
        s.push_str(&format!(
            "{{\"specversion\":\"1.0\",\"type\":\"azureml.inference.model_inputs\",\"data\":[{}]}}\n",
            objs.join(",")
        ));
    }
    std::fs::write(path, s).unwrap_or_else(|e| panic!("{e}"));
}

fn run(b: &Path, t: &Path, limit: usize) -> Computed {
    let b = DataSource::from_path(b).unwrap_or_else(|e| panic!("{e}"));
    let t = DataSource::from_path(t).unwrap_or_else(|e| panic!("{e}"));
    compute(&b, &t, &DriftConfig::default(), limit).unwrap_or_else(|e| panic!("{e}"))
}

fn rate(c: &Computed, column: &str, metric: Metric) -> f64 {
    let col = c
        .report
        .columns
        .iter()
        .find(|x| x.name == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    col.metrics
        .iter()
        .find(|m| m.metric == metric)
        .map(|m| m.value)
        .unwrap_or_else(|| panic!("no {metric} for {column}"))
}

/// Fused counts under the limit, the second pass over it: the same counts and reports.
fn fused_equals_second_pass(b: &Path, t: &Path) -> Computed {
    let fused = run(b, t, crate::quality::DROPPED_VALUES_LIMIT);
    let second = run(b, t, 0);
    assert_eq!(fused.way, QualityWay::Fused);
    assert_eq!(second.way, QualityWay::SecondPass);
    assert!(fused.report.rows_target < fused.report.rows_target_total);
    assert_eq!(fused.quality, second.quality);
    assert_eq!(fused.report.to_json(), second.report.to_json());
    fused
}

fn text_case(dir: &Path, ext: &str, write: fn(&Path, &[[V; 5]])) -> (PathBuf, PathBuf) {
    let (b, t) = (dir.join(format!("b.{ext}")), dir.join(format!("t.{ext}")));
    write(&b, &text_rows(2_000, 7, false));
    write(&t, &text_rows(3_000, 11, true));
    (b, t)
}

/// `csv`: a CSV string column has no nulls (an empty field is the category "").
fn assert_text_counts(c: &Computed, csv: bool) {
    let kinds: Vec<_> = c
        .report
        .columns
        .iter()
        .map(|x| (x.name.as_str(), x.kind))
        .collect();
    use crate::ColumnKind::{Categorical, Numerical};
    assert_eq!(
        kinds,
        [
            ("x", Numerical),
            ("n", Numerical),
            ("k", Categorical),
            ("c", Categorical),
            ("b", Categorical)
        ]
    );
    for name in NAMES {
        assert!(
            rate(c, name, Metric::NullValueRate) > 0.0 || (csv && name == "c"),
            "{name}"
        );
        assert!(
            rate(c, name, Metric::OutOfBoundsRate) > 0.0 || name == "b",
            "{name}"
        );
    }
    for name in ["x", "k", "b"] {
        assert!(rate(c, name, Metric::DataTypeErrorRate) > 0.0, "{name}");
    }
    let k = &c.quality[2];
    assert!(
        k.first_type_error
            .as_deref()
            .is_some_and(|f| f.contains("is not an integer")),
        "{k:?}"
    );
}

#[test]
fn csv_dropped_rows_give_the_second_pass_counts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (b, t) = text_case(dir.path(), "csv", write_csv);
    assert_text_counts(&fused_equals_second_pass(&b, &t), true);
}

#[test]
fn jsonl_dropped_rows_give_the_second_pass_counts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (b, t) = text_case(dir.path(), "jsonl", write_jsonl);
    assert_text_counts(&fused_equals_second_pass(&b, &t), false);
}

#[test]
fn past_the_limit_the_scans_give_up_and_the_second_pass_counts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for (ext, write) in [("csv", write_csv as fn(&Path, &[[V; 5]])), ("jsonl", write_jsonl)] {
        let (b, t) = text_case(dir.path(), ext, write);
        let fused = run(&b, &t, crate::quality::DROPPED_VALUES_LIMIT);
        // The dropped rows hold hundreds of values: 50 is past the limit half way through.
        let limited = run(&b, &t, 50);
        assert_eq!(
            (fused.way, limited.way),
            (QualityWay::Fused, QualityWay::SecondPass),
            "{ext}"
        );
        assert_eq!(fused.quality, limited.quality, "{ext}");
    }
}

#[test]
fn without_dropped_rows_no_row_is_recorded() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (b, t) = (dir.path().join("b.csv"), dir.path().join("t.csv"));
    write_csv(&b, &text_rows(500, 3, false));
    write_csv(&t, &text_rows(400, 5, false));
    let c = run(&b, &t, 0);
    assert_eq!(c.way, QualityWay::NothingDropped);
    assert!(c.quality.iter().all(|q| q.nulls == 0 && q.type_errors == 0));
}

/// A Parquet file whose columns take every path of the readers: x (PLAIN doubles), d
/// (dictionary doubles on a decimal grid), z (float32, BYTE_STREAM_SPLIT: read through Arrow),
/// n (int64, DELTA_BINARY_PACKED: Arrow; numerical), k (int32 with few values: categorical
/// through Arrow), c (dictionary strings), s (PLAIN strings), b (booleans: Arrow), r (a
/// required column: no definition levels). Several row groups and pages; nulls in every
/// optional column of the target.
fn write_parquet(path: &Path, rows: usize, seed: u64, target: bool) {
    let mut r = xorshift(seed);
    let null = |r: &mut dyn FnMut() -> u64| target && r().is_multiple_of(30);
    let shift = if target { 5.0 } else { 0.0 };
    let (mut x, mut d, mut z, mut n, mut k, mut c, mut s, mut b) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut req = vec![];
    let colours = ["red", "green", "blue", "teal", "plum"];
    for _ in 0..rows {
        x.push((!null(&mut r)).then(|| (r() % 1_000_000) as f64 / 7919.0 - 60.0 + shift));
        d.push((!null(&mut r)).then(|| (r() % 400) as f64 / 100.0 + shift / 5.0));
        z.push((!null(&mut r)).then(|| (r() % 10_000) as f32 / 33.0 + shift as f32));
        n.push((!null(&mut r)).then(|| (r() % 100_000) as i64 - if target { 40_000 } else { 50_000 }));
        k.push((!null(&mut r)).then(|| (r() % if target { 7 } else { 5 }) as i32));
        let cats = if target { 5 } else { 3 };
        c.push((!null(&mut r)).then(|| colours[(r() % cats) as usize]));
        s.push((!null(&mut r)).then(|| format!("s{}", r() % if target { 40 } else { 30 })));
        b.push((!null(&mut r)).then(|| r().is_multiple_of(2)));
        req.push((r() % 5_000) as f64 / 64.0 + shift);
    }
    let cols: Vec<(&str, ArrayRef, bool)> = vec![
        ("x", Arc::new(Float64Array::from(x)), true),
        ("d", Arc::new(Float64Array::from(d)), true),
        ("z", Arc::new(Float32Array::from(z)), true),
        ("n", Arc::new(Int64Array::from(n)), true),
        ("k", Arc::new(Int32Array::from(k)), true),
        ("c", Arc::new(StringArray::from(c)), true),
        ("s", Arc::new(StringArray::from(s)), true),
        ("b", Arc::new(BooleanArray::from(b)), true),
        ("r", Arc::new(Float64Array::from(req)), false),
    ];
    let batch = RecordBatch::try_from_iter_with_nullable(cols).unwrap_or_else(|e| panic!("{e}"));
    let plain = |p: parquet::file::properties::WriterPropertiesBuilder, c: &str| {
        p.set_column_dictionary_enabled(ColumnPath::from(c), false)
    };
    let mut props = WriterProperties::builder()
        .set_data_page_row_count_limit(300)
        .set_write_batch_size(100)
        .set_max_row_group_size(1_100);
    for c in ["x", "z", "n", "s", "r"] {
        props = plain(props, c);
    }
    let props = props
        .set_column_encoding(ColumnPath::from("z"), Encoding::BYTE_STREAM_SPLIT)
        .set_column_encoding(ColumnPath::from("n"), Encoding::DELTA_BINARY_PACKED)
        .build();
    crate::test_support::write(path, &batch, props);
}

#[test]
fn parquet_dropped_rows_give_the_second_pass_counts() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (b, t) = (dir.path().join("b"), dir.path().join("t"));
    std::fs::create_dir_all(&b).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(&t).unwrap_or_else(|e| panic!("{e}"));
    write_parquet(&b.join("0.parquet"), 3_000, 13, false);
    // Three target files: the row mask of the second starts past the first's rows; the third
    // drops no row.
    write_parquet(&t.join("0.parquet"), 2_500, 17, true);
    write_parquet(&t.join("1.parquet"), 1_700, 19, true);
    write_parquet(&t.join("2.parquet"), 900, 23, false);
    let c = fused_equals_second_pass(&b, &t);
    use crate::ColumnKind::{Categorical, Numerical};
    let kinds: Vec<_> = c
        .report
        .columns
        .iter()
        .map(|x| (x.name.as_str(), x.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("x", Numerical),
            ("d", Numerical),
            ("z", Numerical),
            ("n", Numerical),
            ("k", Categorical),
            ("c", Categorical),
            ("s", Categorical),
            ("b", Categorical),
            ("r", Numerical)
        ]
    );
    for (col, q) in c.report.columns.iter().zip(&c.quality) {
        assert!(q.nulls > 0 || col.name == "r", "{}", col.name);
        assert!(q.out_of_bounds > 0 || col.name == "b", "{}", col.name);
        assert_eq!(q.type_errors, 0, "{}", col.name);
    }
}
