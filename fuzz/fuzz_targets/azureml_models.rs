//! Arbitrary bytes as a JSON response of the Azure ML service, deserialised into every typed
//! model the client reads: a value or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    amlops_fuzz::azureml_models(data);
});
