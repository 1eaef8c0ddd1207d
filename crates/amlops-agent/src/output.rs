//! The one writer every task's output goes through: logging commands encoded per the contract, plain text
//! neutralised so it cannot be read as a command, and registered secrets masked.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::command::{format_command, neutralise};
use crate::error::AgentError;
use crate::outcome::TaskResult;

/// Options of `task.setvariable`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VariableOptions {
    /// `issecret=true`: the value is registered as a secret and masked by the agent.
    pub secret: bool,
    /// `isoutput=true`: the variable is visible to later steps as `<step>.<name>`.
    pub output: bool,
    /// `isreadonly=true`.
    pub readonly: bool,
}

impl VariableOptions {
    /// An output variable.
    pub const OUTPUT: Self = Self {
        secret: false,
        output: true,
        readonly: false,
    };
}

/// The type of a `task.logissue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// An error (does not by itself change the result).
    Error,
    /// A warning.
    Warning,
}

impl IssueKind {
    fn as_str(self) -> &'static str {
        match self {
            IssueKind::Error => "error",
            IssueKind::Warning => "warning",
        }
    }
}

/// A `task.logissue`, optionally pointing at a file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Error or warning.
    pub kind: IssueKind,
    /// The message.
    pub message: String,
    /// The file the issue is about.
    pub source_path: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// A short code.
    pub code: Option<String>,
}

impl Issue {
    /// An error issue with only a message.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            kind: IssueKind::Error,
            message: message.into(),
            source_path: None,
            line: None,
            column: None,
            code: None,
        }
    }

    /// A warning issue with only a message.
    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            kind: IssueKind::Warning,
            ..Self::error(message)
        }
    }

    /// Point the issue at a file, line and column.
    pub fn at(mut self, path: impl Into<String>, line: Option<u32>, column: Option<u32>) -> Self {
        self.source_path = Some(path.into());
        self.line = line;
        self.column = column;
        self
    }
}

struct Inner {
    sink: Box<dyn Write + Send>,
    secrets: Vec<String>,
}

/// The task's output writer. Cheap to clone; all clones write to the same sink in order.
#[derive(Clone)]
pub struct Output {
    inner: Arc<Mutex<Inner>>,
    debug: bool,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("debug", &self.debug)
            .finish_non_exhaustive()
    }
}

/// A shared in-memory buffer that an [`Output`] writes to, for tests.
#[derive(Clone, Default, Debug)]
pub struct CaptureBuffer(Arc<Mutex<Vec<u8>>>);

impl CaptureBuffer {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for CaptureBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Output {
    /// Write to standard output.
    pub fn stdout(debug: bool) -> Self {
        Self::to_writer(Box::new(std::io::stdout()), debug)
    }

    /// Write to any sink.
    pub fn to_writer(sink: Box<dyn Write + Send>, debug: bool) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                sink,
                secrets: Vec::new(),
            })),
            debug,
        }
    }

    /// Write to a buffer that tests can read.
    pub fn capture(debug: bool) -> (Self, CaptureBuffer) {
        let buffer = CaptureBuffer::default();
        (Self::to_writer(Box::new(buffer.clone()), debug), buffer)
    }

    /// Whether `##[debug]` lines are written (system.debug).
    pub fn debug_enabled(&self) -> bool {
        self.debug
    }

    fn with_inner<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    fn raw_line(inner: &mut Inner, line: &str) {
        // A closed stdout is not worth failing the task over.
        let _ = inner.sink.write_all(line.as_bytes());
        let _ = inner.sink.write_all(b"\n");
        let _ = inner.sink.flush();
    }

    fn mask_with(secrets: &[String], text: &str) -> String {
        let mut out = text.to_string();
        for secret in secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    /// Replace every registered secret in `text` with `***`.
    pub fn mask(&self, text: &str) -> String {
        self.with_inner(|inner| Self::mask_with(&inner.secrets, text))
    }

    /// Register a secret with the agent (`task.setsecret`) and mask it in everything written afterwards. Each line
    /// of a multi-line value is registered on its own. Blank values are ignored.
    pub fn register_secret(&self, value: &str) {
        self.with_inner(|inner| {
            let mut parts: Vec<&str> = vec![value];
            if value.contains(['\n', '\r']) {
                parts.extend(value.lines());
            }
            for part in parts {
                let part = part.trim();
                if part.len() < 2 || inner.secrets.iter().any(|s| s == part) {
                    continue;
                }
                let line = format_command("task.setsecret", &[], part);
                Self::raw_line(inner, &line);
                inner.secrets.push(part.to_string());
                // Longest first, so a secret that contains another is masked whole.
                inner.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
            }
        });
    }

    /// Write a logging command, masking secrets in its properties and message.
    pub fn command(&self, name: &str, properties: &[(&str, &str)], message: &str) {
        self.with_inner(|inner| {
            let props: Vec<(String, String)> = properties
                .iter()
                .map(|(k, v)| (k.to_string(), Self::mask_with(&inner.secrets, v)))
                .collect();
            let props_ref: Vec<(&str, &str)> = props.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let line = format_command(name, &props_ref, &Self::mask_with(&inner.secrets, message));
            Self::raw_line(inner, &line);
        });
    }

    /// Plain log text. Every line is neutralised (it can never become a logging command) and masked.
    pub fn line(&self, text: &str) {
        self.with_inner(|inner| {
            for line in split_lines(text) {
                let masked = Self::mask_with(&inner.secrets, line);
                Self::raw_line(inner, &neutralise(&masked));
            }
        });
    }

    fn decorated(&self, decoration: &str, text: &str) {
        self.with_inner(|inner| {
            for line in split_lines(text) {
                let masked = Self::mask_with(&inner.secrets, line);
                let safe = neutralise(&masked);
                Self::raw_line(inner, &format!("##[{decoration}]{safe}"));
            }
        });
    }

    /// `##[group]title`.
    pub fn group(&self, title: &str) {
        self.decorated("group", &first_line(title));
    }

    /// `##[endgroup]`.
    pub fn end_group(&self) {
        self.with_inner(|inner| Self::raw_line(inner, "##[endgroup]"));
    }

    /// `##[section]text`.
    pub fn section(&self, text: &str) {
        self.decorated("section", text);
    }

    /// `##[warning]text` (formatting only; use [`Output::log_issue`] for an issue).
    pub fn warning(&self, text: &str) {
        self.decorated("warning", text);
    }

    /// `##[error]text` (formatting only; use [`Output::log_issue`] for an issue).
    pub fn error(&self, text: &str) {
        self.decorated("error", text);
    }

    /// `##[debug]text`, written only when system.debug is on.
    pub fn debug(&self, text: &str) {
        if self.debug {
            self.decorated("debug", text);
        }
    }

    /// `##[command]text`.
    pub fn command_line(&self, text: &str) {
        self.decorated("command", text);
    }

    /// `task.setvariable`. A secret value is registered first; a multi-line secret is refused as the agent would.
    pub fn set_variable(&self, name: &str, value: &str, options: VariableOptions) -> Result<(), AgentError> {
        if name.trim().is_empty() {
            return Err(AgentError::InvalidCommand(
                "task.setvariable needs a variable name".into(),
            ));
        }
        if options.secret {
            if value.contains(['\n', '\r']) {
                return Err(AgentError::InvalidCommand(format!(
                    "the secret variable '{name}' has more than one line, which the agent refuses"
                )));
            }
            self.register_secret(value);
        }
        let flag = |b: bool| if b { "true" } else { "" };
        let props = [
            ("variable", name),
            ("issecret", flag(options.secret)),
            ("isoutput", flag(options.output)),
            ("isreadonly", flag(options.readonly)),
        ];
        if options.secret {
            // The value itself must reach the agent unmasked.
            self.with_inner(|inner| {
                Self::raw_line(inner, &format_command("task.setvariable", &props, value))
            });
        } else {
            self.command("task.setvariable", &props, value);
        }
        Ok(())
    }

    /// An output variable (`isoutput=true`).
    pub fn set_output(&self, name: &str, value: &str) {
        // Not secret, so set_variable cannot fail on the value; a blank name is a programming error we log.
        if let Err(e) = self.set_variable(name, value, VariableOptions::OUTPUT) {
            self.warning(&e.to_string());
        }
    }

    /// `task.logissue`.
    pub fn log_issue(&self, issue: &Issue) {
        let line = issue.line.map(|l| l.to_string()).unwrap_or_default();
        let column = issue.column.map(|c| c.to_string()).unwrap_or_default();
        self.command(
            "task.logissue",
            &[
                ("type", issue.kind.as_str()),
                ("sourcepath", issue.source_path.as_deref().unwrap_or("")),
                ("linenumber", &line),
                ("columnnumber", &column),
                ("code", issue.code.as_deref().unwrap_or("")),
            ],
            &issue.message,
        );
    }

    /// `task.setprogress value=N]text`.
    pub fn set_progress(&self, percent: u8, text: &str) {
        self.command(
            "task.setprogress",
            &[("value", &percent.min(100).to_string())],
            text,
        );
    }

    /// `task.complete result=R;done=true]message`.
    pub fn complete(&self, result: TaskResult, message: &str) {
        self.command(
            "task.complete",
            &[("result", result.as_str()), ("done", "true")],
            message,
        );
    }

    /// `task.uploadsummary]path`: a markdown file shown on the run's summary page.
    pub fn upload_summary(&self, path: &Path) {
        self.command("task.uploadsummary", &[], &path.to_string_lossy());
    }

    /// `task.addattachment type=;name=]path`.
    pub fn add_attachment(&self, kind: &str, name: &str, path: &Path) {
        self.command(
            "task.addattachment",
            &[("type", kind), ("name", name)],
            &path.to_string_lossy(),
        );
    }

    /// `artifact.upload containerfolder=;artifactname=]path`.
    pub fn upload_artifact(&self, container_folder: &str, artifact_name: &str, path: &Path) {
        self.command(
            "artifact.upload",
            &[
                ("containerfolder", container_folder),
                ("artifactname", artifact_name),
            ],
            &path.to_string_lossy(),
        );
    }

    /// `build.addbuildtag]tag`.
    pub fn add_build_tag(&self, tag: &str) {
        self.command("build.addbuildtag", &[], tag);
    }
}

/// The lines of `text`: split at `\n`, `\r\n` and a bare `\r` too. A viewer starts a new line at a bare `\r`,
/// so `progress\r##[error]forged` must become two lines, each neutralised on its own.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .flat_map(|l| l.split('\r'))
}

fn first_line(text: &str) -> String {
    text.split(['\n', '\r']).next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_carriage_return_cannot_forge_a_decoration_or_command() {
        let (out, buf) = Output::capture(false);
        out.line(
            "step 1/3\r##[error]forged failure\r\n##[group]fake\rok ##vso[task.complete result=Failed]x",
        );
        out.group("title\r##[error]forged");
        out.warning("w\r##[section]s");
        let text = buf.text();
        for line in text.lines() {
            for forged in [
                "##[error]forged",
                "##[group]fake",
                "##[section]s",
                "##vso[task.complete",
            ] {
                assert!(!line.contains(forged), "{line:?} in {text:?}");
            }
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "step 1/3");
        assert!(lines[1].ends_with("#[error]forged failure"), "{lines:?}");
        assert!(lines.contains(&"##[group]title"), "{lines:?}");
        assert!(!text.contains('\r'), "{text:?}");
    }
}
