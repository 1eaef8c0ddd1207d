//! Arbitrary bytes as a CSV or JSON Lines number: the drift readers' own decimal and integer
//! parsers (`num.rs`, written for speed) give what the standard library's parsers give, bit for
//! bit, or reject what they reject.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (ours, standard) in amlops_drift::fuzz_numbers(data) {
        assert_eq!(ours, standard, "{:?}", String::from_utf8_lossy(data));
    }
});
