//! The embedded local workspace: a loopback emulator of the Azure ML REST surface that runs jobs as local processes.
