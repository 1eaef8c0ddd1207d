//! The `amlops` command-line tool.

fn main() -> std::process::ExitCode {
    amlops::run()
}
