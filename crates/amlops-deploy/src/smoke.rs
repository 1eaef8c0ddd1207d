//! The smoke test: the request file, the expectation and the checker.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// What a smoke-test response must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// `smokeTestExpectStatus`.
    pub status: u16,
    /// `smokeTestExpect`: a JSON Pointer and the value it must hold.
    pub value: Option<(String, Value)>,
}

/// A smoke test: the request body and what the answer must be.
#[derive(Debug, Clone, PartialEq)]
pub struct SmokeTest {
    /// The request file.
    pub file: PathBuf,
    /// Its JSON.
    pub body: Value,
    /// The expectation.
    pub expect: Expectation,
}

/// Why the smoke-test inputs cannot be used (the message names the input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmokeInputError {
    /// The request file cannot be read.
    #[error("the smoke test request '{file}' (input 'smokeTestRequest') cannot be read: {message}")]
    Unreadable {
        /// The file.
        file: PathBuf,
        /// Why.
        message: String,
    },
    /// The request file is not JSON.
    #[error(
        "the smoke test request '{file}' (input 'smokeTestRequest') is not valid JSON (line {line}, column \
         {column}): {message}"
    )]
    NotJson {
        /// The file.
        file: PathBuf,
        /// Where.
        line: usize,
        /// Where.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// `smokeTestExpect` is not `<pointer>=<value>`.
    #[error(
        "the input 'smokeTestExpect' has the value '{0}', but it must be a JSON Pointer and a JSON value as \
         '<pointer>=<value>', e.g. '/0=1' or '/result/label=\"cat\"'"
    )]
    BadExpect(String),
}

/// Read the request file; it must hold JSON.
pub fn read_request(file: &Path) -> Result<Value, SmokeInputError> {
    let text = std::fs::read_to_string(file).map_err(|e| SmokeInputError::Unreadable {
        file: file.to_path_buf(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| SmokeInputError::NotJson {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Parse `smokeTestExpect`: `<pointer>=<value>`, the pointer empty or starting with `/`; the value is JSON, or a
/// plain string when it is not JSON (`/label=cat`).
pub fn parse_expect(raw: &str) -> Result<(String, Value), SmokeInputError> {
    let bad = || SmokeInputError::BadExpect(raw.to_string());
    let (pointer, value) = raw.split_once('=').ok_or_else(bad)?;
    let pointer = pointer.trim();
    if !(pointer.is_empty() || pointer.starts_with('/')) {
        return Err(bad());
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(bad());
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
    Ok((pointer.to_string(), value))
}

/// The outcome of one smoke-test call.
#[derive(Debug, Clone, PartialEq)]
pub struct SmokeResult {
    /// When it ran (e.g. `before traffic`, `at 50%`).
    pub stage: String,
    /// The HTTP status.
    pub status: u16,
    /// Whether it passed.
    pub passed: bool,
    /// What was checked, or why it failed.
    pub detail: String,
}

/// Judge a response.
pub fn check(stage: &str, expect: &Expectation, status: u16, body: &[u8]) -> SmokeResult {
    let mut result = SmokeResult {
        stage: stage.to_string(),
        status,
        passed: false,
        detail: String::new(),
    };
    if status != expect.status {
        result.detail = format!(
            "expected HTTP {}, got HTTP {status}: {}",
            expect.status,
            excerpt(body)
        );
        return result;
    }
    let Some((pointer, want)) = &expect.value else {
        result.passed = true;
        result.detail = format!("HTTP {status}");
        return result;
    };
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            result.detail = format!("the response is not JSON ({e}): {}", excerpt(body));
            return result;
        }
    };
    // A scoring script may return its JSON as a JSON string: look inside it too.
    let found: Option<Value> = parsed.pointer(pointer).cloned().or_else(|| {
        parsed
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|inner| inner.pointer(pointer).cloned())
    });
    match found {
        Some(v) if &v == want => {
            result.passed = true;
            result.detail = format!("HTTP {status}, {pointer} = {v}");
        }
        Some(v) => result.detail = format!("{pointer} is {v}, expected {want}"),
        None => result.detail = format!("{pointer} is absent from the response: {}", excerpt(body)),
    }
    result
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let t = text.trim();
    if t.chars().count() > 300 {
        format!("{}...", t.chars().take(300).collect::<String>())
    } else {
        t.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(v: Option<(&str, Value)>) -> Expectation {
        Expectation {
            status: 200,
            value: v.map(|(p, v)| (p.to_string(), v)),
        }
    }

    #[test]
    fn parses_expectations() {
        assert_eq!(parse_expect("/0=1").unwrap(), ("/0".into(), json!(1)));
        assert_eq!(
            parse_expect("/label=cat").unwrap(),
            ("/label".into(), json!("cat"))
        );
        assert_eq!(
            parse_expect("/a/b=\"x=y\"").unwrap(),
            ("/a/b".into(), json!("x=y"))
        );
        assert_eq!(parse_expect("=[1,2]").unwrap(), ("".into(), json!([1, 2])));
        for bad in ["0=1", "/0", "/0=", "nothing"] {
            let e = parse_expect(bad).unwrap_err();
            assert!(e.to_string().contains("smokeTestExpect"), "{e}");
        }
    }

    #[test]
    fn checks_status_and_value() {
        assert!(check("s", &expect(None), 200, b"anything").passed);
        let r = check("s", &expect(None), 500, b"boom");
        assert!(!r.passed);
        assert!(
            r.detail.contains("expected HTTP 200, got HTTP 500: boom"),
            "{}",
            r.detail
        );
        let e = expect(Some(("/0", json!(1))));
        assert!(check("s", &e, 200, b"[1, 0]").passed);
        let r = check("s", &e, 200, b"[0, 0]");
        assert_eq!(r.detail, "/0 is 0, expected 1");
        assert!(!check("s", &e, 200, b"{}").passed);
        assert!(!check("s", &e, 200, b"not json").passed);
        // JSON returned as a JSON string by run().
        assert!(check("s", &e, 200, br#""[1, 0]""#).passed);
    }

    #[test]
    fn request_file_must_be_json() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("req.json");
        std::fs::write(&f, "{\"data\": [1, 2,").unwrap();
        let e = read_request(&f).unwrap_err();
        assert!(matches!(e, SmokeInputError::NotJson { line: 1, .. }), "{e:?}");
        assert!(e.to_string().contains("smokeTestRequest"));
        std::fs::write(&f, "{\"data\": [1, 2]}").unwrap();
        assert_eq!(read_request(&f).unwrap(), json!({"data": [1, 2]}));
        let e = read_request(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(e, SmokeInputError::Unreadable { .. }));
    }
}
