//! Run a task binary as the Azure Pipelines agent would, and decode what it printed.
//!
//! ```no_run
//! use amlops_testkit::{AgentRun, AzureRmSpec, cargo_bin};
//! let run = AgentRun::new(cargo_bin("amlops-train"))
//!     .input("jobFile", "")
//!     .azure_rm("azureSubscription", AzureRmSpec::service_principal("http://127.0.0.1:1", "secret"))
//!     .run();
//! assert_eq!(run.agent_result(), amlops_testkit::TaskResult::Failed);
//! assert!(run.errors()[0].contains("jobFile"));
//! ```
//!
//! Every run checks that no secret handed to the task (secret variables, service connection keys, the system
//! access token) appears in the raw output, other than in the `task.setsecret` command that registers it.
#![allow(clippy::print_stderr)] // test support: explains failures on stderr

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub use amlops_agent::TaskResult;
use amlops_agent::command::{ParsedCommand, parse_command};

/// A tracing subscriber installed as the current thread's default by [`capture_tracing`], until
/// this is dropped.
#[must_use = "the subscriber is the default only while this lives"]
pub struct TracingCapture {
    _guard: tracing::subscriber::DefaultGuard,
    _anchor: tracing::Dispatch,
}

/// Make `subscriber` the current thread's default so that a test sees every event, whatever its
/// sibling tests do. While at most one dispatcher is registered, tracing takes a callsite's
/// interest from the default of whichever thread reaches it first, and a sibling test's thread
/// (no subscriber) caches `never` for good: the capture then loses the event (seen once in CI,
/// a response log missing). A second dispatcher, alive as long as the capture, makes tracing ask
/// both, and the interest cache is rebuilt for the callsites registered before.
pub fn capture_tracing(subscriber: impl tracing::Subscriber + Send + Sync + 'static) -> TracingCapture {
    let anchor = tracing::Dispatch::new(tracing_subscriber::registry());
    let guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    TracingCapture {
        _guard: guard,
        _anchor: anchor,
    }
}

/// The path of a binary built by this workspace (`target/<profile>/<name>`), next to the running test.
///
/// `cargo test --workspace` builds every task binary before any test runs. Panics with instructions when missing.
pub fn cargo_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/debug/deps/<test> -> target/debug
    let mut dir = exe.parent().expect("deps dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} does not exist: build the task binaries first (`cargo build --workspace --bins`, which \
         `cargo test --workspace` does)",
        path.display()
    );
    path
}

/// An AzureRM service connection to hand to a task.
#[derive(Debug, Clone)]
pub struct AzureRmSpec {
    /// Endpoint id (GUID).
    pub id: String,
    /// ARM URL.
    pub url: String,
    /// Auth scheme.
    pub scheme: String,
    /// Auth parameters.
    pub parameters: BTreeMap<String, String>,
    /// Endpoint data.
    pub data: BTreeMap<String, String>,
    /// Which parameters are secret (checked for leaks).
    pub secret_parameters: Vec<String>,
}

impl AzureRmSpec {
    /// A service principal with a key.
    pub fn service_principal(url: &str, key: &str) -> Self {
        let mut s = Self::base(url, "ServicePrincipal");
        s.parameters
            .insert("tenantid".into(), "00000000-0000-0000-0000-0000000000aa".into());
        s.parameters.insert(
            "serviceprincipalid".into(),
            "00000000-0000-0000-0000-0000000000bb".into(),
        );
        s.parameters.insert("authenticationType".into(), "spnKey".into());
        s.parameters.insert("serviceprincipalkey".into(), key.into());
        s.secret_parameters.push("serviceprincipalkey".into());
        s
    }

    /// Workload identity federation.
    pub fn workload_identity(url: &str) -> Self {
        let mut s = Self::base(url, "WorkloadIdentityFederation");
        s.parameters
            .insert("tenantid".into(), "00000000-0000-0000-0000-0000000000aa".into());
        s.parameters.insert(
            "serviceprincipalid".into(),
            "00000000-0000-0000-0000-0000000000bb".into(),
        );
        s
    }

    /// No credential at all (loopback only: test servers that ask for none).
    pub fn anonymous(url: &str) -> Self {
        Self::base(url, "None")
    }

    /// The local workspace at `url` with its token (`LocalWorkspace::token`): scheme `Token`, the token as the
    /// secret parameter `accessToken` (leak-checked), as the demo and `amlops run-pipeline` build it.
    pub fn local(url: &str, token: &str) -> Self {
        let mut s = Self::base(url, "Token");
        s.parameters.insert("accessToken".into(), token.into());
        s.secret_parameters.push("accessToken".into());
        s
    }

    fn base(url: &str, scheme: &str) -> Self {
        let mut data = BTreeMap::new();
        data.insert(
            "subscriptionId".to_string(),
            "00000000-0000-0000-0000-000000000000".to_string(),
        );
        data.insert("environment".to_string(), "AzureCloud".to_string());
        Self {
            id: "8d3f1c4e-2b7a-4c1d-9e5f-0a1b2c3d4e5f".into(),
            url: url.into(),
            scheme: scheme.into(),
            parameters: BTreeMap::new(),
            data,
            secret_parameters: Vec::new(),
        }
    }
}

/// A task run being prepared: the environment the agent would give the task.
#[derive(Debug, Clone)]
pub struct AgentRun {
    program: PathBuf,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    secrets: Vec<String>,
    temp: PathBuf,
}

impl AgentRun {
    /// Prepare a run of `binary` with the variables every pipeline job has.
    pub fn new(binary: impl AsRef<Path>) -> Self {
        Self::with_program(binary.as_ref().to_path_buf(), Vec::new())
    }

    /// Prepare a run through the Node launcher: `node <launcher.js>`.
    pub fn via_node(launcher: impl AsRef<Path>) -> Self {
        Self::with_program(
            PathBuf::from("node"),
            vec![launcher.as_ref().to_string_lossy().into_owned()],
        )
    }

    fn with_program(program: PathBuf, args: Vec<String>) -> Self {
        let temp = tempfile::Builder::new()
            .prefix("amlops-agent-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let mut env = BTreeMap::new();
        let host = amlops_agent::TaskEnv::from_process();
        for key in ["PATH", "HOME", "SYSTEMROOT", "TEMP", "TMP", "LANG"] {
            if let Some(v) = host.vars_exact(key) {
                env.insert(key.to_string(), v.to_string());
            }
        }
        for (k, v) in [
            ("TF_BUILD", "True"),
            ("AGENT_TEMPDIRECTORY", temp.to_string_lossy().as_ref()),
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/contoso/"),
            ("SYSTEM_TEAMPROJECT", "mlops"),
            ("BUILD_BUILDID", "1234"),
            ("BUILD_BUILDNUMBER", "20261126.1"),
            ("BUILD_SOURCEVERSION", "0123456789abcdef0123456789abcdef01234567"),
            ("BUILD_SOURCEBRANCH", "refs/heads/main"),
            ("BUILD_REPOSITORY_NAME", "contoso/churn-model"),
            ("BUILD_REQUESTEDFOR", "Ada Lovelace"),
            ("BUILD_REQUESTEDFOREMAIL", "ada@contoso.com"),
            ("BUILD_REASON", "IndividualCI"),
            ("BUILD_DEFINITIONNAME", "churn-train"),
            ("SYSTEM_STAGENAME", "Train"),
            ("SYSTEM_PHASENAME", "train_job"),
            ("SYSTEM_JOBATTEMPT", "1"),
            ("SYSTEM_TASKINSTANCENAME", "AzureMLTrain1"),
            // The test-harness marker: the tasks honour test-only knobs (AMLOPS_POLL_INTERVAL_MS) only with it.
            (amlops_agent::knobs::TEST_HARNESS_VAR, "1"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        Self {
            program,
            args,
            env,
            cwd: None,
            secrets: Vec::new(),
            temp,
        }
    }

    /// The agent's temp directory for this run.
    pub fn temp_dir(&self) -> &Path {
        &self.temp
    }

    /// Set an input (`INPUT_<NAME>`).
    pub fn input(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env
            .insert(amlops_agent::env::input_env_name(name), value.into());
        self
    }

    /// Set a pipeline variable by its pipeline name (`Build.BuildId`).
    pub fn variable(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env
            .insert(amlops_agent::env::variable_env_name(name), value.into());
        self
    }

    /// Set a raw environment variable.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.insert(name.to_string(), value.into());
        self
    }

    /// Remove a variable.
    pub fn unset(mut self, name: &str) -> Self {
        self.env.remove(name);
        self
    }

    /// A secret variable (`SECRET_<NAME>`), checked for leaks.
    pub fn secret_variable(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        self.secrets.push(value.clone());
        self.env.insert(
            format!("SECRET_{}", amlops_agent::env::variable_env_name(name)),
            value,
        );
        self
    }

    /// Treat a value as secret (leak-checked) without setting anything.
    pub fn secret(mut self, value: impl Into<String>) -> Self {
        self.secrets.push(value.into());
        self
    }

    /// The system connection's access token, checked for leaks.
    pub fn system_access_token(mut self, token: &str) -> Self {
        self.secrets.push(token.to_string());
        self.env.insert(
            "ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN".into(),
            token.into(),
        );
        self
    }

    /// An AzureRM connection, named by the connectedService input `input`.
    pub fn azure_rm(mut self, input: &str, spec: AzureRmSpec) -> Self {
        let id = spec.id.to_ascii_lowercase();
        self = self.input(input, spec.id.clone());
        self.env.insert(format!("ENDPOINT_URL_{id}"), spec.url.clone());
        self.env
            .insert(format!("ENDPOINT_AUTH_SCHEME_{id}"), spec.scheme.clone());
        let params: serde_json::Map<String, serde_json::Value> = spec
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        self.env.insert(
            format!("ENDPOINT_AUTH_{id}"),
            serde_json::json!({"parameters": params, "scheme": spec.scheme}).to_string(),
        );
        for (k, v) in &spec.parameters {
            self.env.insert(
                format!("ENDPOINT_AUTH_PARAMETER_{id}_{}", k.to_ascii_uppercase()),
                v.clone(),
            );
        }
        for (k, v) in &spec.data {
            self.env.insert(
                format!("ENDPOINT_DATA_{id}_{}", k.to_ascii_uppercase()),
                v.clone(),
            );
        }
        self.env.insert(
            format!("ENDPOINT_DATA_{id}"),
            serde_json::to_string(&spec.data).unwrap_or_default(),
        );
        for key in &spec.secret_parameters {
            if let Some(v) = spec.parameters.get(key) {
                self.secrets.push(v.clone());
            }
        }
        self
    }

    /// The working directory (default: the agent temp directory).
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .env_clear()
            .envs(&self.env)
            .current_dir(self.cwd.as_deref().unwrap_or(&self.temp))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Run to completion and decode the output. Fails the test if a secret leaked.
    pub fn run(&self) -> RunResult {
        let output = self
            .command()
            .output()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()));
        self.result(output.status, output.stdout, output.stderr)
    }

    /// Start the run and return the child, to signal it; finish with [`AgentRun::wait`].
    pub fn spawn(&self) -> Child {
        self.command()
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.program.display()))
    }

    /// Start the run with its output read as it comes, to wait for a line before acting (e.g. signalling it).
    pub fn start(&self) -> Running {
        let mut child = self.spawn();
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut all = String::new();
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            reader,
            secrets: self.secrets.clone(),
        }
    }

    /// Wait for a spawned run and decode its output.
    pub fn wait(&self, child: Child) -> RunResult {
        let output = child.wait_with_output().expect("wait for the task");
        self.result(output.status, output.stdout, output.stderr)
    }

    fn result(&self, status: std::process::ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> RunResult {
        let run = RunResult::decode(
            status.code(),
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        );
        run.assert_no_secret_leaked(&self.secrets);
        run
    }
}

/// A run started with [`AgentRun::start`]: its standard output is read as it comes.
#[derive(Debug)]
pub struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    reader: std::thread::JoinHandle<String>,
    secrets: Vec<String>,
}

impl Running {
    /// Block until the task prints a line matching `pred` (and return it); panics with what it printed when the
    /// task ends first or `limit` passes.
    pub fn wait_for_line(&mut self, pred: impl Fn(&str) -> bool, limit: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = pred(&line);
                    self.seen.push(line.clone());
                    if hit {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no matching line ({e:?}); the task printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The child process (to signal it).
    pub fn child(&self) -> &Child {
        &self.child
    }

    /// Wait for the task to end and decode everything it printed; fails the test if a secret leaked.
    pub fn finish(mut self) -> RunResult {
        let status = self.child.wait().expect("wait for the task");
        let stdout = self.reader.join().expect("the output reader");
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut stderr);
        }
        let run = RunResult::decode(status.code(), stdout, stderr);
        run.assert_no_secret_leaked(&self.secrets);
        run
    }
}

/// Send SIGINT (as the agent does first on cancellation) to a running child.
#[cfg(unix)]
pub fn send_sigint(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -INT failed");
}

/// One decoded thing the task told the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEvent {
    /// `task.setvariable`.
    Variable {
        /// Name.
        name: String,
        /// Value.
        value: String,
        /// issecret.
        secret: bool,
        /// isoutput.
        output: bool,
    },
    /// `task.setsecret`.
    Secret(String),
    /// `task.logissue`.
    Issue {
        /// `error` or `warning`.
        kind: String,
        /// Message.
        message: String,
        /// sourcepath.
        source_path: Option<String>,
        /// linenumber.
        line: Option<u32>,
    },
    /// `task.complete`.
    Complete {
        /// The result property.
        result: String,
        /// Message.
        message: String,
    },
    /// `task.uploadsummary`.
    Summary(PathBuf),
    /// `artifact.upload`.
    Artifact {
        /// artifactname.
        name: String,
        /// containerfolder.
        folder: String,
        /// The path uploaded.
        path: PathBuf,
    },
    /// `build.addbuildtag`.
    BuildTag(String),
    /// Any other command.
    Other(ParsedCommand),
}

/// What a run printed, decoded.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The process exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
    /// Raw standard output.
    pub stdout: String,
    /// Raw standard error.
    pub stderr: String,
    /// Logging commands, in order.
    pub events: Vec<AgentEvent>,
}

impl RunResult {
    /// Decode raw output with the agent's parsing rules.
    pub fn decode(exit_code: Option<i32>, stdout: String, stderr: String) -> Self {
        let mut events = Vec::new();
        for line in stdout.lines().chain(stderr.lines()) {
            let Some(cmd) = parse_command(line, true) else {
                continue;
            };
            let p = |k: &str| cmd.property(k).map(str::to_string);
            let flag = |k: &str| p(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let event = match cmd.name().to_ascii_lowercase().as_str() {
                "task.setvariable" => AgentEvent::Variable {
                    name: p("variable").unwrap_or_default(),
                    value: cmd.data.clone(),
                    secret: flag("issecret"),
                    output: flag("isoutput"),
                },
                "task.setsecret" => AgentEvent::Secret(cmd.data.clone()),
                "task.logissue" | "task.issue" => AgentEvent::Issue {
                    kind: p("type").unwrap_or_default(),
                    message: cmd.data.clone(),
                    source_path: p("sourcepath"),
                    line: p("linenumber").and_then(|l| l.parse().ok()),
                },
                "task.complete" => AgentEvent::Complete {
                    result: p("result").unwrap_or_default(),
                    message: cmd.data.clone(),
                },
                "task.uploadsummary" => AgentEvent::Summary(PathBuf::from(&cmd.data)),
                "artifact.upload" => AgentEvent::Artifact {
                    name: p("artifactname").unwrap_or_default(),
                    folder: p("containerfolder").unwrap_or_default(),
                    path: PathBuf::from(&cmd.data),
                },
                "build.addbuildtag" => AgentEvent::BuildTag(cmd.data.clone()),
                _ => AgentEvent::Other(cmd),
            };
            events.push(event);
        }
        Self {
            exit_code,
            stdout,
            stderr,
            events,
        }
    }

    /// The result as the agent computes it: a non-zero exit is Failed (or Canceled if the task said so); exit 0
    /// takes `task.complete`'s result, else Succeeded.
    pub fn agent_result(&self) -> TaskResult {
        let said = self.events.iter().rev().find_map(|e| match e {
            AgentEvent::Complete { result, .. } => Some(result.as_str()),
            _ => None,
        });
        let said = match said {
            Some("Succeeded") | None => TaskResult::Succeeded,
            Some("SucceededWithIssues") => TaskResult::SucceededWithIssues,
            Some("Canceled") => TaskResult::Canceled,
            Some(_) => TaskResult::Failed,
        };
        if self.exit_code == Some(0) {
            said
        } else {
            said.max(TaskResult::Failed)
        }
    }

    /// Output variables (`isoutput=true`) by name.
    pub fn outputs(&self) -> BTreeMap<String, String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Variable {
                    name,
                    value,
                    output: true,
                    ..
                } => Some((name.clone(), value.clone())),
                _ => None,
            })
            .collect()
    }

    /// An output variable, panicking with the output when missing.
    pub fn output(&self, name: &str) -> String {
        self.outputs()
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no output variable '{name}' in:\n{}", self.stdout))
    }

    fn issues(&self, kind: &str) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Issue { kind: k, message, .. } if k.eq_ignore_ascii_case(kind) => {
                    Some(message.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// Error issues' messages.
    pub fn errors(&self) -> Vec<String> {
        self.issues("error")
    }

    /// Warning issues' messages.
    pub fn warnings(&self) -> Vec<String> {
        self.issues("warning")
    }

    /// Contents of every uploaded summary file, concatenated.
    pub fn summaries(&self) -> String {
        self.events
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Summary(p) => std::fs::read_to_string(p).ok(),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The plain (non-command) log lines.
    pub fn log_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| parse_command(l, true).is_none())
            .collect()
    }

    /// Secrets registered with `task.setsecret`.
    pub fn registered_secrets(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Secret(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Panic if any of `secrets` appears in the raw output other than in the command that registers it.
    pub fn assert_no_secret_leaked(&self, secrets: &[String]) {
        for (stream, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            for line in text.lines() {
                let registering = parse_command(line, true).is_some_and(|c| {
                    let name = c.name().to_ascii_lowercase();
                    name == "task.setsecret"
                        || (name == "task.setvariable" && c.property("issecret").is_some_and(|v| v == "true"))
                });
                if registering {
                    continue;
                }
                for secret in secrets.iter().filter(|s| s.len() >= 3) {
                    assert!(
                        !line.contains(secret.as_str()),
                        "a secret leaked to {stream} in the line: {line}"
                    );
                }
            }
        }
    }
}
