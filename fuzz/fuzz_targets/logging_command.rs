//! Arbitrary task output decoded as the agent does (`##vso[...]` logging commands), and the
//! writer's neutralising of arbitrary text: never a panic (byte offsets inside multi-byte
//! characters, unterminated headers, stray `%` escapes).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    amlops_fuzz::logging_command(text);
});
