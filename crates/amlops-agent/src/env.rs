//! The process environment, read once into an immutable snapshot.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A snapshot of the environment taken once at start (or built from a map in tests).
///
/// Names are kept as given; look-ups are exact first, then case-insensitive, because the agent upper-cases names
/// but a GUID inside a name may come in either case.
#[derive(Debug, Clone, Default)]
pub struct TaskEnv {
    vars: BTreeMap<String, String>,
}

impl TaskEnv {
    /// Take the snapshot of this process's environment. Non-UTF-8 values are skipped.
    #[allow(clippy::disallowed_methods)] // the one place that reads the process environment
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self { vars }
    }

    /// Build a snapshot from pairs (tests, and the local runner).
    pub fn from_map<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }

    /// A variable, exact name first, then case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.vars.get(name) {
            return Some(v);
        }
        self.vars
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A variable that is set and not blank, trimmed.
    pub fn get_nonempty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// A pipeline variable by its pipeline name (`Build.BuildId` -> `BUILD_BUILDID`).
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.get_nonempty(&variable_env_name(name))
    }

    /// Whether `system.debug` is on.
    pub fn debug(&self) -> bool {
        self.get("SYSTEM_DEBUG")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// Every variable (for diagnostics in tests; never log these, they contain secrets).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The environment for a child process: everything except secrets the agent handed to this task (inputs,
    /// endpoint authorisation, secret variables, secure file tickets, the access token, proxy password).
    pub fn child_env(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter(|(k, _)| !is_secret_env_name(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A path variable.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.get_nonempty(name).map(PathBuf::from)
    }
}

/// The environment name of a pipeline variable: upper case, `.` and space become `_`.
pub fn variable_env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '.' || c == ' ' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// The environment name of an input (`INPUT_` + the variable form of the name).
pub fn input_env_name(name: &str) -> String {
    format!("INPUT_{}", variable_env_name(name))
}

/// Names that hold secrets and must not reach a child process.
pub fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper.starts_with("INPUT_")
        || upper.starts_with("ENDPOINT_AUTH_")
        || upper.starts_with("SECRET_")
        || upper.starts_with("SECUREFILE_TICKET_")
        || upper.starts_with("VSTS_TASKVARIABLE_")
        || upper == "SYSTEM_ACCESSTOKEN"
}
