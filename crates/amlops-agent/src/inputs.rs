//! Typed task inputs (`INPUT_<NAME>`, AGENT-CONTRACT §2).

use std::path::{Path, PathBuf};

use crate::env::{TaskEnv, input_env_name};
use crate::error::AgentError;

/// Reads the task's inputs from an environment snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    env: &'a TaskEnv,
}

impl<'a> Inputs<'a> {
    /// Inputs of `env`.
    pub fn new(env: &'a TaskEnv) -> Self {
        Self { env }
    }

    /// The trimmed value, or `None` when empty or unset.
    pub fn string(&self, name: &str) -> Option<String> {
        self.env.get_nonempty(&input_env_name(name)).map(str::to_string)
    }

    /// A required string.
    pub fn required_string(&self, name: &str) -> Result<String, AgentError> {
        self.string(name).ok_or_else(|| AgentError::MissingInput {
            name: name.to_string(),
        })
    }

    /// A string with a default.
    pub fn string_or(&self, name: &str, default: &str) -> String {
        self.string(name).unwrap_or_else(|| default.to_string())
    }

    /// A boolean: case-insensitive `true` is true, anything else false; unset gives `default`.
    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        match self.env.get(&input_env_name(name)).map(str::trim) {
            None | Some("") => default,
            Some(v) => v.eq_ignore_ascii_case("true"),
        }
    }

    /// An integer in `min..=max`, or `default` when empty.
    pub fn int_or(&self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, AgentError> {
        let Some(raw) = self.string(name) else {
            return Ok(default);
        };
        match raw.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(AgentError::InvalidInput {
                name: name.to_string(),
                value: raw,
                expected: format!("it must be a whole number from {min} to {max}"),
            }),
        }
    }

    /// A pickList value: one of `options` (compared case-insensitively, returned as the option is spelt), or
    /// `default` when empty.
    pub fn pick_list(&self, name: &str, options: &[&str], default: &str) -> Result<String, AgentError> {
        let Some(raw) = self.string(name) else {
            return Ok(default.to_string());
        };
        options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(&raw))
            .map(|o| o.to_string())
            .ok_or_else(|| AgentError::InvalidInput {
                name: name.to_string(),
                value: raw,
                expected: format!("it must be one of: {}", options.join(", ")),
            })
    }

    /// An input's value exactly as the agent passed it (multiLine text keeps its blank and comment lines, so
    /// positions in it stay right for error messages); empty when unset.
    pub fn raw(&self, name: &str) -> String {
        self.env.get(&input_env_name(name)).unwrap_or("").to_string()
    }

    /// A multiLine input as its non-blank lines, trimmed, without `#` comment lines.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.env
            .get(&input_env_name(name))
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    /// `key=value` lines of a multiLine input, in order. A line without `=` is an error naming the input and line.
    pub fn key_values(&self, name: &str) -> Result<Vec<(String, String)>, AgentError> {
        self.lines(name)
            .into_iter()
            .map(|line| match line.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
                _ => Err(AgentError::InvalidInput {
                    name: name.to_string(),
                    value: line,
                    expected: "each line must be key=value".into(),
                }),
            })
            .collect()
    }

    /// A filePath input. The agent turns an empty filePath into the repository root (or the default working
    /// directory); that is treated as "not given". Relative paths resolve against the default working directory.
    pub fn file_path(&self, name: &str) -> Option<PathBuf> {
        let raw = self.string(name)?;
        let path = PathBuf::from(&raw);
        let roots = [
            "BUILD_SOURCESDIRECTORY",
            "BUILD_REPOSITORY_LOCALPATH",
            "SYSTEM_DEFAULTWORKINGDIRECTORY",
        ];
        if roots
            .iter()
            .filter_map(|r| self.env.get_nonempty(r))
            .any(|root| same_path(root, &raw))
        {
            return None;
        }
        if path.is_relative()
            && let Some(base) = self.env.get_nonempty("SYSTEM_DEFAULTWORKINGDIRECTORY")
        {
            return Some(Path::new(base).join(path));
        }
        Some(path)
    }

    /// A required filePath.
    pub fn required_file_path(&self, name: &str) -> Result<PathBuf, AgentError> {
        self.file_path(name).ok_or_else(|| AgentError::MissingInput {
            name: name.to_string(),
        })
    }
}

fn same_path(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches(['/', '\\']).replace('\\', "/");
    norm(a) == norm(b)
}
