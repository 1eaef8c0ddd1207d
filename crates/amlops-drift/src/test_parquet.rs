//! Test helper: one record batch written as a Parquet file with given writer properties.

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
