//! Arbitrary bytes as a JSON Lines data set, compared with itself: a report or an error naming
//! the file and line, never a panic (deep nesting, huge numbers, invalid UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    amlops_fuzz::quiet_panics();
    amlops_fuzz::drift_file("jsonl", data);
});
