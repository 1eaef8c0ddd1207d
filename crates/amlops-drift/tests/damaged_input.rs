//! amlops-drift's tests that feed damaged input (the fuzz corpora, proptest mutations), in a test binary of
//! their own: `common::our_panics` installs a process-wide panic hook that counts every panic outside a
//! dependency as a bug in our code, so no other test may panic in this process (an assertion failing
//! elsewhere would be reported here too). Both files here drain the same record and fail on any entry.
//! `cargo test -p amlops-drift --test damaged_input mutations::` runs one file.

mod common;
mod fuzz_corpus;
mod mutations;
