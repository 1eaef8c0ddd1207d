//! Errors of the YAML-to-REST conversion.

use std::fmt;
use std::path::PathBuf;

/// A position in a YAML file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Formats an optional location as `:line:column` (empty when unknown).
fn at(loc: &Option<Location>) -> String {
    match loc {
        Some(l) => format!(":{}:{}", l.line, l.column),
        None => String::new(),
    }
}

/// Everything that can go wrong turning a YAML file into REST requests.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{file}: cannot read file: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML text is not valid YAML.
    #[error("{file}{}: YAML syntax error: {message}", at(.location))]
    Syntax {
        /// The file.
        file: PathBuf,
        /// Where the parser stopped.
        location: Option<Location>,
        /// The parser's message.
        message: String,
    },
    /// The document does not match the schema of its kind (missing/invalid field).
    #[error("{file}{}: field `{field}`: {message}", at(.location))]
    Schema {
        /// The file.
        file: PathBuf,
        /// Where the field is (when it could be found in the text).
        location: Option<Location>,
        /// Dotted path of the field (`inputs.x.type`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A field that the kind's schema does not know (the CLI's `Unknown field` error).
    #[error("{file}{}: field `{field}`: Unknown field.", at(.location))]
    UnknownField {
        /// The file.
        file: PathBuf,
        /// Where the field is.
        location: Option<Location>,
        /// Dotted path of the field.
        field: String,
    },
    /// The kind could not be determined (no usable `$schema`, no hint).
    #[error(
        "{file}: cannot tell the kind of this YAML file: {message}; pass a kind (job, component, model, environment, data, online-endpoint, online-deployment, batch-endpoint, batch-deployment)"
    )]
    UnknownKind {
        /// The file.
        file: PathBuf,
        /// Why.
        message: String,
    },
    /// A `--set path=value` override is malformed or cannot be applied.
    #[error("override `{expression}`: {message}")]
    Override {
        /// The override as given.
        expression: String,
        /// What is wrong.
        message: String,
    },
    /// An asset reference (`azureml:...`, ARM id) is malformed.
    #[error("invalid reference `{reference}`: {message}")]
    Reference {
        /// The reference as written.
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// A resource name breaks Azure ML's naming rules.
    #[error("invalid {what} name `{name}`: {message}")]
    Name {
        /// What is named (job, endpoint, ...).
        what: String,
        /// The name.
        name: String,
        /// The rule that is broken.
        message: String,
    },
    /// The upload resolver or lookup failed during rendering.
    #[error("resolving `{subject}`: {message}")]
    Resolve {
        /// The local path or asset being resolved.
        subject: String,
        /// The resolver's message.
        message: String,
    },
}

impl SpecError {
    /// The location of the error in the YAML file, when known.
    pub fn location(&self) -> Option<Location> {
        match self {
            SpecError::Syntax { location, .. }
            | SpecError::Schema { location, .. }
            | SpecError::UnknownField { location, .. } => *location,
            _ => None,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = SpecError> = std::result::Result<T, E>;
