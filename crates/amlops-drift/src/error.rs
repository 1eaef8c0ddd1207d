//! Errors: each names the file, line and column a user has to fix.

use std::path::PathBuf;

/// Why a drift computation failed.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// A file or folder could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A folder holds no CSV, Parquet or JSON Lines file.
    #[error("{}: no .csv or .parquet (or .jsonl) files found", .path.display())]
    NoFiles {
        /// The folder.
        path: PathBuf,
    },
    /// A folder holds files of more than one format.
    #[error("{}: holds files of more than one format (CSV, Parquet, JSON Lines); use one format per data set", .path.display())]
    MixedFormats {
        /// The folder.
        path: PathBuf,
    },
    /// A file is neither CSV, Parquet nor JSON Lines.
    #[error("{}: not a CSV, Parquet or JSON Lines file (expected a .csv, .parquet or .jsonl extension)", .path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A CSV file is malformed.
    #[error("{}, line {line}: invalid CSV: {message}", .path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A JSON Lines file cannot be used (a line too long, payload-logging events).
    #[error("{}, line {line}: {message}", .path.display())]
    Jsonl {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What is wrong and what to do.
        message: String,
    },
    /// More than 1% of the lines of JSON Lines data are malformed.
    #[error("{}, line {line}: {message}; {malformed} of {lines} lines are malformed (more than 1%): fix the data or remove the file", .path.display())]
    MalformedLines {
        /// The file of the first malformed line.
        path: PathBuf,
        /// The first malformed line (1-based).
        line: u64,
        /// Why that line is malformed.
        message: String,
        /// Malformed lines in the data set.
        malformed: u64,
        /// Non-blank lines in the data set.
        lines: u64,
    },
    /// A Parquet file could not be decoded.
    #[error("{}: cannot read Parquet: {message}", .path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file has a header or schema but no data rows.
    #[error("{}: the file has no data rows", .path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// A requested column is missing.
    #[error("{}: column `{column}` not found (columns: {available})", .path.display())]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The columns the file has.
        available: String,
    },
    /// A column's values do not have the type the comparison needs.
    #[error("{}{}: column `{column}`: {message}", .path.display(), .line.map(|l| format!(", line {l}")).unwrap_or_default())]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The 1-based line, for CSV.
        line: Option<u64>,
        /// The column.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// No rows are left once rows with a null in an analysed column are dropped.
    #[error("{side} data ({}): no rows left after dropping rows with a null in any compared column{detail}", .path.display())]
    NoRowsLeft {
        /// `baseline` or `target`.
        side: &'static str,
        /// The data set.
        path: PathBuf,
        /// Which columns left no row (`: column ...`), or empty.
        detail: String,
    },
    /// Nothing to compare.
    #[error("no columns to compare: {0}")]
    NoColumns(String),
    /// A threshold line does not parse.
    #[error("invalid drift threshold on line {line} (`{text}`): {message}")]
    Threshold {
        /// The 1-based line.
        line: usize,
        /// The offending text.
        text: String,
        /// What is wrong.
        message: String,
    },
    /// The configuration is inconsistent with the data.
    #[error("invalid drift configuration: {0}")]
    Config(String),
}

impl DriftError {
    /// A value of a numerical column that is not a (finite) number: CSV text such as `inf`
    /// or `abc`, or a Parquet infinity. `holds` says what the column holds.
    pub(crate) fn not_a_number(
        path: &std::path::Path,
        line: Option<u64>,
        column: &str,
        value: &str,
        holds: &str,
    ) -> Self {
        DriftError::WrongType {
            path: path.to_path_buf(),
            line,
            column: column.to_string(),
            message: format!("`{value}` is not a number (the column holds {holds})"),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DriftError::Io {
            path: path.into(),
            source,
        }
    }
}
