//! End-to-end: the real task binaries, run as the agent would, against the embedded local workspace.

mod cancel;
mod failures;
mod faults;
mod full_loop;
mod restart;
mod support;
