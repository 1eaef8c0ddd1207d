//! Arbitrary bytes as a Parquet data set, compared with itself: a report or an error, never a
//! panic, an abort or an allocation the input's size does not justify. Panics inside the
//! `parquet`/`arrow` crates are caught at the column boundary by amlops-drift and turned into
//! errors; one that escapes aborts here (libfuzzer-sys aborts on an uncaught panic).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    amlops_fuzz::quiet_panics();
    amlops_fuzz::drift_file("parquet", data);
});
