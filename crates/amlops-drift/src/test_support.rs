//! Test helpers: pseudo-random numbers for generated samples, and one record batch written as a
//! Parquet file with given writer properties.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

/// Write `batch` to `path` with `props`; panics (tests only) on any error.
pub(crate) fn write(path: &Path, batch: &RecordBatch, props: WriterProperties) {
    let f = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut w =
        ArrowWriter::try_new(f, batch.schema(), Some(props)).unwrap_or_else(|e| panic!("writer: {e}"));
    w.write(batch).unwrap_or_else(|e| panic!("write: {e}"));
    w.close().unwrap_or_else(|e| panic!("close: {e}"));
}

/// A xorshift64 generator from `seed` (not 0): the tests' reproducible random bits.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// Uniform doubles in [0, 1) from [`xorshift`]'s top 53 bits.
pub(crate) fn unit(seed: u64) -> impl FnMut() -> f64 {
    let mut r = xorshift(seed);
    move || (r() >> 11) as f64 / (1u64 << 53) as f64
}
