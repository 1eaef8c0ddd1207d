fn main() -> std::process::ExitCode {
    amlops_agent::run_task(amlops_deploy::run)
}
