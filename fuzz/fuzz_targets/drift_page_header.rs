//! Arbitrary bytes as a Parquet page header (Thrift compact protocol), as the drift page reader
//! parses it from a column chunk: a header or an error, never a panic or an unbounded loop.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((len, sizes)) = amlops_drift::fuzz_page_header(data) {
        assert!(len <= data.len(), "header longer than its input");
        assert!(sizes.iter().all(|&s| s >= 0), "negative size accepted");
    }
});
