#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let mut out: Vec<f64> = Vec::new();
    let mut scratch = Vec::new();
    let mut counter = amlops_drift::metrics::Counter::default();
    let (mut td, mut tm) = (0.0, 0.0);
    for c in 0..16 {
        let t0 = Instant::now();
        let f = std::fs::File::open(&path).unwrap();
        let b = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
        let mask = ProjectionMask::roots(b.parquet_schema(), [c]);
        let r = b.with_projection(mask).with_batch_size(65536).build().unwrap();
        out.clear();
        for batch in r {
            let batch = batch.unwrap();
            let a = batch.column(0).as_primitive::<Float64Type>();
            out.extend_from_slice(a.values());
        }
        let d = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let mut t = out.clone();
        let v = amlops_drift::metrics::numerical_with(&mut out, &mut t, &mut scratch, &mut counter, 24);
        let m = t1.elapsed().as_secs_f64();
        td += d;
        tm += m;
        println!(
            "col {c}: decode {:.0} ms, metrics(self vs self) {:.0} ms {}",
            d * 1e3,
            m * 1e3,
            v.ks_statistic
        );
    }
    println!("total decode {td:.2} s, metrics {tm:.2} s");
}
