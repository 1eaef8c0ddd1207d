//! Arbitrary text as gate rules: rules or an error pointing at the line and column, and every
//! parsed rule evaluates (a value or an error, never a panic) against any metrics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    amlops_fuzz::rules(text);
});
