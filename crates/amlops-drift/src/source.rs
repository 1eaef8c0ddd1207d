//! Data sources: a local CSV, Parquet or JSON Lines file, or a folder of them.

use std::path::{Path, PathBuf};

use crate::DriftError;

/// File format of a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// JSON Lines: Azure ML data-collector events or plain row objects (`.jsonl`, `.ndjson`).
    Jsonl,
}

impl DataFormat {
    fn of(path: &Path) -> Option<DataFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(DataFormat::Csv),
            "parquet" | "pq" => Some(DataFormat::Parquet),
            "jsonl" | "ndjson" => Some(DataFormat::Jsonl),
            _ => None,
        }
    }
}

/// A local data set: one file, or every `.csv`/`.parquet`/`.jsonl` file under a folder (recursively,
/// sorted by path, skipping names that start with `.` or `_` such as `_SUCCESS`). The gate
/// task downloads `azureml:` assets itself and hands the local path here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    root: PathBuf,
    files: Vec<PathBuf>,
    format: DataFormat,
}

impl DataSource {
    /// Resolve a local file or folder.
    pub fn from_path(path: impl AsRef<Path>) -> Result<DataSource, DriftError> {
        let root = path.as_ref().to_path_buf();
        let meta = std::fs::metadata(&root).map_err(|e| DriftError::io(&root, e))?;
        if meta.is_file() {
            let format =
                DataFormat::of(&root).ok_or_else(|| DriftError::UnknownFormat { path: root.clone() })?;
            return Ok(DataSource {
                files: vec![root.clone()],
                root,
                format,
            });
        }
        let mut files = Vec::new();
        collect(&root, &mut files)?;
        files.sort();
        let mut format = None;
        for f in &files {
            let ff = DataFormat::of(f);
            match (format, ff) {
                (None, x) => format = x,
                (Some(a), Some(b)) if a != b => return Err(DriftError::MixedFormats { path: root }),
                _ => {}
            }
        }
        let format = format.ok_or_else(|| DriftError::NoFiles { path: root.clone() })?;
        Ok(DataSource { root, files, format })
    }

    /// The path given.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The data files, in reading order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The format of the files.
    pub fn format(&self) -> DataFormat {
        self.format
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DriftError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DriftError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| DriftError::io(dir, e))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let ft = entry.file_type().map_err(|e| DriftError::io(&path, e))?;
        if ft.is_dir() {
            collect(&path, out)?;
        } else if DataFormat::of(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

/// How a column's values are typed in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    Float,
    Int,
    Bool,
    Str,
    /// Dates, timestamps and other types: compared as categories of their text form.
    Other,
    /// Only nulls in the rows used to infer CSV types: takes the other side's type.
    Null,
}

impl ValueType {
    pub(crate) fn is_numeric(self) -> bool {
        matches!(self, ValueType::Float | ValueType::Int)
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            ValueType::Float => "floating-point numbers",
            ValueType::Int => "integers",
            ValueType::Bool => "booleans",
            ValueType::Str => "strings",
            ValueType::Other => "dates or other non-numeric values",
            ValueType::Null => "only nulls",
        }
    }

    /// Widen two files' types of the same column.
    pub(crate) fn unify(self, other: ValueType) -> Option<ValueType> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (ValueType::Null, x) | (x, ValueType::Null) => Some(x),
            (ValueType::Int, ValueType::Float) | (ValueType::Float, ValueType::Int) => Some(ValueType::Float),
            _ => None,
        }
    }
}
