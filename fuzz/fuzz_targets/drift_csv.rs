//! Arbitrary bytes as a CSV data set, compared with itself: a report or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    amlops_fuzz::quiet_panics();
    amlops_fuzz::drift_file("csv", data);
});
