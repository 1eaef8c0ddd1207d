//! Arbitrary text as `driftThresholds`: thresholds or an error naming the line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match amlops_drift::Thresholds::parse(text) {
            Ok(t) => assert!(t.rules.iter().all(|r| r.value.is_none_or(f64::is_finite))),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
