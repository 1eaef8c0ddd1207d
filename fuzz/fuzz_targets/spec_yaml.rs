//! Arbitrary text as an `az ml` YAML file (and a `--set` override): a plan or an error naming
//! the file, never a panic or a hang (anchors and aliases, deep nesting, huge numbers).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    amlops_fuzz::spec_yaml(text);
});
